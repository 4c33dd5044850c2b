"""One accepted return's share of summary.xlsx and values.csv, made once, where it was checked.

A `SummaryRow` holds everything the run's summary takes from a return: its identity, its numeric
table values in the form's order (what the summed tables add up), its row of the 各单位明细 sheet
as finished sheet XML, and its rows of values.csv as finished bytes. The worker that checked the
return makes it and the ledger keeps it, so that a re-run puts summary.xlsx and values.csv
together from stored pieces: it adds up short lists of numbers and joins text, and no return's
values are read, decoded or formatted again.

The sheet row cannot know its row number (that depends on the agencies before it) nor the
workbook's style indexes, so it holds marks for them: `ROW_MARK` where the number goes and one
mark per cell style. The marks are control characters, which escaped sheet text never holds
(xlsxwriter writes them as _xHHHH_).
"""

from __future__ import annotations

import csv
import io
import sys
import zlib
from array import array
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import simplejson

from xltool.cells import column_letter
from xltool.outputs.run_report import bounded_text

if TYPE_CHECKING:   # the forms load where a row is made (a worker), not where stored rows are read
    from xltool.form.layout import ValueCell
    from xltool.form.spec import FormSpec

ROW_MARK = "\x1c"
STYLE_MARKS = {"text": "\x1d", "integer": "\x1e", "decimal": "\x1f"}   # the 明细 sheet's three cell styles
_ROW_BYTE = ROW_MARK.encode("ascii")
META_COLUMNS = ("agency", "year", "region", "code", "file")   # the 明细 sheet's first columns, before the values
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SHEET_TEXT_MAX = 32767         # Excel's limit on a cell's text
_EXACT_INT = 2 ** 53           # an int below this in magnitude is a float exactly: {:.16G} writes its plain digits
_INT64 = 2 ** 63

Number = int | Decimal


@dataclass
class SummaryRow:
    """An accepted return's share of the summary (see the module's docstring)."""

    form: str
    year: int | None
    agency: str
    file: str
    sums: list[Number]       # the numeric table values in table order, blanks as 0
    sheet_row: bytes         # <row> of the 明细 sheet, with ROW_MARK and STYLE_MARKS: UTF-8, zlib-compressed
    csv_rows: bytes          # its rows of values.csv, UTF-8, zlib-compressed (~24 KB of text, 2 KB packed)

    def sort_key(self) -> tuple:
        """The order of the summary and of values.csv: form version, year, agency, file."""
        return self.form, self.year if self.year is not None else -1, self.agency, self.file


def table_cells(spec: FormSpec) -> list[ValueCell]:
    """The values that are exported: every cell of the form's tables, in layout order."""
    return _form_plan(spec).cells


def summary_row(doc: dict[str, Any]) -> SummaryRow | None:
    """The summary's share of a canonical document; None unless it is accepted and of a known form."""
    if doc.get("status") != "accepted" or not doc.get("form") or doc.get("values") is None:
        return None
    from xltool.form.forms import get_spec  # loaded in the worker already: a lookup here

    try:
        spec = get_spec(doc["form"]["id"])
    except (KeyError, TypeError):
        return None
    plan = _form_plan(spec)
    values = doc["values"]
    cells = [values.get(c.id) for c in plan.cells]
    agency = bounded_text(doc.get("agency"), 200)
    file = bounded_text((doc.get("source") or {}).get("file"))
    meta = [agency, doc.get("year"), bounded_text(doc.get("region"), 200), bounded_text(doc.get("code"), 200), file]
    return SummaryRow(
        form=spec.id, year=doc.get("year"), agency=agency or "", file=file or "",
        sums=[exact_number(cells[i]) for i in plan.numeric],
        sheet_row=zlib.compress(_sheet_row(plan, meta, cells).encode("utf-8"), 1),
        csv_rows=zlib.compress(_csv_rows(plan, [agency or "", doc.get("year"), spec.id], cells).encode("utf-8"), 1))


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


def csv_safe(text: str) -> str:
    """Text that a spreadsheet program opening the CSV shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def pack_sums(sums: list[Number]) -> bytes:
    """The numbers as stored: 64-bit integers in a row (the counts: the summary adds thousands of
    these, and a row unpacks in a microsecond), with the few that are not such integers (amounts
    with decimals, a count past 64 bits) as exact text beside them, by position."""
    ints = _little_endian(array("q", (v if _is_int64(v) else 0 for v in sums))).tobytes()
    others = {str(i): str(v) for i, v in enumerate(sums) if not _is_int64(v)}
    if not others:
        return b"i" + ints
    kinds = {i: "d" if isinstance(sums[int(i)], Decimal) else "i" for i in others}
    text = simplejson.dumps({"values": others, "kinds": kinds}, sort_keys=True).encode("ascii")
    return b"m" + len(ints).to_bytes(4, "little") + ints + text


def unpack_sums(data: bytes) -> list[Number]:
    if data[:1] == b"i":
        return _ints(data[1:])
    if data[:1] != b"m":
        raise ValueError("not a stored row of summary numbers")
    size = int.from_bytes(data[1:5], "little")
    values: list[Number] = _ints(data[5:5 + size])
    extra = simplejson.loads(data[5 + size:].decode("ascii"))
    for i, text in extra["values"].items():
        values[int(i)] = Decimal(text) if extra["kinds"][i] == "d" else int(text)
    return values


def _is_int64(v: Any) -> bool:
    return type(v) is int and -_INT64 <= v < _INT64


def _ints(data: bytes) -> list[int]:
    packed = array("q")
    packed.frombytes(data)
    return _little_endian(packed).tolist()


def _little_endian(numbers: array) -> array:
    """The ledger's byte order, whatever this machine's (an output folder can move)."""
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


def fill_sheet_row(sheet_row: bytes, row_number: int, styles: dict[str, int]) -> bytes:
    """A stored 明细 row, unpacked, with its row number and the workbook's style indexes put in
    (UTF-8: the marks are single bytes there, which no other character's encoding holds)."""
    data = zlib.decompress(sheet_row).replace(_ROW_BYTE, str(row_number).encode("ascii"))
    for kind, mark in STYLE_MARKS.items():
        data = data.replace(mark.encode("ascii"), str(styles[kind]).encode("ascii"))
    return data


# --- per form, once --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _FormPlan:
    spec: FormSpec
    cells: list[ValueCell]
    numeric: list[int]               # indexes into cells of the numeric ones
    kinds: list[str]                 # "text" | "integer" | "decimal" per cell
    columns: list[str]               # column letters: the meta columns, then one per cell
    csv_cell_fields: list[str]       # per cell, its encoded table,row,column,spec_id fields


_PLANS: dict[int, _FormPlan] = {}


def _form_plan(spec: FormSpec) -> _FormPlan:
    plan = _PLANS.get(id(spec))
    if plan is None or plan.spec is not spec:
        cells = [c for c in spec.layout.cells.values() if c.table is not None]
        plan = _PLANS[id(spec)] = _FormPlan(
            spec, cells, [i for i, c in enumerate(cells) if c.type.numeric],
            [("decimal" if c.type.kind == "decimal" else "integer") if c.type.numeric else "text" for c in cells],
            [column_letter(i + 1) for i in range(len(META_COLUMNS) + len(cells))],
            [_csv_fields([c.table, c.row_id, c.col_id, c.id]) for c in cells])
    return plan


# --- the 明细 sheet's row -------------------------------------------------------------------------

def _sheet_row(plan: _FormPlan, meta: list[Any], cells: list[Any]) -> str:
    """The row as xlsxwriter writes write_number / write_blank / write_string in constant_memory
    mode (inline strings), at a fraction of the cost. Every text is escaped as data: unlike
    xlsxwriter's own streamed strings, a text shaped like rich-text XML ("<r>…</r>") is never
    passed through as markup."""
    n, cols = ROW_MARK, plan.columns
    parts = [f'<row r="{n}">']
    for col, v in zip(cols, meta):
        parts.append(_text_or_number(f"{col}{n}", v))
    for col, kind, v in zip(cols[len(META_COLUMNS):], plan.kinds, cells):
        ref = f"{col}{n}"
        if kind == "text":
            parts.append(_text_or_number(ref, v))
        elif v is None:
            parts.append(f'<c r="{ref}" s="{STYLE_MARKS[kind]}"/>')
        else:
            parts.append(_number(ref, v, STYLE_MARKS[kind]))
    parts.append("</row>")
    return "".join(parts)


def _number(ref: str, v: Any, style: str) -> str:
    if type(v) is int and -_EXACT_INT < v < _EXACT_INT:
        return f'<c r="{ref}" s="{style}"><v>{v}</v></c>'
    number = float(v) if isinstance(v, Decimal) else v   # xlsx stores doubles: the exact value converts once
    return f'<c r="{ref}" s="{style}"><v>{number:.16G}</v></c>'


def _text_or_number(ref: str, v: Any) -> str:
    from xlsxwriter.worksheet import Worksheet  # xlsxwriter: only when a row is made

    if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
        return _number(ref, v, STYLE_MARKS["integer"])
    if v is None:
        return f'<c r="{ref}" s="{STYLE_MARKS["text"]}"/>'
    text = Worksheet._escape_control_characters(str(v)[:SHEET_TEXT_MAX])   # as write_string
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}" s="{STYLE_MARKS["text"]}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


# --- values.csv rows ---------------------------------------------------------------------------------

def _csv_rows(plan: _FormPlan, head: list[Any], cells: list[Any]) -> str:
    """Byte for byte what csv.writer makes of one row per value: a row's fields are quoted each
    on its own, so the fields the document and the form fix are encoded once, not once per value."""
    head_fields = _csv_fields(head)
    return "".join(f"{head_fields},{fields},{_csv_value(v)}\r\n" for fields, v in zip(plan.csv_cell_fields, cells))


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


def _csv_field(v: Any) -> str:
    if isinstance(v, str):
        return csv_safe(v)
    return value_text(v)  # numbers are numbers: -18 stays -18
