"""One form sheet of a stamped feedback workbook (feedback_stamp): taken apart from the drawing of
the form's feedback, and put together again with a return's values, marks and password hash.

A form sheet is written by xlsxwriter as: what precedes the cells (dimension, views, columns), the
cells, the sheet's protection, its merged ranges, its conditional formats, its data validations,
the print setup, and a reference to its comments' drawing. Only the cells, the protection, the
conditional formats (one per marked cell), the validations (none on an input holding text as
typed) and the drawing's reference vary between workbooks of a form; the rest is kept as drawn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from io import StringIO
from math import isinf, isnan
from typing import Any

from xlsxwriter.comments import CommentType
from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from xltool.findings import ERROR
from xltool.form.layout import CHECK_BAD, CHECK_OK
from xltool.form.spec import FormSpec
from xltool.generate.cell_table import TEXT_KEPT_WHOLE
from xltool.generate.writer import WriteOptions, add_validation, input_validations
from xltool.outputs.feedback_marks import comment_of

KINDS_MAX = 16               # kinds drawn and kept per process: forms × details given
ESCAPE = XMLwriter()         # xlsxwriter's escaping of element text and attribute values

_SHEET_DATA = re.compile(r"<sheetData>(.*)</sheetData>", re.S)
ROW = re.compile(r"<row ([^>]*?)(?:/>|>(.*?)</row>)", re.S)
CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?)((?: t="[a-z]+")?)(?:/>|>(.*?)</c>)', re.S)
PROTECTION = re.compile(r"<sheetProtection ([^>]*)/>")
ATTRIBUTE = re.compile(r'([^\s=]+)="([^"]*)"')
_MERGES = re.compile(r"<mergeCells [^>]*>.*?</mergeCells>", re.S)
_CONDITIONAL = re.compile(r'<conditionalFormatting sqref="([^"]*)">(.*?)</conditionalFormatting>', re.S)
_RULE = re.compile(r"<cfRule .*?(?:/>|</cfRule>)", re.S)
_VALIDATIONS = re.compile(r"<dataValidations [^>]*>.*?</dataValidations>", re.S)
END = "</worksheet>"


class Unstampable(Exception):
    """This workbook holds what a stamp does not take: it is drawn."""


@dataclass
class FormSheet:
    """One of the form's sheets, taken apart: what comes before and after its cells, and its cells
    as pieces (constant text, a label whose shared string is numbered per workbook, or a value)."""

    name: str
    part: str
    head: str
    pieces: list[Any]                   # str | ("label", start, text) | ("value", (row, col))
    labels: list[str]                   # the label texts, in the order they are written
    inputs: list[tuple[Any, str]]       # (layout cell, '<c r=".." s=".."') in the order they are written
    totals: list[tuple[Any, str, str]]  # (layout cell, its start tag, its <f> element)
    checks: list[tuple[tuple[int, int], str, str, Any]]   # ((row, col), start, <f>, the check)
    cells: set[tuple[int, int]]
    protection: list[tuple[str, str]]
    merges: str
    conditional: list[tuple[str, list[str]]]
    rules: int
    tail: str                           # what follows the conditional formats and the data validations
    layout: Any                         # the sheet's layout, for its data validations
    worksheet: Any                      # the drawn worksheet: comment boxes are placed by its sizes
    validations: dict[frozenset, str] = field(default_factory=dict)   # by inputs holding raw text
    dxf_first: int = 0                  # the marks' formats: the error fill's, then the warning fill's


def take_sheet(sl, part: str, xml: str, ws) -> FormSheet:
    head, data, rest = split_sheet_data(xml)
    table = ws.cell_table
    texts = {(r, c): text for r, c, text in table.strings}     # the last text written in each cell
    values = {(c.row, c.col): c for c in sl.cells}
    checks = {(ch.row, ch.col): ch for ch in sl.checks}
    pieces: list[Any] = []
    inputs: dict[tuple[int, int], str] = {}
    totals: dict[tuple[int, int], tuple[str, str]] = {}
    check_cells: list[tuple[tuple[int, int], str, str, Any]] = []
    cells: set[tuple[int, int]] = set()
    for row in ROW.finditer(data):
        if row.group(2) is None:
            pieces.append(row.group(0))
            continue
        pieces.append(f"<row {row.group(1)}>")
        for c in CELL.finditer(row.group(2)):
            at = xl_cell_to_rowcol(c.group(1))
            cells.add(at)
            start = f'<c r="{c.group(1)}"{c.group(2)}'
            if at in values and values[at].computed:
                totals[at] = (start, _formula_of(c.group(4)))
                pieces.append(("value", at))
            elif at in values:
                inputs[at] = start
                pieces.append(("value", at))
            elif at in checks:
                check_cells.append((at, start, _formula_of(c.group(4)), checks[at]))
                pieces.append(("value", at))
            elif c.group(3) == ' t="s"':
                _value_of(c.group(4))
                pieces.append(("label", f'{start} t="s"><v>', texts[at]))
            else:
                pieces.append(c.group(0))
        pieces.append("</row>")
    holes = set(values) | set(checks)
    labels = [text for r, c, text in table.strings if (r, c) not in holes]
    protection, merges, conditional, rules, tail = _split_rest(rest)
    found = _VALIDATIONS.match(tail)         # right after the conditional formats, as xlsxwriter writes them
    tail = tail[found.end():] if found else tail
    if "<dataValidations" in tail:
        raise Unstampable("data validations out of their place")
    return FormSheet(
        name=sl.name, part=part, head=head, pieces=_joined(pieces), labels=labels,
        inputs=[(values[at], inputs[at]) for at in (
            (c.row, c.col) for c in sl.cells if not c.computed)],
        totals=[(values[at], *totals[at]) for at in ((c.row, c.col) for c in sl.cells if c.computed)],
        checks=check_cells, cells=cells, protection=protection, merges=merges, conditional=conditional,
        rules=rules, tail=tail, layout=sl, worksheet=ws)


def split_sheet_data(xml: str) -> tuple[str, str, str]:
    """(everything up to and including <sheetData>, the rows, everything after </sheetData>)."""
    m = _SHEET_DATA.search(xml)
    if m is None:
        raise Unstampable("a sheet without cells")
    return xml[:m.start(1)], m.group(1), xml[m.end(1) + len("</sheetData>"):]


def _split_rest(rest: str) -> tuple[list[tuple[str, str]], str, list[tuple[str, list[str]]], int, str]:
    """What follows a form sheet's cells: its protection's attributes, its merged ranges, its
    conditional formats (range and rules), how many rules, and the rest before </worksheet>."""
    m = PROTECTION.match(rest)
    if m is None or not rest.endswith(END):
        raise Unstampable("a form sheet laid out otherwise")
    protection = ATTRIBUTE.findall(m.group(1))
    rest = rest[m.end():-len(END)]
    merges = ""
    found = _MERGES.match(rest)
    if found:
        merges, rest = found.group(0), rest[found.end():]
    conditional = []
    while (found := _CONDITIONAL.match(rest)) is not None:
        conditional.append((found.group(1), _RULE.findall(found.group(2))))
        rest = rest[found.end():]
    rules = sum(len(r) for _, r in conditional)
    if "<conditionalFormatting" in rest or "<legacyDrawing" in rest:
        raise Unstampable("conditional formats or drawings out of their place")
    return protection, merges, conditional, rules, rest


def _formula_of(inner: str | None) -> str:
    m = re.match(r"(<f>.*?</f>)<v>", inner or "", re.S)
    if m is None:
        raise Unstampable("a formula cell written otherwise")
    return m.group(1)


def _value_of(inner: str | None) -> str:
    m = re.fullmatch(r"<v>([0-9]+)</v>", inner or "")
    if m is None:
        raise Unstampable("a shared string cell written otherwise")
    return m.group(1)


def _joined(pieces: list[Any]) -> list[Any]:
    """Runs of constant text joined into one piece."""
    out: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def sheet_cells(sheet: FormSheet, values: dict, computed: dict, checks: dict, options: WriteOptions,
                 index: Callable[[str], int]) -> dict[tuple[int, int], str]:
    """Each value cell of the sheet as xlsxwriter writes it (the writer's _write_value and totals and
    checks), its texts numbered in the order the writer writes them: the labels first."""
    for text in sheet.labels:
        index(text)
    out: dict[tuple[int, int], str] = {}
    for cell, start in sheet.inputs:
        v = options.raw[cell.id] if cell.id in options.raw else values.get(cell.id)
        out[(cell.row, cell.col)] = _value_xml(start, v, index)
    for cell, start, formula in sheet.totals:
        v = computed[cell.id]
        v = float(v) if isinstance(v, Decimal) else v
        if v.__class__ not in (int, float) or isnan(v) or isinf(v):
            raise Unstampable("a total that is not a finite number")
        out[(cell.row, cell.col)] = f"{start}>{formula}<v>{v}</v></c>"
    for at, start, formula, check in sheet.checks:
        mark = CHECK_OK if checks[(check.sheet, check.row, check.col)] else CHECK_BAD
        out[at] = f'{start} t="str">{formula}<v>{ESCAPE._escape_data(mark)}</v></c>'
    return out


def _value_xml(start: str, v: Any, index: Callable[[str], int]) -> str:
    """An input as the writer's _write_value has xlsxwriter write it."""
    if v is None or v == "":
        return f"{start}/>"
    if isinstance(v, bool):
        return f'{start} t="b"><v>{1 if v else 0}</v></c>'
    if isinstance(v, (int, float, Decimal)):
        number = float(v) if isinstance(v, Decimal) else v
        if number.__class__ not in (int, float) or isnan(number) or isinf(number):
            raise Unstampable("a number that is not finite")
        return f"{start}><v>{number:.16G}</v></c>"
    text = str(v)
    if len(text) > TEXT_KEPT_WHOLE:
        raise Unstampable("a text xlsxwriter may shorten")
    return f'{start} t="s"><v>{index(text)}</v></c>'


def form_sheet_xml(sheet: FormSheet, cells: dict, numbered: dict[str, int], marks: list,
                    protection_hash: dict[str, str], commented: bool, validations: str) -> str:
    """The sheet with its cells; `numbered` holds the shared strings' numbers (its labels were
    numbered, and counted, as they were written: looking them up here counts nothing)."""
    out = [sheet.head]
    for piece in sheet.pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif piece[0] == "value":
            out.append(cells[piece[1]])
        else:
            out.append(f"{piece[1]}{numbered[piece[2]]}</v></c>")
    out.append("</sheetData>")
    out.append(protection_xml(sheet.protection, protection_hash))
    out.append(sheet.merges)
    out.append(_conditional(sheet, marks))
    out.append(validations)
    out.append(sheet.tail)
    if commented:
        out.append('<legacyDrawing r:id="rId1"/>')
    out.append(END)
    return "".join(out)


def validations_xml(sheet: FormSheet, spec: FormSpec, prefilled: dict, options: WriteOptions) -> str:
    """The sheet's <dataValidations> (writer.input_validations), written by xlsxwriter once per set
    of inputs holding text as typed: the same for most returns of a form."""
    key = frozenset(c.id for c in sheet.layout.cells if c.id in options.raw)
    xml = sheet.validations.get(key)
    if xml is None:
        ws = Worksheet()
        for rule, cells in input_validations(spec.layout, sheet.layout, prefilled, options):
            add_validation(ws, rule, cells)
        xml = written(ws._write_data_validations, ws)
        if len(sheet.validations) < KINDS_MAX:
            sheet.validations[key] = xml
    return xml


def protection_xml(attributes: list[tuple[str, str]], protection_hash: dict[str, str]) -> str:
    """The sheet's <sheetProtection>, with the returned file's password hash if it had one
    (feedback._keep_protection_hash)."""
    if protection_hash:
        attributes = [(k, ESCAPE._escape_attributes(v)) for k, v in protection_hash.items()] + \
                     [(k, v) for k, v in attributes if k != "password"]
    return "<sheetProtection" + "".join(f' {k}="{v}"' for k, v in attributes) + "/>"


def _conditional(sheet: FormSheet, marks: list) -> str:
    """The sheet's conditional formats: the checks' and one per marked cell (feedback._annotate),
    in the order they were added, each marked cell's rule numbered after the ones before."""
    blocks = {sqref: list(rules) for sqref, rules in sheet.conditional}
    priority = sheet.rules
    for ref, mark in marks:
        if xl_cell_to_rowcol(ref) not in sheet.cells:
            raise Unstampable("a mark on a cell outside the form's cells")
        priority += 1
        dxf = sheet.dxf_first + (0 if mark.severity == ERROR else 1)
        blocks.setdefault(ref, []).append(
            f'<cfRule type="expression" dxfId="{dxf}" priority="{priority}"><formula>TRUE</formula></cfRule>')
    return "".join(f'<conditionalFormatting sqref="{sqref}">{"".join(rules)}</conditionalFormatting>'
                   for sqref, rules in blocks.items())


def comments_of(sheet: FormSheet, marks: list) -> list[CommentType]:
    """The sheet's comments as xlsxwriter keeps them once placed (Worksheet.write_comment and
    _prepare_vml_objects), in its order."""
    ws = sheet.worksheet
    placed = {}
    for ref, mark in marks:
        row, col = xl_cell_to_rowcol(ref)
        text, options = comment_of(mark)
        if len(text) > TEXT_KEPT_WHOLE:
            raise Unstampable("a comment xlsxwriter may leave out")
        placed[(row, col)] = CommentType(row, col, text, options)
    comments = []
    for at in sorted(placed):
        comment = placed[at]
        comment.vertices = ws._comment_vertices(comment)
        if comment.is_visible is None:
            comment.is_visible = ws.comments_visible
        if comment.author is None:
            comment.author = ws.comments_author
        comments.append(comment)
    return comments


def written(assemble: Callable, writer, *args) -> str:
    """What one of xlsxwriter's part writers writes."""
    buffer = StringIO()
    writer._set_filehandle(buffer)
    assemble(*args)
    return buffer.getvalue()
