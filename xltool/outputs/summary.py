"""What the coordinator gets from the accepted returns: summary.xlsx and values.csv.

`write_summary` adds up the accepted agencies' tables per form version and report year (汇总)
and draws each sum in the official layout (labels and merges from `spec.layout`, the look of
the generated templates), plus one sheet per form version with a row per agency and a column
per value. `write_values_csv` writes the same values as a tidy table, one row per value.

Both are put together from each return's `SummaryRow` (outputs.summary_rows), made once when the
return was checked: a run adds up their short lists of numbers and joins their finished rows,
whatever the number of returns it reuses from the ledger.

Only table values are exported (the numbers of 二、三、四); the narrative parts stay in the
canonical JSON. Sums are exact: counts stay integers, amounts are added as Decimal.
Nothing in either file can become a formula: agency text is always written as a string
(inline strings, with `strings_to_formulas` off as a second guard), and in the CSV, which a
spreadsheet program parses itself, any text starting with = + - @ or a tab/CR gets a leading
apostrophe (the OWASP CSV-injection rule).
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import groupby
from operator import add
from pathlib import Path
from typing import Any, Protocol

from xltool.calc.model import model_for
from xltool.fileio import atomic_path
from xltool.form.forms import get_spec
from xltool.form.layout import CHECK_BAD, CHECK_OK, SheetLayout, ValueCell
from xltool.form.spec import FormSpec
from xltool.generate.writer import Formats
from xltool.outputs.piece_file import piece_file
from xltool.outputs.summary_rows import META_COLUMNS, SummaryRow, fill_sheet_row, summary_row, table_cells

CSV_COLUMNS = ("agency", "year", "form", "table", "row", "column", "spec_id", "value")
AGENCY_COLUMNS = (("填报单位", 30), ("报告年度", 9), ("所属地区", 12), ("单位代码", 20), ("文件", 28))  # META_COLUMNS
SHEET_NAME_MAX = 31            # Excel's limit
WORKBOOK_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
ZIP_LEVEL = 1   # the 明细 sheets are tens of MB of XML: level 1 packs them 4x faster than zlib's default, 30% larger

Number = int | Decimal


class SummaryRows(Protocol):
    """The accepted returns in use, in summary order (SummaryRow.sort_key): for each, the named
    fields of its SummaryRow. The ledger answers from its columns; `in_memory` from a list."""

    def __call__(self, *fields: str) -> Iterable[tuple]: ...


def in_memory(rows: Iterable[SummaryRow | None]) -> SummaryRows:
    ordered = sorted((r for r in rows if r is not None), key=SummaryRow.sort_key)
    return lambda *fields: (tuple(getattr(r, f) for f in fields) for r in ordered)


@dataclass
class Group:
    """The accepted returns of one form version for one report year: one summed report. Only the
    agencies' names and the running sums are kept, never the returns (thousands of them)."""

    spec: FormSpec
    year: int | None
    agencies: list[str]
    totals: list[Number]          # per numeric table cell, in table order

    @property
    def count(self) -> int:
        return len(self.agencies)

    @property
    def sums(self) -> dict[str, Number]:
        """Per numeric table cell id, the exact sum."""
        return dict(zip((c.id for c in table_cells(self.spec) if c.type.numeric), self.totals))


def group_rows(rows: SummaryRows) -> list[Group]:
    """The returns by (form version, year), in form and year order, summed in one pass."""
    groups: list[Group] = []
    current: Group | None = None
    for form, year, agency, sums in rows("form", "year", "agency", "sums"):
        if current is None or (form, year) != (current.spec.id, current.year):
            spec = get_spec(form)
            current = Group(spec, year, [], [0] * sum(c.type.numeric for c in table_cells(spec)))
            groups.append(current)
        if len(sums) != len(current.totals):
            raise ValueError(f"a stored summary row of {form} has {len(sums)} values; the form has {len(current.totals)}")
        current.agencies.append(agency or "（未填单位）")
        current.totals = list(map(add, current.totals, sums))
    return groups


# --- values.csv --------------------------------------------------------------------------------

def write_values_csv(docs: Iterable[dict[str, Any]], target: Path) -> None:
    """values.csv of these documents' accepted ones: UTF-8 with a BOM (so Excel picks the
    encoding), one row per value."""
    write_values_csv_rows(in_memory(map(summary_row, docs)), target)


def write_values_csv_rows(rows: SummaryRows, target: Path) -> int:
    """values.csv from the returns' stored rows, given in summary order. A return's rows that the
    file on disk already holds are copied from it (outputs.piece_file): a re-run where a few
    returns changed decompresses and writes only theirs. Returns how many returns' rows were copied."""
    with piece_file(Path(target)) as fh:
        fh.write(("\ufeff" + ",".join(CSV_COLUMNS) + "\r\n").encode("utf-8"))
        for (csv_rows,) in rows("csv_rows"):
            # named by the stored bytes they are made from: the same bytes make the same rows
            fh.piece(hashlib.blake2b(csv_rows, digest_size=16).hexdigest(), partial(zlib.decompress, csv_rows))
    return fh.copied


# --- summary.xlsx ------------------------------------------------------------------------------

def write_summary(docs: Iterable[dict[str, Any]], target: Path) -> None:
    """summary.xlsx of these documents' accepted ones (see write_summary_rows)."""
    write_summary_rows(in_memory(map(summary_row, docs)), target)


def write_summary_rows(rows: SummaryRows, target: Path) -> None:
    """summary.xlsx: an overview, the summed tables per form version and year in the official
    layout, and per form version a sheet with one row per agency."""
    import xlsxwriter  # xlsxwriter: only when a workbook is written

    groups = group_rows(rows)
    with atomic_path(Path(target)) as tmp, _zip_level(xlsxwriter.workbook, ZIP_LEVEL):
        _write_summary_workbook(xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS), groups, rows)


@contextmanager
def _zip_level(workbook_module, level: int):
    """xlsxwriter packs with zipfile's default level and has no option for it: its module's
    ZipFile is given `compresslevel` for the time of one write (the summary is written by one thread)."""
    original = workbook_module.ZipFile
    workbook_module.ZipFile = partial(zipfile.ZipFile, compresslevel=level)
    try:
        yield
    finally:
        workbook_module.ZipFile = original


def _write_summary_workbook(wb, groups: list[Group], rows: SummaryRows) -> None:

    fmt = Formats(wb)
    extra = _ExtraFormats(wb)
    names = _SheetNames()
    _write_overview(wb.add_worksheet(names.take("说明")), groups, extra)
    for group in groups:
        sums = group.sums
        checks = _check_marks(group.spec, sums)
        for sl in group.spec.layout.sheets:
            if sl.is_fields:
                continue
            ws = wb.add_worksheet(names.take(_sum_sheet_name(group, sl, groups)))
            _draw_sum_sheet(ws, group, sl, sums, checks, fmt, extra)
    streamed = []
    # a second pass over the returns, in the same order: they come grouped by form version
    for form_id, version_rows in groupby(rows("form", "sheet_row"), key=lambda r: r[0]):
        spec = get_spec(form_id)
        ws = _add_streamed_worksheet(wb, names.take(f"各单位明细（{spec.version}版）"))
        _write_agency_rows(ws, spec, (sheet_row for _, sheet_row in version_rows), extra)
        streamed.append(ws)
    for ws in streamed:
        ws._opt_close()  # flush its row file: the workbook closes those only in whole-workbook streaming
    wb.close()


def _add_streamed_worksheet(wb, name: str):
    """A worksheet in xlsxwriter's constant_memory mode: each row goes to disk once the next one
    starts, so a sheet of thousands of agencies × 200 values stays small (1.6 M cells: ~170 MB
    held, ~0 streamed). xlsxwriter reads the mode when a sheet is added, so only these sheets
    stream; the summed tables, whose merges pad rows below them, are drawn in any order as usual.
    The rows must be written top to bottom, as _write_agency_rows does."""
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name)
    finally:
        wb.constant_memory = False


class _ExtraFormats:
    """Formats the templates do not have: captions, list headers, plain cells."""

    def __init__(self, wb):
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        self.caption = wb.add_format({**base, "bold": True, "font_color": "#1F4E79"})
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.note = wb.add_format({**base, "font_color": "#595959", "text_wrap": True})
        self.warn = wb.add_format({**base, "font_color": "#9C0006"})
        self.head = wb.add_format({**base, "bold": True, "border": 1, "bg_color": "#F2F2F2", "text_wrap": True})
        self.head_small = wb.add_format({**base, "font_size": 9, "border": 1, "bg_color": "#F2F2F2",
                                         "text_wrap": True, "valign": "top"})
        self.text = wb.add_format({**base, "border": 1})
        self.integer = wb.add_format({**base, "border": 1, "num_format": "0"})
        self.decimal = wb.add_format({**base, "border": 1, "num_format": "0.######"})
        check = {**base, "border": 1, "bold": True, "align": "center"}
        self.check_ok = wb.add_format({**check, "font_color": "#006100", "bg_color": "#C6EFCE"})
        self.check_bad = wb.add_format({**check, "font_color": "#9C0006", "bg_color": "#FFC7CE"})


class _SheetNames:
    """Unique Excel sheet names (case-insensitive, at most 31 characters)."""

    def __init__(self):
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        name, n = wanted[:SHEET_NAME_MAX], 2
        while name.casefold() in self.used:
            suffix = f"（{n}）"
            name, n = wanted[:SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
        self.used.add(name.casefold())
        return name


def _sum_sheet_name(group: Group, sl: SheetLayout, groups: list[Group]) -> str:
    year = f"{group.year}年" if group.year is not None else "未填年度"
    same_year = sum(g.year == group.year for g in groups) > 1
    return f"{year}{group.spec.version}版{sl.name}" if same_year else f"{year}{sl.name}"


def _check_marks(spec: FormSpec, sums: dict[str, Number]) -> dict[tuple[str, int, int], bool]:
    """The live checks of the template, evaluated on the sums: ✓/✗ like in the agencies' sheets."""

    return {(r.check.sheet, r.check.row, r.check.col): r.ok for r in model_for(spec.layout).run_checks(sums)}


def _write_overview(ws, groups: list[Group], f: _ExtraFormats) -> None:
    ws.set_column(0, 0, 34)
    ws.set_column(1, 3, 12)
    ws.set_column(4, 4, 90)
    ws.write_string(0, 0, "汇总表 / Summary of accepted returns", f.title)
    ws.write_string(1, 0, "只计入校验通过的报表；各表为这些单位数值之和（合计行列按模板公式的关系相加）。"
                          "每个单位的数值见“各单位明细”工作表。", f.note)
    row = 3
    for col, title in enumerate(("报表", "版本", "年度", "单位数", "计入的单位")):
        ws.write_string(row, col, title, f.head)
    for g in groups:
        row += 1
        ws.write_string(row, 0, g.spec.title, f.text)
        ws.write_string(row, 1, f"{g.spec.version}版", f.text)
        ws.write_string(row, 2, str(g.year) if g.year is not None else "", f.text)
        ws.write_number(row, 3, g.count, f.integer)
        ws.write_string(row, 4, "、".join(g.agencies), f.text)
    if not groups:
        ws.write_string(row + 1, 0, "没有校验通过的报表。 / No accepted returns.", f.note)
    for g in groups:
        repeated = [a for a, n in Counter(g.agencies).items() if n > 1]
        if repeated:  # two accepted returns of one agency would be counted twice
            row += 2
            ws.write_string(row, 0, f"注意：{g.year} 年度“{'、'.join(repeated)}”有多份通过的报表，均已计入汇总，请核对。",
                            f.warn)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _draw_sum_sheet(ws, group: Group, sl: SheetLayout, sums: dict[str, Number],
                    checks: dict[tuple[str, int, int], bool], fmt, f: _ExtraFormats) -> None:
    """One sheet of the form in its official layout, one row lower to make room for a caption."""
    top = 1
    ws.write_string(0, 0, f"{group.year or ''}年度汇总（{group.count} 个单位，{group.spec.version}版）", f.caption)
    for i, width in enumerate(sl.col_widths):
        ws.set_column(i, i, width)
    for r, height in sl.row_heights.items():
        ws.set_row(top + r, height)
    for lab in sl.labels:
        if lab.merged:
            ws.merge_range(top + lab.row, lab.col, top + lab.end[0], lab.end[1], lab.text, fmt.label(lab.role))
        else:
            ws.write_string(top + lab.row, lab.col, lab.text, fmt.label(lab.role))
    for cell in sl.cells:
        value_format = fmt.value(cell, locked=True)
        if cell.last_col is not None:
            ws.merge_range(top + cell.row, cell.col, top + cell.row, cell.last_col, "", value_format)
        _write_number(ws, top + cell.row, cell.col, sums.get(cell.id), value_format)
    for ch in sl.checks:
        ok = checks.get((ch.sheet, ch.row, ch.col), False)
        ws.write_string(top + ch.row, ch.col, CHECK_OK if ok else CHECK_BAD, f.check_ok if ok else f.check_bad)
    if sl.landscape:
        ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def _write_number(ws, row: int, col: int, v: Any, cell_format) -> None:
    if v is None:
        ws.write_blank(row, col, None, cell_format)
    else:
        # xlsx stores doubles; the exact Decimal sum converts once, so 14.495 is written as 14.495
        ws.write_number(row, col, float(v) if isinstance(v, Decimal) else v, cell_format)


def _write_agency_rows(ws, spec: FormSpec, sheet_rows: Iterable[bytes], f: _ExtraFormats) -> None:
    """A row per agency, a column per value; header: the spec id, then the official label path.
    The agency rows are the returns' stored XML (SummaryRow.sheet_row), written to the streamed
    sheet's row file with their row numbers and this workbook's style indexes put in."""
    cells = table_cells(spec)
    first = len(META_COLUMNS)
    for col, (_, width) in enumerate(AGENCY_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_column(first, first + len(cells) - 1, 16)
    ws.set_row(1, 96)
    # row by row, left to right: the sheet is streamed (see _add_streamed_worksheet)
    ws.write_row(0, 0, [*META_COLUMNS, *(cell.id for cell in cells)], f.head)
    for col, text in enumerate([title for title, _ in AGENCY_COLUMNS] + [label_path(spec, c) for c in cells]):
        ws.write_string(1, col, text, f.head_small)
    ws._write_single_row(2)  # the header rows go out now; the agency rows follow as XML
    styles = {"text": f.text._get_xf_index(), "integer": f.integer._get_xf_index(),
              "decimal": f.decimal._get_xf_index()}
    last = 1
    ws.fh.flush()   # the rows are bytes already: they go to the row file's binary layer, after its text
    raw = ws.fh.buffer
    for last, sheet_row in enumerate(sheet_rows, start=2):
        raw.write(fill_sheet_row(sheet_row, last + 1, styles))
    raw.flush()
    if last >= 2:   # how far the data reaches (the sheet's dimension); these rows are written
        ws._check_dimensions(last, first + len(cells) - 1)
    ws.previous_row = last + 1
    ws.freeze_panes(2, 1)
    ws.autofilter(1, 0, last, first + len(cells) - 1)


def label_path(spec: FormSpec, cell: ValueCell) -> str:
    """Where a value sits, in the official words: sheet > block title > row labels | column."""
    table = spec.table(cell.table) if cell.table else None
    rows = [cell.sheet, *([table.title] if table is not None and table.title else []), *cell.label_path]
    cols = " > ".join(cell.column_path)
    return " > ".join(rows) + (f" | {cols}" if cols else "")
