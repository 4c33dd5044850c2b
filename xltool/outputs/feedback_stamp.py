"""Feedback workbooks stamped from one drawing per form, instead of drawn one by one.

A feedback workbook (outputs.feedback) is the form's template drawn again with what the agency
typed, its offending cells marked and commented, the list of findings and the hidden sheet.
Drawing one with xlsxwriter takes some 9 ms: a fifth of ingest's time when one return in five is
rejected. Most of it is the same for every workbook of a form (layout, formats, validations, page
setup, names, styles); what differs is regular: the values in the cells and the shared strings
they number, the totals and checks, the marks (a conditional format and a comment per cell), the
rows of the list, the agency's details and the password hash the sheets are protected with.

So a form's feedback is drawn once per process and kind (form, details given) and taken apart
into `_Base`, and each workbook is put together from those pieces and the return's own values:
cells as xlsxwriter writes them (generate.cell_table), shared strings numbered and written by
xlsxwriter's own table, comments and their boxes by xlsxwriter's own writers.

A stamp is what the writer draws, byte for byte but for the time of writing
(tests/outputs/test_feedback_stamp.py): the first workbook of each kind in a process, with
comments and without, is drawn as well and compared, and a kind whose stamp differs is drawn from
then on. A workbook holding what a stamp does not take (a mark on a cell outside the form's
cells, a text xlsxwriter would shorten, a number that is not finite) is drawn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xlsxwriter.comments import Comments, CommentType
from xlsxwriter.relationships import Relationships
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.vml import Vml

from xltool.findings import ERROR, WARNING, Finding
from xltool.form.spec import FormSpec
from xltool.generate.cell_table import TEXT_KEPT_WHOLE
from xltool.generate.package_parts import parts, same_drawing, zipped
from xltool.generate.writer import (
    Agency,
    WriteOptions,
    cell_values,
    drawn,
    meta_items,
)
from xltool.outputs.feedback_marks import annotate_for
from xltool.outputs.findings_sheet import COLUMNS, HEADER_ROW, SEVERITY_COLUMN, plan_findings_sheet, safe_text
from xltool.outputs.stamped_form_sheet import (
    ATTRIBUTE,
    CELL,
    ESCAPE,
    KINDS_MAX,
    PROTECTION,
    ROW,
    FormSheet,
    Unstampable,
    comments_of,
    form_sheet_xml,
    protection_xml,
    sheet_cells,
    split_sheet_data,
    take_sheet,
    validations_xml,
    written,
)

_MARK = "\ue000xltool-feedback-author\ue001"     # the author's name in the base's core.xml

_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_LETTERS = [xl_col_to_name(i) for i in range(len(COLUMNS))]      # the list's columns, A to G
_WRITTEN_AT = re.compile(r"(<dcterms:(?:created|modified) [^>]*>)[^<]*(</dcterms:)")


@dataclass
class _Base:
    """A form's feedback workbook, drawn once and taken apart."""

    names: list[str]                    # the parts, in the package's order
    constant: dict[str, bytes]
    form_sheets: list[FormSheet]
    findings_part: str
    findings_head: str
    findings_tail: str
    findings_formats: dict[str, int]    # title, note, head, body, and a fill per severity: xf index
    meta_part: str
    meta_head: str
    meta_rows: list[str]                # each row's start tag
    meta_tail: str
    workbook: str
    core: str
    content_types: str
    styles: dict[bool, bytes | None]    # with comments or not: the drawn styles part
    checked: dict[bool, bool | None] = field(default_factory=lambda: {False: None, True: None})

    @property
    def shared_parts(self) -> frozenset[str]:
        """The parts most workbooks of the form have byte for byte the same."""
        return frozenset(self.constant) | {"xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"} | {
            f"xl/worksheets/_rels/sheet{n}.xml.rels" for n in range(1, len(self.form_sheets) + 1)}


_BASES: dict[tuple, _Base | None] = {}


def stamped_feedback(spec: FormSpec, agency: Agency, options: WriteOptions, marks: dict, findings: list[Finding],
                     protection_hash: dict[str, str], draw: Callable[[], bytes]) -> bytes | None:
    """The feedback workbook for these values, marks and findings, stamped; None when it must be
    drawn. `draw` draws the same workbook with the writer, for the check of a kind's first stamp."""
    prefilled = frozenset(k for k, v in agency.prefill().items() if v not in (None, ""))
    kind = (id(spec.layout), spec.layout.fingerprint, prefilled)
    if kind not in _BASES:
        if len(_BASES) >= KINDS_MAX:
            _BASES.clear()
        try:
            _BASES[kind] = _take_apart(spec, agency)
        except Exception:       # noqa: BLE001  a drawing laid out otherwise than this module knows: drawn
            _BASES[kind] = None
    base = _BASES[kind]
    if base is None or not findings:
        return None
    form_sheets = {s.name for s in base.form_sheets}
    with_comments = any(sheet in form_sheets for sheet, _ in marks)
    if base.checked[with_comments] is False:
        return None
    first = base.checked[with_comments] is None
    drawing = draw() if first else None
    if first and with_comments:
        base.styles[True] = dict(parts(drawing)).get("xl/styles.xml")
    try:
        stamp = _stamp(base, spec, agency, options, marks, findings, protection_hash)
    except MemoryError:
        raise
    except Exception:           # noqa: BLE001  Unstampable, or a stamp gone wrong: the writer draws it
        return drawing
    if first:
        base.checked[with_comments] = same_drawing(stamp, drawing)
        return drawing
    return stamp


def forget() -> None:
    """Draw and check every kind anew (tests)."""
    _BASES.clear()


# ---- taking a drawing apart

def _take_apart(spec: FormSpec, agency: Agency) -> _Base:
    """Draw the form's feedback with marks for the agency's details and two findings without a cell
    (one per severity, so the list's formats all show), and take it apart."""
    marked = Agency(_MARK if agency.name else None, agency.year, agency.region and _MARK + "r",
                    agency.code and _MARK + "c")
    findings = [Finding("stamp-base", ERROR, None, None), Finding("stamp-base", WARNING, None, None)]
    drawn_sheets: dict[str, Any] = {}
    annotate = annotate_for({}, findings, {})

    def keep(wb, sheets):
        drawn_sheets.update(sheets)
        annotate(wb, sheets)
    data = drawn(spec, marked, WriteOptions(annotate=keep), cell_table=True)
    named = dict(parts(data))
    names = list(named)
    sheet_parts = [n for n in names if re.fullmatch(r"xl/worksheets/sheet[0-9]+\.xml", n)]
    layout = spec.layout
    if len(sheet_parts) != len(layout.sheets) + 2:
        raise Unstampable("sheets other than the form's, the list and the hidden sheet")
    form_sheets = [take_sheet(sl, part, named[part].decode("utf-8"), drawn_sheets[sl.name])
                   for sl, part in zip(layout.sheets, sheet_parts, strict=False)]
    # the marks' fills are numbered after the checks' formats (feedback._annotate numbers them at once)
    dxf_first = len({d for sheet in form_sheets for _, rules in sheet.conditional for r in rules
                     for d in re.findall(r'dxfId="([0-9]+)"', r)})
    for sheet in form_sheets:
        sheet.dxf_first = dxf_first
    findings_part, meta_part = sheet_parts[-2], sheet_parts[-1]
    findings_xml = named[findings_part].decode("utf-8")
    head, _, tail = split_sheet_data(findings_xml)
    formats = _findings_formats(findings_xml)
    meta_xml = named[meta_part].decode("utf-8")
    meta_head, meta_data, meta_tail = split_sheet_data(meta_xml)
    meta_rows = [f"<row {m.group(1)}>" for m in ROW.finditer(meta_data)]
    variable = {"[Content_Types].xml", "xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml",
                "docProps/core.xml", *sheet_parts}
    if any(n.startswith(("xl/comments", "xl/drawings/", "xl/worksheets/_rels/")) for n in names):
        raise Unstampable("comments in the base")
    return _Base(names=names, constant={n: named[n] for n in names if n not in variable},
                 form_sheets=form_sheets, findings_part=findings_part, findings_head=head,
                 findings_tail=tail, findings_formats=formats, meta_part=meta_part, meta_head=meta_head,
                 meta_rows=meta_rows, meta_tail=meta_tail, workbook=named["xl/workbook.xml"].decode("utf-8"),
                 core=named["docProps/core.xml"].decode("utf-8"),
                 content_types=named["[Content_Types].xml"].decode("utf-8"),
                 styles={False: named["xl/styles.xml"], True: None})


def _findings_formats(xml: str) -> dict[str, int]:
    """The formats of the list (fixed by findings_sheet.write_with_xlsxwriter): the title's, the
    note's, the header's, the body's, and the severity fill of each finding's row."""
    style = {c.group(1): int(c.group(2)[4:-1]) for c in CELL.finditer(xml) if c.group(2)}
    first = HEADER_ROW + 2          # the base's rows: an error, then a warning
    column = _LETTERS[SEVERITY_COLUMN]
    return {"title": style["A1"], "note": style["A2"], "head": style[f"A{HEADER_ROW + 1}"],
            "body": style[f"A{first}"], ERROR: style[f"{column}{first}"], WARNING: style[f"{column}{first + 1}"]}


# ---- putting a workbook together

def _stamp(base: _Base, spec: FormSpec, agency: Agency, options: WriteOptions, marks: dict,
           findings: list[Finding], protection_hash: dict[str, str]) -> bytes:
    strings = SharedStringTable()
    index = strings._get_shared_string_index
    prefilled, values, computed, checks = cell_values(spec.layout, agency, options)
    made: dict[str, str] = {}
    marked = {s.name: [] for s in base.form_sheets}
    for (sheet, ref), mark in marks.items():
        if sheet in marked:
            marked[sheet].append((ref, mark))
    commented: list[tuple[FormSheet, list[CommentType]]] = []
    for sheet in base.form_sheets:
        cells = sheet_cells(sheet, values, computed, checks, options, index)
        comments = comments_of(sheet, marked[sheet.name])
        if comments:
            commented.append((sheet, comments))
        made[sheet.part] = form_sheet_xml(sheet, cells, strings.string_table, marked[sheet.name],
                                           protection_hash, bool(comments),
                                           validations_xml(sheet, spec, prefilled, options))
    plan = plan_findings_sheet(findings)
    made[base.findings_part] = _findings_xml(base, plan, index, protection_hash)
    made[base.meta_part] = _meta_xml(base, spec, agency, index)
    made["xl/workbook.xml"] = re.sub(
        rf"(<definedName name=\"_xlnm.Print_Area\" localSheetId=\"{len(base.form_sheets)}\">[^<]*\$)([0-9]+)(<)",
        lambda m: f"{m.group(1)}{plan.last_row + 1}{m.group(3)}", base.workbook)
    made["docProps/core.xml"] = _core(base.core, agency)
    strings._sort_string_data()
    sst = SharedStrings()
    sst.string_table = strings
    made["xl/sharedStrings.xml"] = written(sst._assemble_xml_file, sst)
    styles = base.styles[bool(commented)]
    if styles is None:
        raise Unstampable("no drawing with comments seen yet")
    extra = _comment_parts(commented, base)
    made["[Content_Types].xml"] = _content_types(base.content_types, len(commented))
    named: list[tuple[str, bytes]] = []
    for name in base.names:
        if name == "docProps/core.xml":
            named.extend((n, d.encode("utf-8")) for n, d in extra["before_core"])
        if name == "xl/styles.xml":
            named.append((name, styles))
        elif name in made:
            named.append((name, made[name].encode("utf-8")))
        else:
            named.append((name, base.constant[name]))
        if name == "xl/workbook.xml":
            named.extend((n, d.encode("utf-8")) for n, d in extra["after_workbook"])
    # what the workbooks of a form share, and what few of them differ in, is compressed once
    return zipped(named, base.shared_parts)


def _comment_parts(commented: list, base: _Base) -> dict[str, list[tuple[str, str]]]:
    """The VML drawings and comments parts (before the styles), and each commented sheet's
    relationships (before docProps/core.xml), numbered as xlsxwriter numbers them."""
    vml_parts, comment_parts, rels = [], [], []
    data_id, shape_id = 1, 1024
    for n, (sheet, comments) in enumerate(commented, start=1):
        count = len(comments)
        ids = data_id if count < 1024 else ",".join(str(data_id + i) for i in range(count // 1024 + 1))
        vml = Vml()
        vml_parts.append((f"xl/drawings/vmlDrawing{n}.vml", written(vml._assemble_xml_file, vml, ids, shape_id,
                                                                       comments, [])))
        xml = Comments()
        comment_parts.append((f"xl/comments{n}.xml", written(xml._assemble_xml_file, xml, comments)))
        links = Relationships()
        links._add_document_relationship("/vmlDrawing", f"../drawings/vmlDrawing{n}.vml")
        links._add_document_relationship("/comments", f"../comments{n}.xml")
        number = sheet.part[len("xl/worksheets/sheet"):-len(".xml")]
        rels.append((f"xl/worksheets/_rels/sheet{number}.xml.rels", written(links._assemble_xml_file, links)))
        data_id += (1024 + count) // 1024
        shape_id += 1024 * ((1024 + count) // 1024)
    return {"after_workbook": vml_parts + comment_parts, "before_core": rels}


def _content_types(base: str, comment_files: int) -> str:
    if not comment_files:
        return base
    vml = '<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
    xml_default = '<Default Extension="xml" ContentType="application/xml"/>'
    comments = "".join(f'<Override PartName="/xl/comments{n}.xml" ContentType="application/vnd.openxmlformats-'
                       f'officedocument.spreadsheetml.comments+xml"/>' for n in range(1, comment_files + 1))
    shared = '<Override PartName="/xl/sharedStrings.xml"'
    return base.replace(xml_default, xml_default + vml, 1).replace(shared, comments + shared, 1)


def _findings_xml(base: _Base, plan, index: Callable[[str], int], protection_hash: dict[str, str]) -> str:
    """The list of findings (findings_sheet.write_with_xlsxwriter), its rows as xlsxwriter writes them."""
    f = base.findings_formats
    columns = _LETTERS
    width = len(columns)

    def text_cell(row: int, col: int, text: str, style: int) -> tuple[int, str]:
        if len(text) > TEXT_KEPT_WHOLE:
            raise Unstampable("a text xlsxwriter may shorten")
        return col, f'<c r="{columns[col]}{row + 1}" s="{style}" t="s"><v>{index(text)}</v></c>'

    def merged_row(row: int, text: str, style: int) -> list[tuple[int, str]]:
        first = text_cell(row, 0, safe_text(text), style)
        return [first] + [(col, f'<c r="{columns[col]}{row + 1}" s="{style}"/>') for col in range(1, width)]

    numbered = {0: merged_row(0, plan.title, f["title"]), 1: merged_row(1, plan.note, f["note"])}
    numbered[HEADER_ROW] = [text_cell(HEADER_ROW, col, name, f["head"]) for col, (name, _) in enumerate(COLUMNS)]
    for i, (cells, severity) in enumerate(plan.rows, start=1):
        numbered[HEADER_ROW + i] = [
            text_cell(HEADER_ROW + i, col, text, f.get(severity, f["body"]) if col == SEVERITY_COLUMN else f["body"])
            for col, text in enumerate(cells)]
    spans: dict[int, tuple[int, int]] = {}      # per block of 16 rows (worksheet._calculate_spans)
    for r, cells in numbered.items():
        cols = [c for c, _ in cells]
        low, high = spans.get(r // 16, (min(cols), max(cols)))
        spans[r // 16] = (min(low, *cols), max(high, *cols))
    body = "".join(f'<row r="{r + 1}" spans="{spans[r // 16][0] + 1}:{spans[r // 16][1] + 1}">'
                   + "".join(x for _, x in numbered[r]) + "</row>" for r in sorted(numbered))
    head = _DIMENSION.sub(f'<dimension ref="A1:{_LETTERS[-1]}{plan.last_row + 1}"/>', base.findings_head, count=1)
    tail = base.findings_tail
    m = PROTECTION.search(tail)
    if m is not None:
        tail = tail[:m.start()] + protection_xml(ATTRIBUTE.findall(m.group(1)), protection_hash) + tail[m.end():]
    return head + body + "</sheetData>" + tail


def _meta_xml(base: _Base, spec: FormSpec, agency: Agency, index: Callable[[str], int]) -> str:
    """The hidden sheet (writer._write_meta): a key and a value per row, with no format."""
    out = [base.meta_head]
    items = meta_items(spec, agency)
    if len(items) != len(base.meta_rows):
        raise Unstampable("a hidden sheet of another length")
    for i, ((key, value), start) in enumerate(zip(items, base.meta_rows, strict=True), start=1):
        if len(str(value)) > TEXT_KEPT_WHOLE:
            raise Unstampable("a text xlsxwriter may shorten")
        key_cell = f'<c r="A{i}" t="s"><v>{index(key)}</v></c>'      # the key is written first
        cell = (f'<c r="B{i}"><v>{value:.16G}</v></c>' if isinstance(value, int)
                else f'<c r="B{i}" t="s"><v>{index(str(value))}</v></c>')
        out.append(f"{start}{key_cell}{cell}</row>")
    out.append("</sheetData>")
    out.append(base.meta_tail)
    return "".join(out)


def _core(core: str, agency: Agency) -> str:
    """docProps/core.xml: the agency's name as the author, written now."""
    if agency.name:
        core = core.replace(_MARK, ESCAPE._escape_control_characters(ESCAPE._escape_data(agency.name)))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _WRITTEN_AT.sub(lambda m: f"{m.group(1)}{now}{m.group(2)}", core)


