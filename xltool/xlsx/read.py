"""Read a returned workbook into plain data, with openpyxl.

`read_workbook` gives a `WorkbookData`: per sheet, the cells (typed value, formula text and
the cached result the file stores for it, locked flag), merges, protection and state, and
the defined names. Nothing in it is evaluated or followed: formula text is kept as text,
external links are not loaded (keep_links=False), macros are not kept. Call it only after
`guard.inspect_file` said the file is safe to parse.

Reading is bounded to the area the form uses (plus a margin), so a cell typed far away
cannot make anything iterate a million rows.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xltool.xlsx.fastread import FastReadUnsupported, cast_number, read_package, read_workbook_fast
from xltool.xlsx.model import CellData, SheetData, WorkbookData
from xltool.xlsx.ooxml import plain, protection_hash
from xltool.xlsx.package import Package

Source = str | Path | bytes     # a path, or the bytes of a file read once by the guard


def _open(source: Source):
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")


def read_workbook(path: Source, max_rows: int = 400, max_cols: int = 60,
                  package: Package | None = None) -> WorkbookData:
    """Everything the checks need: fastread's reading (the same WorkbookData, 15x faster), or
    openpyxl for the rare file fastread does not reproduce. `package`, when given, is `path`'s
    bytes already opened (by the guard): fastread reuses the parts read from it."""
    try:
        if package is not None:
            return read_package(package, max_rows, max_cols)
        return read_workbook_fast(path, max_rows, max_cols)
    except FastReadUnsupported:
        return read_workbook_openpyxl(path, max_rows, max_cols)


def read_workbook_openpyxl(path: Source, max_rows: int = 400, max_cols: int = 60) -> WorkbookData:
    """The reference reading: one openpyxl load plus one cached-value pass. The differential
    tests hold fastread to exactly this."""
    import openpyxl  # openpyxl is slow to import: only for what the fast paths do not cover

    # An open file, not the path: openpyxl refuses paths by extension, and the guard has already
    # decided by content (a real .xlsx renamed .xls is read, with a warning).
    with warnings.catch_warnings(), _stored_numbers_only(), _open(path) as fh:
        warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions, data validation, ...
        wb = openpyxl.load_workbook(fh, data_only=False, keep_links=False, keep_vba=False, rich_text=False)
        try:
            cached = _cached_formula_results(path, wb, max_rows, max_cols)
            sheets: dict[str, SheetData] = {}
            for ws in wb.worksheets:
                sd = SheetData(ws.title, ws.sheet_state, bool(ws.protection.sheet))
                sd.protection_hash = protection_hash(lambda key, p=ws.protection: _attr(p, key))
                sd.max_row = min(ws.max_row, max_rows) - 1
                sd.max_col = min(ws.max_column, max_cols) - 1
                for row in ws.iter_rows(min_row=1, max_row=sd.max_row + 1, max_col=sd.max_col + 1):
                    for c in row:
                        if c.value is None and c.coordinate not in ws.merged_cells:
                            if c.has_style and not c.protection.locked:
                                sd.cells[(c.row - 1, c.column - 1)] = CellData(None, locked=False)
                            continue
                        value = c.value
                        formula = None
                        if c.data_type == "f":
                            formula = _formula_text(value)
                            value = None
                        elif not isinstance(value, (int, float, str, bool, type(None))):
                            value = plain(value)
                        sd.cells[(c.row - 1, c.column - 1)] = CellData(
                            value, formula, cached.get((ws.title, c.row - 1, c.column - 1)),
                            bool(c.protection.locked) if c.has_style else True)
                for rng in ws.merged_cells.ranges:
                    sd.merges.add((rng.min_row - 1, rng.min_col - 1, rng.max_row - 1, rng.max_col - 1))
                sheets[ws.title] = sd
            names = {}
            for name, dn in wb.defined_names.items():
                names[name] = dn.attr_text or ""
            return WorkbookData(sheets, names)
        finally:
            wb.close()


@contextmanager
def _stored_numbers_only() -> Iterator[None]:
    """openpyxl reads a number cell's <v> with int()/float(), which also take '٣٥', '３５' and
    '1_000'; while it reads, it reads them as fastread does (fastread.cast_number): a number
    only when written as the file format writes numbers, else the text, never made a date."""
    from openpyxl.worksheet import _reader  # openpyxl is slow to import: only for what the fast paths do not cover

    cast, from_excel = _reader._cast_number, _reader.from_excel

    def date_unless_text(value, *args, **kwargs):
        return value if isinstance(value, str) else from_excel(value, *args, **kwargs)

    _reader._cast_number, _reader.from_excel = cast_number, date_unless_text
    try:
        yield
    finally:
        _reader._cast_number, _reader.from_excel = cast, from_excel


def _formula_text(value: Any) -> str:
    """Array and data-table formulas as their text (str() would give an object repr)."""
    from openpyxl.worksheet.formula import (  # openpyxl is slow to import: only for what the fast paths do not cover
        ArrayFormula,
        DataTableFormula,
    )
    if isinstance(value, ArrayFormula):
        return value.text
    if isinstance(value, DataTableFormula):
        return f"=TABLE({value.r1 or ''},{value.r2 or ''})"
    return str(value)


def _cached_formula_results(path, wb, max_rows: int, max_cols: int) -> dict[tuple[str, int, int], Any]:
    """The results the file stores for its formula cells (a second, streaming pass)."""
    import openpyxl  # openpyxl is slow to import: only for what the fast paths do not cover

    wanted: dict[str, set[tuple[int, int]]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows(max_row=min(ws.max_row, max_rows), max_col=min(ws.max_column, max_cols)):
            for c in row:
                if c.data_type == "f":
                    wanted.setdefault(ws.title, set()).add((c.row - 1, c.column - 1))
    if not wanted:
        return {}
    out: dict[tuple[str, int, int], Any] = {}
    fh = _open(path)
    ro = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_links=False)
    try:
        for title, cells in wanted.items():
            ws = ro[title]
            top = max(r for r, _ in cells) + 1
            right = max(c for _, c in cells) + 1
            for r, row in enumerate(ws.iter_rows(max_row=top, max_col=right, values_only=True)):
                for c, v in enumerate(row):
                    if (r, c) in cells:
                        out[(title, r, c)] = v
    finally:
        ro.close()
        fh.close()
    return out


def _attr(protection, key: str):
    value = getattr(protection, key, None)
    return None if value in (None, "") else str(value)
