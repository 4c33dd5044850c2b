"""A worksheet's cells kept and written as xlsxwriter keeps and writes them, in a fraction of the time.

The writer draws a form's sheets cell by cell: some 500 cells a workbook, for every roster row
that is drawn rather than stamped and for every feedback workbook. xlsxwriter spends most of a
workbook's time on those cells: each write goes through argument converters, bounds checks and a
named tuple, and each cell is written out again through generic tag writers. A `CellTable` takes
the same writes for the five kinds of cell the writer uses (string, number, boolean, blank and
formula; merged ranges made of them), keeps them in plain dicts, and writes the <sheetData>
element itself when xlsxwriter assembles the sheet.

It changes how the sheet is written, never what: shared strings are numbered by xlsxwriter's own
table in the order of the writes, formats get their index from xlsxwriter at the same point of
the assembly, formulas are prepared by the worksheet, and dimensions, merged ranges, row spans
and comments' rows come out as xlsxwriter's. tests/generate/test_cell_table.py holds whole
workbooks to xlsxwriter's own, byte for byte, and the writer checks the first workbook of each
kind in every process (generate.writer).
"""

from __future__ import annotations

from math import isinf, isnan
from typing import Any

from xlsxwriter.exceptions import OverlappingRange
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import re_dynamic_function  # the functions xlsxwriter writes as array formulas

_STRING, _NUMBER, _BOOLEAN, _BLANK, _FORMULA = range(5)
_ERROR_CODES = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"))
# a text of at most this many characters xlsxwriter keeps whole (its limit is 32,767 UTF-16 units)
TEXT_KEPT_WHOLE = 32767 // 2


class CellTableUnsupported(Exception):
    """A write xlsxwriter would treat otherwise (an array formula, a text too long for a cell...):
    the caller draws the workbook with xlsxwriter instead."""


class CellTable:
    """The cells of one xlsxwriter worksheet: the write methods the writer calls, and the
    worksheet's <sheetData>, written when the worksheet is assembled (see `install`)."""

    def __init__(self, ws):
        self.ws = ws
        self.rows: dict[int, dict[int, tuple]] = {}
        self.merged: dict[tuple[int, int], str] = {}
        self.strings: list[tuple[int, int, str]] = []    # (row, col, text) as written, in order
        self.min_row = self.max_row = self.min_col = self.max_col = None

    # ---- the writes (xlsxwriter's Worksheet methods of the same names, for what the writer passes)

    def merge_range(self, first_row: int, first_col: int, last_row: int, last_col: int, data: Any,
                    cell_format=None) -> int:
        if (first_row, first_col) == (last_row, last_col) or first_row > last_row or first_col > last_col:
            raise CellTableUnsupported("a merged range of one cell or given backwards")
        if not isinstance(data, str):
            raise CellTableUnsupported("a merged range holding other than a text")
        self._extend(first_row, first_col)
        self._extend(last_row, last_col)
        cell_range = xl_range(first_row, first_col, last_row, last_col)
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                previous = self.merged.get((row, col))
                if previous:
                    raise OverlappingRange(f"Merge range '{cell_range}' overlaps previous merge range '{previous}'.")
                self.merged[(row, col)] = cell_range
        self.ws.merge.append([first_row, first_col, last_row, last_col])
        if data == "":
            self.write_blank(first_row, first_col, None, cell_format)
        else:
            self.write_string(first_row, first_col, data, cell_format)
        for row in range(first_row, last_row + 1):
            for col in range(first_col, last_col + 1):
                if (row, col) != (first_row, first_col):
                    self.write_blank(row, col, None, cell_format)
        return 0

    def write_string(self, row: int, col: int, string: str, cell_format=None) -> int:
        if len(string) > TEXT_KEPT_WHOLE:
            raise CellTableUnsupported("a text xlsxwriter may shorten")
        self._extend(row, col)
        self.strings.append((row, col, string))
        self._put(row, col, (_STRING, cell_format, self.ws.str_table._get_shared_string_index(string)))
        return 0

    def write_number(self, row: int, col: int, number, cell_format=None) -> int:
        if number.__class__ not in (int, float) or isnan(number) or isinf(number):
            raise CellTableUnsupported("a number that is not a finite int or float")
        self._extend(row, col)
        self._put(row, col, (_NUMBER, cell_format, number))
        return 0

    def write_boolean(self, row: int, col: int, boolean, cell_format=None) -> int:
        self._extend(row, col)
        self._put(row, col, (_BOOLEAN, cell_format, 1 if boolean else 0))
        return 0

    def write_blank(self, row: int, col: int, blank: Any, cell_format=None) -> int:
        if cell_format is None:
            return 0            # xlsxwriter writes nothing for a blank without a format
        self._extend(row, col)
        self._put(row, col, (_BLANK, cell_format, None))
        return 0

    def write_formula(self, row: int, col: int, formula: str, cell_format=None, value: Any = 0) -> int:
        if not formula or formula.startswith("{") or re_dynamic_function.search(formula):
            raise CellTableUnsupported("an empty, array or dynamic array formula")
        if value.__class__ not in (int, float, str, bool):
            raise CellTableUnsupported("a formula result that is not a number, text or boolean")
        self._extend(row, col)
        self._put(row, col, (_FORMULA, cell_format, (self.ws._prepare_formula(formula), value)))
        return 0

    def _put(self, row: int, col: int, cell: tuple) -> None:
        cells = self.rows.get(row)
        if cells is None:
            cells = self.rows[row] = {}
        cells[col] = cell

    def _extend(self, row: int, col: int) -> None:
        if not (0 <= row < self.ws.xls_rowmax and 0 <= col < self.ws.xls_colmax):
            raise CellTableUnsupported("a cell outside the worksheet")
        if self.min_row is None:
            self.min_row = self.max_row = row
            self.min_col = self.max_col = col
            return
        self.min_row, self.max_row = min(self.min_row, row), max(self.max_row, row)
        self.min_col, self.max_col = min(self.min_col, col), max(self.max_col, col)

    # ---- the worksheet

    def install(self) -> None:
        """Give the worksheet the cells' dimensions (as each write would have) and have it write
        this table as its <sheetData>. Called once the cells are written, before anything reads
        the worksheet's dimensions (comments extend them further, as in xlsxwriter)."""
        ws = self.ws
        if self.min_row is not None:
            ws._check_dimensions(self.min_row, self.min_col)
            ws._check_dimensions(self.max_row, self.max_col)
        ws._write_sheet_data = self.write_sheet_data
        ws.cell_table = self        # what a reader of the drawing learns the cells from (feedback_stamp)

    def write_sheet_data(self) -> None:
        """xlsxwriter's Worksheet._write_sheet_data and _write_rows over this table."""
        ws = self.ws
        if ws.dim_rowmin is None:
            ws._xml_empty_tag("sheetData")
            return
        write = ws.fh.write
        write("<sheetData>")
        row_info, comments, rows = ws.row_info, ws.comments, self.rows
        spans = self._spans()
        for row_num in range(ws.dim_rowmin, ws.dim_rowmax + 1):
            cells = rows.get(row_num)
            if not (cells or row_num in row_info or row_num in comments):
                continue
            span = spans.get(row_num // 16)
            if not cells:
                ws._write_row(row_num, span, row_info.get(row_num), empty_row=True)
                continue
            ws._write_row(row_num, span, row_info.get(row_num))
            for col_num in sorted(cells):
                write(self._cell_xml(row_num, col_num, cells[col_num]))
            write("</row>")
        write("</sheetData>")

    def _spans(self) -> dict[int, str]:
        """xlsxwriter's Worksheet._calculate_spans: per block of 16 rows, the columns its cells and
        comments reach, as "first:last" (1-based)."""
        ws = self.ws
        blocks: dict[int, list[int]] = {}
        for source in (self.rows, ws.comments):
            for row_num, cols in source.items():
                if not cols or not ws.dim_rowmin <= row_num <= ws.dim_rowmax:
                    continue
                inside = [c for c in cols if ws.dim_colmin <= c <= ws.dim_colmax]
                if not inside:
                    continue
                low, high = min(inside), max(inside)
                block = blocks.get(row_num // 16)
                if block is None:
                    blocks[row_num // 16] = [low, high]
                else:
                    block[0], block[1] = min(block[0], low), max(block[1], high)
        return {index: f"{low + 1}:{high + 1}" for index, (low, high) in blocks.items()}

    def _cell_xml(self, row: int, col: int, cell: tuple) -> str:
        """xlsxwriter's Worksheet._write_cell for the kinds of cell kept here."""
        kind, cell_format, payload = cell
        ws = self.ws
        attributes = f'<c r="{xl_rowcol_to_cell_fast(row, col)}"'
        if cell_format:
            attributes += f' s="{cell_format._get_xf_index()}"'
        else:
            row_format = ws.row_info[row].row_format if row in ws.row_info else None
            column = ws.col_info.get(col)
            if row_format:
                attributes += f' s="{row_format._get_xf_index()}"'
            elif column is not None and column.column_format is not None:
                attributes += f' s="{column.column_format._get_xf_index()}"'
        if kind == _STRING:
            return f'{attributes} t="s"><v>{payload}</v></c>'
        if kind == _NUMBER:
            return f"{attributes}><v>{payload:.16G}</v></c>"
        if kind == _BLANK:
            return f"{attributes}/>"
        if kind == _BOOLEAN:
            return f'{attributes} t="b"><v>{payload}</v></c>'
        formula, value = payload
        if isinstance(value, bool):
            attributes += ' t="b"'
            value = 1 if value else 0
        elif isinstance(value, str) and value != "":
            attributes += ' t="e"' if value in _ERROR_CODES else ' t="str"'
        return f"{attributes}><f>{ws._escape_data(formula)}</f><v>{ws._escape_data(value)}</v></c>"
