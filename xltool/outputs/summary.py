"""What the coordinator gets from the accepted returns: summary.xlsx and values.csv.

`write_summary` adds up the accepted agencies' tables per form version and report year (汇总)
and draws each sum in the official layout (labels and merges from `spec.layout`, the look of
the generated templates), plus one sheet per form version with a row per agency and a column
per value. `write_values_csv` writes the same values as a tidy table, one row per value.

Only table values are exported (the numbers of 二、三、四); the narrative parts stay in the
canonical JSON. Sums are exact: counts stay integers, amounts are added as Decimal.
Nothing in either file can become a formula: agency text is always written as a string
(xlsxwriter `write_string`, with `strings_to_formulas` off as a second guard), and in the CSV,
which a spreadsheet program parses itself, any text starting with = + - @ or a tab/CR gets a
leading apostrophe (the OWASP CSV-injection rule).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from typing import Any

from xltool.calc.model import model_for
from xltool.fileio import atomic_path
from xltool.form.forms import get_spec
from xltool.form.layout import CHECK_BAD, CHECK_OK, SheetLayout, ValueCell
from xltool.form.spec import FormSpec
from xltool.generate.writer import Formats
from xltool.outputs.run_report import bounded_text

CSV_COLUMNS = ("agency", "year", "form", "table", "row", "column", "spec_id", "value")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
AGENCY_COLUMNS = (("填报单位", "agency", 30), ("报告年度", "year", 9), ("所属地区", "region", 12),
                  ("单位代码", "code", 20), ("文件", "file", 28))
SHEET_NAME_MAX = 31            # Excel's limit
WORKBOOK_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}

Number = int | Decimal


@dataclass
class Group:
    """The accepted returns of one form version for one report year: one summed report. Only the
    agencies' names and the running sums are kept, never the documents (thousands of them)."""

    spec: FormSpec
    year: int | None
    agencies: list[str]
    sums: dict[str, Number]

    @property
    def count(self) -> int:
        return len(self.agencies)


# --- selecting and adding up -------------------------------------------------------------------

def accepted_docs(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents whose values can be trusted: accepted, of a known form."""
    return [d for d in docs if _accepted(d)]


def _accepted(d: dict[str, Any]) -> bool:
    return d.get("status") == "accepted" and bool(d.get("form")) and d.get("values") is not None


def table_cells(spec: FormSpec) -> list[ValueCell]:
    """The values that are exported: every cell of the form's tables, in layout order."""
    return [c for c in spec.layout.cells.values() if c.table is not None]


def summary_order(d: dict[str, Any]) -> tuple:
    """The order of the summary and of values.csv: form version, year, agency, file."""
    year = d.get("year")
    return (d["form"]["id"], year if year is not None else -1, d.get("agency") or "",
            (d.get("source") or {}).get("file") or "")


def ordered_docs(docs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The accepted documents in summary order. A source marked `in_summary_order` (the ledger's,
    streamed from SQLite, which sorts) is taken as it comes, one document at a time, so that
    thousands of returns never sit in memory together; anything else is filtered and sorted here."""
    if getattr(docs, "in_summary_order", False):
        return (d for d in docs if _accepted(d))
    return iter(sorted(accepted_docs(docs), key=summary_order))


def group_docs(docs: Iterable[dict[str, Any]]) -> list[Group]:
    """Accepted documents by (form version, year), in form and year order, summed in one pass."""
    groups: list[Group] = []
    current: Group | None = None
    numeric: list[str] = []
    for d in ordered_docs(docs):
        if current is None or (d["form"]["id"], d.get("year")) != (current.spec.id, current.year):
            spec = get_spec(d["form"]["id"])
            numeric = [c.id for c in table_cells(spec) if c.type.numeric]
            current = Group(spec, d.get("year"), [], dict.fromkeys(numeric, 0))
            groups.append(current)
        current.agencies.append(d.get("agency") or "（未填单位）")
        values, sums = d["values"], current.sums
        for cid in numeric:
            v = values.get(cid)
            sums[cid] += v if type(v) is int else exact_number(v)    # ints, the common case, as they are
    return groups


def sum_values(spec: FormSpec, docs: list[dict[str, Any]]) -> dict[str, Number]:
    """Per numeric table cell, the exact sum over the documents."""
    sums: dict[str, Number] = {}
    for cell in table_cells(spec):
        if not cell.type.numeric:
            continue
        total: Number = 0
        for d in docs:
            total += exact_number(d["values"].get(cell.id))
        sums[cell.id] = total
    return sums


def exact_number(v: Any) -> Number:
    """A document value as an exact number (blank counts as 0, as in the template)."""
    if v is None or isinstance(v, bool):
        return 0
    if isinstance(v, (int, Decimal)):
        return v
    if isinstance(v, float):  # a document read with plain json: repr is the shortest exact text
        return Decimal(repr(v))
    return Decimal(str(v))


def value_text(v: Any) -> str:
    """A value as exact text: 14.495 stays 14.495, integers without a decimal point."""
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    return str(v)


# --- values.csv --------------------------------------------------------------------------------

def csv_safe(text: str) -> str:
    """Text that a spreadsheet program opening the CSV shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def values_rows(docs: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """One row per table value of every accepted document (typed: numbers stay numbers)."""
    for d in ordered_docs(docs):
        spec = get_spec(d["form"]["id"])
        for cell in table_cells(spec):
            yield {"agency": d.get("agency") or "", "year": d.get("year"), "form": spec.id,
                   "table": cell.table, "row": cell.row_id, "column": cell.col_id, "spec_id": cell.id,
                   "value": d["values"].get(cell.id)}


def write_values_csv(docs: Iterable[dict[str, Any]], target: Path) -> None:
    """values.csv: UTF-8 with a BOM (so Excel picks the encoding), one row per value."""
    write_values_csv_rows((doc_csv_rows(d) for d in ordered_docs(docs)), target)


def doc_csv_rows(doc: dict[str, Any]) -> str:
    """One accepted document's rows of values.csv, as text: made once per return (kept by the
    ledger), so that values.csv is put together from them without adding anything up again.
    Byte for byte what csv.writer makes of values_rows([doc]): a row's fields are quoted each on
    its own, so the fields the document and the form fix are encoded once, not once per value."""
    if not _accepted(doc):
        return ""
    spec = get_spec(doc["form"]["id"])
    head = _csv_fields([doc.get("agency") or "", doc.get("year"), spec.id])
    values = doc["values"]
    return "".join(f"{head},{cell_fields},{_csv_value(values.get(cid))}\r\n" for cid, cell_fields in _cell_fields(spec))


_CELL_FIELDS: dict[int, tuple[FormSpec, list[tuple[str, str]]]] = {}


def _cell_fields(spec: FormSpec) -> list[tuple[str, str]]:
    """(spec id, its encoded table,row,column,spec_id fields) per exported cell, once per form."""
    cached = _CELL_FIELDS.get(id(spec))
    if cached is None or cached[0] is not spec:
        fields = [(c.id, _csv_fields([c.table, c.row_id, c.col_id, c.id])) for c in table_cells(spec)]
        cached = _CELL_FIELDS[id(spec)] = (spec, fields)
    return cached[1]


def _csv_fields(values: list[Any]) -> str:
    """Fields as csv.writer joins them on a row (no line end)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow([_csv_field(v) for v in values])
    return text.getvalue()


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if type(v) is int:          # digits and a sign: never quoted
        return str(v)
    return _csv_fields([v])


def write_values_csv_rows(texts: Iterable[str], target: Path) -> None:
    """values.csv from the documents' rows (doc_csv_rows), given in summary order."""
    with atomic_path(Path(target)) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerow(CSV_COLUMNS)
        for text in texts:
            fh.write(text)


def _csv_field(v: Any) -> str:
    if isinstance(v, str):
        return csv_safe(v)
    return value_text(v)  # numbers are numbers: -18 stays -18


# --- summary.xlsx ------------------------------------------------------------------------------

def write_summary(docs: Iterable[dict[str, Any]], target: Path) -> None:
    """summary.xlsx: an overview, the summed tables per form version and year in the official
    layout, and per form version a sheet with one row per agency."""
    import xlsxwriter  # xlsxwriter: only when a workbook is written

    groups = group_docs(docs)
    with atomic_path(Path(target)) as tmp:
        _write_summary_workbook(xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS), groups, docs)


def _write_summary_workbook(wb, groups: list[Group], docs: Iterable[dict[str, Any]]) -> None:

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
    # a second pass over the documents, in the same order: they come grouped by form version
    for form_id, version_docs in groupby(ordered_docs(docs), key=lambda d: d["form"]["id"]):
        spec = get_spec(form_id)
        ws = _add_streamed_worksheet(wb, names.take(f"各单位明细（{spec.version}版）"))
        _write_agency_rows(ws, spec, version_docs, extra)
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


def _write_agency_rows(ws, spec: FormSpec, docs: Iterable[dict[str, Any]], f: _ExtraFormats) -> None:
    """A row per agency, a column per value; header: the spec id, then the official label path."""
    cells = table_cells(spec)
    first = len(AGENCY_COLUMNS)
    for col, (_, _, width) in enumerate(AGENCY_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_column(first, first + len(cells) - 1, 16)
    ws.set_row(1, 96)
    # row by row, left to right: the sheet is streamed (see _add_streamed_worksheet)
    kinds = [("decimal" if cell.type.kind == "decimal" else "integer") if cell.type.numeric else "text" for cell in cells]
    ws.write_row(0, 0, [key for _, key, _ in AGENCY_COLUMNS] + [cell.id for cell in cells], f.head)
    for col, text in enumerate([title for title, _, _ in AGENCY_COLUMNS] + [label_path(spec, c) for c in cells]):
        ws.write_string(1, col, text, f.head_small)
    ws._write_single_row(2)  # the header rows go out now; the agency rows follow as XML, see _AgencyRowsXml
    rows = _AgencyRowsXml(ws, f, first)
    last = 1
    for last, d in enumerate(docs, start=2):
        meta = [d.get("agency"), d.get("year"), d.get("region"), d.get("code"), (d.get("source") or {}).get("file")]
        values = d["values"]
        rows.write(last, meta, [values.get(cell.id) for cell in cells], kinds)
    rows.close(last, first + len(cells) - 1)
    ws.freeze_panes(2, 1)
    ws.autofilter(1, 0, last, first + len(cells) - 1)


_EXACT_INT = 2 ** 53       # an int below this in magnitude is a float exactly: {:.16G} writes its plain digits


class _AgencyRowsXml:
    """The agency rows of a streamed sheet, written as the sheet's XML directly: the same XML
    xlsxwriter writes for write_number / write_blank / write_string in constant_memory mode, at a
    fraction of the cost (thousands of agencies × 200 values go through xlsxwriter's per-cell
    machinery in seconds). Every text is escaped as data: unlike xlsxwriter's own streamed
    strings, a text shaped like rich-text XML ("<r>…</r>") is never passed through as markup."""

    def __init__(self, ws, f: _ExtraFormats, first: int):
        from xlsxwriter.utility import xl_col_to_name  # xlsxwriter: only when a workbook is written

        self.ws, self.fh = ws, ws.fh   # the row file of the streamed sheet (xlsxwriter's constant_memory)
        self.first = first
        self.names: list[str] = []
        self.name = xl_col_to_name
        self.formats = {"integer": f.integer, "decimal": f.decimal, "text": f.text}
        self.xf_of: dict[str, int] = {}
        # (column letters, kind, its style attribute) per value, made on the first row
        self.value_cols: list[tuple[str, str, str]] | None = None

    def xf(self, kind: str) -> int:
        """A format's index, taken when first used, as xlsxwriter takes it: the same styles.xml."""
        try:
            return self.xf_of[kind]
        except KeyError:
            self.xf_of[kind] = self.formats[kind]._get_xf_index()
            return self.xf_of[kind]

    def _col(self, col: int) -> str:
        try:
            return self.names[col]
        except IndexError:
            while len(self.names) <= col:
                self.names.append(self.name(len(self.names)))
            return self.names[col]

    def write(self, row: int, meta: list[Any], values: list[Any], kinds: list[str]) -> None:
        n = row + 1
        parts = [f'<row r="{n}">']
        for col, v in enumerate(meta):
            parts.append(self._text_or_number(f"{self._col(col)}{n}", v))
        if self.value_cols is None:   # the formats' indexes taken in the order the cells use them, as ever
            self.value_cols = [(self._col(self.first + i), kind, "" if kind == "text" else f'" s="{self.xf(kind)}"')
                               for i, kind in enumerate(kinds)]
        for (col, kind, style), v in zip(self.value_cols, values):
            if kind == "text":
                parts.append(self._text_or_number(f"{col}{n}", v))
            elif v is None:
                parts.append(f'<c r="{col}{n}{style}/>')
            elif type(v) is int and -_EXACT_INT < v < _EXACT_INT:   # what {:.16G} writes of it: its digits
                parts.append(f'<c r="{col}{n}{style}><v>{v}</v></c>')
            else:
                number = float(v) if isinstance(v, Decimal) else v   # as _write_number: the exact sum converts once
                parts.append(f'<c r="{col}{n}{style}><v>{number:.16G}</v></c>')
        parts.append("</row>")
        self.fh.write("".join(parts))

    @staticmethod
    def _number(ref: str, v: Any, xf: int) -> str:
        number = float(v) if isinstance(v, Decimal) else v   # as _write_number: the exact sum converts once
        return f'<c r="{ref}" s="{xf}"><v>{number:.16G}</v></c>'

    def _text_or_number(self, ref: str, v: Any) -> str:
        if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            return self._number(ref, v, self.xf("integer"))
        if v is None:
            return f'<c r="{ref}" s="{self.xf("text")}"/>'
        text = self.ws._escape_control_characters(str(v)[:32767])   # Excel's limit, as write_string
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        return f'<c r="{ref}" s="{self.xf("text")}" t="inlineStr"><is><t{space}>{text}</t></is></c>'

    def close(self, last_row: int, last_col: int) -> None:
        """Tell the sheet how far its data reaches (its dimension) and that these rows are written."""
        if last_row >= 2:
            self.ws._check_dimensions(last_row, last_col)
        self.ws.previous_row = last_row + 1


def _write_text_or_number(ws, row: int, col: int, v: Any, f: _ExtraFormats) -> None:
    if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
        _write_number(ws, row, col, v, f.integer)
    elif v is None:
        ws.write_blank(row, col, None, f.text)
    else:
        ws.write_string(row, col, str(v), f.text)  # agency text: a string, whatever it starts with


def label_path(spec: FormSpec, cell: ValueCell) -> str:
    """Where a value sits, in the official words: sheet > block title > row labels | column."""
    table = spec.table(cell.table) if cell.table else None
    rows = [cell.sheet, *([table.title] if table is not None and table.title else []), *cell.label_path]
    cols = " > ".join(cell.column_path)
    return " > ".join(rows) + (f" | {cols}" if cols else "")


def summary_partial(doc: dict) -> dict:
    """What summary.xlsx and values.csv use of an accepted document: its identity and its table
    values (texts bounded), kept in the ledger so that the summary never reads the JSON back."""
    try:
        cells = get_spec(doc["form"]["id"]).layout.cells
    except (KeyError, TypeError):
        cells = {}
    values = {k: bounded_text(v) for k, v in (doc.get("values") or {}).items() if k in cells and cells[k].table is not None}
    return {"status": doc.get("status"), "form": doc.get("form"), "agency": bounded_text(doc.get("agency"), 200),
            "year": doc.get("year"), "region": bounded_text(doc.get("region"), 200),
            "code": bounded_text(doc.get("code"), 200),
            "source": {"file": bounded_text((doc.get("source") or {}).get("file"))}, "values": values}
