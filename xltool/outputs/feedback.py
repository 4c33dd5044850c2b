"""Feedback workbook: the agency's own returned file, marked up with what to fix.

`write_feedback` saves a workbook in which every offending cell is filled (red for errors,
yellow for warnings) and carries a comment with the finding's Chinese message, plus a sheet
问题清单 that lists every finding: the form's template drawn again (or stamped) with what the
agency typed, or, for a file not of the form's structure, an openpyxl copy of it. Nothing the agency
typed is changed, and sheet protection, the very hidden `_xltool` sheet, data validation and
the template's formulas stay as they were: the agency fixes this very file and returns it,
and ingest reads it like any other return (it only reads the form's own sheets, so the added
sheet and the comments are ignored).

Text in the list comes partly from the agency (what they typed is quoted in messages), so it is
always written as a plain string, never as a formula, whatever character it starts with.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from copy import copy
from pathlib import Path

from xltool.checks.bounds import DEFAULT_MAX_LENGTH, max_length, role_limits
from xltool.checks.rules import parse_number
from xltool.fileio import atomic_path, write_atomic
from xltool.findings import ERROR, Finding, sort_key
from xltool.form.forms import get_spec
from xltool.form.layout import META_SHEET
from xltool.generate.batch import generate_one
from xltool.generate.writer import Agency, WriteOptions, workbook_bytes
from xltool.outputs.feedback_marks import COMMENT_AUTHOR, Mark, annotate_for, marks_of
from xltool.outputs.feedback_stamp import stamped_feedback
from xltool.outputs.findings_sheet import (
    ERROR_FILL,
    WARNING_FILL,
    safe_text,
    write_with_openpyxl,
)
from xltool.xlsx.model import WorkbookData
from xltool.xlsx.read import read_workbook

STRUCTURE_CODES = {"layout-shifted", "sheet-missing", "template-outdated", "unknown-form", "unknown-workbook"}


def write_feedback(source: Path | bytes, findings: list[Finding], target: Path, form: str | None = None,
                   workbook: WorkbookData | None = None, fsync: bool = True) -> None:
    """Save the agency's return with the offending cells marked and a 问题清单 sheet added.

    With the form known and its structure intact, the workbook is drawn again from the form's
    template by the writer, holding exactly what the agency typed in every input (text such as
    `14.495万元` stays text; a total typed over is a formula again, its comment says what was
    typed): a tenth of the time of an openpyxl copy; most such workbooks are stamped from the
    form's drawing taken apart (feedback_stamp), the same bytes again in a third of the time.
    Otherwise the file itself is copied with
    openpyxl and marked up. With fsync=False a drawn workbook is left for the caller to flush to
    disk (ingest syncs the output folder once per batch of files)."""
    ordered = sorted(findings, key=sort_key)
    if form is not None and not STRUCTURE_CODES.intersection(f.code for f in ordered):
        _redraw(source, ordered, Path(target), form, workbook, fsync)
    else:
        _copy_and_mark(source, ordered, Path(target))


def _redraw(source: Path | bytes, findings: list[Finding], target: Path, form: str,
            workbook: WorkbookData | None, fsync: bool = True) -> None:

    spec = get_spec(form)
    data = workbook if workbook is not None else read_workbook(source)   # parsed once, in the pipeline
    # what the return says is cut to the limits the checks reported (bounds.py): never copied whole
    limits = role_limits(spec)
    meta = {k: v[:limits.get(k, DEFAULT_MAX_LENGTH["text"])] for k, v in (data.key_values(META_SHEET) or {}).items()}
    year = meta.get("year", "")
    agency = Agency(meta.get("agency") or None, int(year) if year.isdigit() else None,
                    meta.get("region") or None, meta.get("code") or None)
    prefilled = {role for role, v in agency.prefill().items() if v not in (None, "")}
    values: dict = {}
    raw: dict = {}
    for cell in spec.layout.inputs():
        if cell.role in prefilled:
            continue
        sheet = data.sheets.get(cell.sheet)
        got = sheet.get(cell.row, cell.col) if sheet else None
        if got is None or (got.value is None and got.formula is None):
            continue
        if got.formula is not None:          # kept as the text it is, never as a formula
            raw[cell.id] = got.formula[:DEFAULT_MAX_LENGTH["text"]]
        elif cell.type.numeric:
            number, problem = parse_number(cell.type, got.value)
            if problem is None:
                values[cell.id] = number
            else:
                raw[cell.id] = _cut(got.value, DEFAULT_MAX_LENGTH["text"])   # as typed: the comment is about it
        else:
            values[cell.id] = _cut(got.value, max_length(cell.type))
    marks = marks_of(findings)
    returned_hash = _returned_protection(data, spec)
    options = WriteOptions(values=values, raw=raw, annotate=annotate_for(marks, findings, returned_hash))
    stamp = stamped_feedback(spec, agency, options, marks, findings, returned_hash,
                             draw=lambda: workbook_bytes(spec, agency, options))
    if stamp is None:
        generate_one(spec, target, agency, options, fsync=fsync)
    else:
        write_atomic(target, stamp, fsync=fsync)


def _returned_protection(data: WorkbookData, spec) -> dict[str, str]:
    """The password hash the returned workbook's form sheets are protected with (the template's,
    set by `generate --password`), or {} when they carry none."""
    for sheet in spec.sheets:
        got = data.sheets.get(sheet.name)
        if got is not None and got.protection_hash:
            return dict(got.protection_hash)
    return {}


def _cut(value, limit: int):
    return value[:limit] if isinstance(value, str) else value


def _copy_and_mark(source: Path | bytes, ordered: list[Finding], target: Path) -> None:
    """A copy of `source` itself (its structure is not the template's) with the offending cells
    marked and a 问题清单 sheet added."""
    import openpyxl  # openpyxl is slow to import: only for what the fast paths do not cover

    # A file object, not the path: openpyxl refuses names it does not know (a .xls that is
    # really an .xlsx, which the guard lets through with a warning).
    with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
        wb = openpyxl.load_workbook(fh, keep_vba=False, rich_text=False)
    _cut_long_texts(wb)
    for (sheet_name, ref), mark in marks_of(ordered).items():
        if sheet_name in wb.sheetnames:
            _mark_cell(wb[sheet_name], ref, mark)
    ws = write_with_openpyxl(wb, ordered)
    _protect_like_the_form(wb, ws)
    _open_on(wb, ws)
    _save_atomic(wb, Path(target))


EXCEL_CELL_CHARS = 32_767      # the most a cell holds in Excel: a longer text makes the file need repair


def _cut_long_texts(wb) -> None:
    """Texts longer than a cell may hold, cut: the copy opens in Excel, and a return's 7 MB string is
    not copied whole into what goes back (its cells are unknown here: the structure is not the form's)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and len(cell.value) > EXCEL_CELL_CHARS:
                    cell.value = cell.value[:EXCEL_CELL_CHARS]


def _save_atomic(wb, target: Path) -> None:
    buffer = io.BytesIO()
    wb.save(buffer)
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(_excel_font_order(buffer.getvalue()))


# The order Excel writes (and the Open XML SDK validates) a font's children in; openpyxl writes
# name first, which Excel accepts but validators report as a schema error in xl/styles.xml.
_FONT_CHILDREN = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color",
                  "name", "family", "charset", "scheme")
_FONT = re.compile(rb"<font>(.*?)</font>", re.S)
_EMPTY_ELEMENT = re.compile(rb"<(\w+)\b[^>]*/>")


def _excel_font_order(package: bytes) -> bytes:
    """The saved package with every <font> in xl/styles.xml listing its children in Excel's order."""

    def reorder(m: re.Match) -> bytes:
        children = _EMPTY_ELEMENT.findall(m.group(1))
        elements = [e.group(0) for e in _EMPTY_ELEMENT.finditer(m.group(1))]
        if b"".join(elements) != m.group(1).strip():     # not the plain shape openpyxl writes: leave it
            return m.group(0)
        rank = {name: i for i, name in enumerate(_FONT_CHILDREN)}
        ordered = sorted(zip(children, elements), key=lambda ce: rank.get(ce[0].decode(), len(rank)))
        return b"<font>" + b"".join(e for _, e in ordered) + b"</font>"

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/styles.xml":
                data = _FONT.sub(reorder, data)
            dst.writestr(info, data)
    return out.getvalue()


def _mark_cell(ws, ref: str, mark: Mark) -> None:
    from openpyxl.cell.cell import MergedCell  # openpyxl is slow to import: only for what the fast paths do not cover
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    cell = ws[ref]
    if isinstance(cell, MergedCell):  # the value, fill and comment of a merge live on its first cell
        cell = _merge_anchor(ws, cell)
    colour = ERROR_FILL if mark.severity == ERROR else WARNING_FILL
    # Only the fill changes: the cell's lock, number format and borders are kept as they were.
    cell.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
    text = safe_text("\n\n".join(mark.messages))
    comment = Comment(text, COMMENT_AUTHOR)
    comment.width = 360
    comment.height = min(60 + 18 * (len(text) // 22 + text.count("\n")), 400)
    cell.comment = comment


def _merge_anchor(ws, cell):
    for rng in ws.merged_cells.ranges:
        if cell.coordinate in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return cell


def _protect_like_the_form(wb, ws) -> None:
    """Lock the list with the same protection (and password hash) as the form's sheets, so it
    reads as part of the returned file and cannot be edited by mistake."""
    for other in wb.worksheets:
        if other is not ws and other.protection.sheet:
            ws.protection = copy(other.protection)
            return


def _open_on(wb, ws) -> None:
    # openpyxl keeps each sheet's own "selected" flag: clear them all, or Excel opens with
    # several sheets grouped and every edit goes to all of them.
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = wb.worksheets.index(ws)
