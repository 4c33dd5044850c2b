"""A workbook as plain data: sheets, cells (value, formula text, cached result, locked flag),
merges, protection and defined names. What the readers produce and the checks consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class CellData(NamedTuple):
    """One cell, immutable. A named tuple rather than a frozen dataclass: a return's read makes
    some five hundred of them, and a frozen dataclass sets each field through object.__setattr__."""

    value: Any                 # what a person sees typed: number, text, bool, datetime, or None
    formula: str | None = None  # "=SUM(D5:I5)" when the cell holds a formula
    cached: Any = None         # the result the file stores for a formula
    locked: bool = True


@dataclass
class SheetData:
    name: str
    state: str = "visible"     # visible | hidden | veryHidden
    protected: bool = False
    # the sheetProtection password hash as the file holds it (password, or algorithmName/hashValue/
    # saltValue/spinCount): a feedback workbook keeps the agency's protection without knowing the password
    protection_hash: dict[str, str] = field(default_factory=dict)
    cells: dict[tuple[int, int], CellData] = field(default_factory=dict)   # 0-based (row, col)
    merges: set[tuple[int, int, int, int]] = field(default_factory=set)    # 0-based, inclusive
    max_row: int = 0
    max_col: int = 0

    def get(self, row: int, col: int) -> CellData | None:
        return self.cells.get((row, col))

    def text(self, row: int, col: int) -> str:
        c = self.cells.get((row, col))
        return "" if c is None or c.value is None else str(c.value)


@dataclass
class WorkbookData:
    sheets: dict[str, SheetData]
    defined_names: dict[str, str] = field(default_factory=dict)

    def key_values(self, sheet_name: str) -> dict[str, str] | None:
        """Column A as keys and column B as values of a sheet (the hidden identification sheet of a
        generated workbook), or None without that sheet."""
        sheet = self.sheets.get(sheet_name)
        if sheet is None:
            return None
        out = {}
        for r in range(sheet.max_row + 1):
            key = sheet.text(r, 0)
            if key:
                v = sheet.get(r, 1)
                out[key] = "" if v is None or v.value is None else (
                    str(int(v.value)) if isinstance(v.value, float) and v.value.is_integer() else str(v.value))
        return out
