"""Feedback workbook: the agency's own returned file, marked up with what to fix.

`write_feedback` loads the returned workbook with openpyxl and saves a copy in which every
offending cell is filled (red for errors, yellow for warnings) and carries a comment with the
finding's Chinese message, plus a sheet 问题清单 that lists every finding. Nothing the agency
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
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

from xltool.fileio import atomic_path
from xltool.findings import ERROR, SEVERITIES, WARNING, Finding, sort_key
from xltool.form.layout import META_SHEET
from xltool.xlsx.model import WorkbookData

FINDINGS_SHEET = "问题清单"
COMMENT_AUTHOR = "xltool 校验"
ERROR_FILL = "FFC7CE"       # Excel's own light red for "bad"
WARNING_FILL = "FFEB9C"     # Excel's own light yellow for "neutral"
SEVERITY_ZH = {ERROR: "错误", WARNING: "警告", "info": "提示"}
LIST_COLUMNS = (("序号", 6), ("严重程度", 10), ("代码", 18), ("工作表", 16), ("单元格", 9),
                ("问题及修改方法", 70), ("English", 60))

# Characters XML 1.0 cannot carry; openpyxl refuses them in cell values, and a comment with
# one would make the file unreadable.
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class _Mark:
    """What goes on one cell: the worst severity and the messages of every finding there."""

    severity: str
    messages: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if SEVERITIES.index(finding.severity) < SEVERITIES.index(self.severity):
            self.severity = finding.severity
        text = f"【{SEVERITY_ZH.get(finding.severity, finding.severity)} {finding.code}】{finding.message}"
        if text not in self.messages:
            self.messages.append(text)


STRUCTURE_CODES = {"layout-shifted", "sheet-missing", "template-outdated", "unknown-form", "unknown-workbook"}


def write_feedback(source: Path | bytes, findings: list[Finding], target: Path, form: str | None = None,
                   workbook: WorkbookData | None = None) -> None:
    """Save the agency's return with the offending cells marked and a 问题清单 sheet added.

    With the form known and its structure intact, the workbook is drawn again from the form's
    template by the writer, holding exactly what the agency typed in every input (text such as
    `14.495万元` stays text; a total typed over is a formula again, its comment says what was
    typed): a tenth of the time of an openpyxl copy. Otherwise the file itself is copied with
    openpyxl and marked up."""
    ordered = sorted(findings, key=sort_key)
    if form is not None and not STRUCTURE_CODES.intersection(f.code for f in ordered):
        _redraw(source, ordered, Path(target), form, workbook)
    else:
        _copy_and_mark(source, ordered, Path(target))


def _redraw(source: Path | bytes, findings: list[Finding], target: Path, form: str,
            workbook: WorkbookData | None) -> None:
    from xltool.checks.rules import parse_number
    from xltool.form.forms import get_spec
    from xltool.generate.batch import generate_one
    from xltool.generate.writer import Agency, WriteOptions
    from xltool.xlsx.read import read_workbook

    spec = get_spec(form)
    data = workbook if workbook is not None else read_workbook(source)   # parsed once, in the pipeline
    meta = data.key_values(META_SHEET) or {}
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
            raw[cell.id] = got.formula
        elif cell.type.numeric:
            number, problem = parse_number(cell.type, got.value)
            if problem is None:
                values[cell.id] = number
            else:
                raw[cell.id] = got.value     # as typed: the cell the comment is about
        else:
            values[cell.id] = got.value
    marks = _marks(findings)
    generate_one(spec, target, agency, WriteOptions(values=values, raw=raw,
                                                    annotate=lambda wb, sheets: _annotate(wb, sheets, marks, findings)))


def _annotate(wb, sheets: dict, marks: dict, findings: list[Finding]) -> None:
    from xltool.xlsx.cells import parse_a1

    fills = {ERROR: wb.add_format({"bg_color": "#" + ERROR_FILL}), WARNING: wb.add_format({"bg_color": "#" + WARNING_FILL})}
    for (sheet_name, ref), mark in marks.items():
        ws = sheets.get(sheet_name)
        if ws is None:
            continue
        row, col = parse_a1(ref)
        # a conditional format that always applies: the cell keeps its own format (lock, number
        # format, borders) and shows the fill on top
        ws.conditional_format(row, col, row, col, {"type": "formula", "criteria": "TRUE",
                                                   "format": fills.get(mark.severity, fills[WARNING])})
        text = _safe_text("\n\n".join(mark.messages))
        ws.write_comment(row, col, text, {"author": COMMENT_AUTHOR, "x_scale": 2.4,
                                          "y_scale": min(1 + len(text) / 60, 6)})
    _findings_sheet_xlsxwriter(wb, findings)


def _findings_sheet_xlsxwriter(wb, findings: list[Finding]) -> None:
    from xltool.generate.writer import DEFAULT_PASSWORD, protect

    ws = wb.add_worksheet(FINDINGS_SHEET)
    errors = sum(f.severity == ERROR for f in findings)
    warnings_ = sum(f.severity == WARNING for f in findings)
    title = wb.add_format({"bold": True, "font_size": 14})
    grey = wb.add_format({"font_color": "#595959"})
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1, "border_color": "#BFBFBF"})
    body = wb.add_format({"text_wrap": True, "valign": "top", "border": 1, "border_color": "#BFBFBF"})
    sev = {s: wb.add_format({"text_wrap": True, "valign": "top", "border": 1, "border_color": "#BFBFBF",
                             "bg_color": "#" + colour}) for s, colour in ((ERROR, ERROR_FILL), (WARNING, WARNING_FILL))}
    # write_string everywhere: agency text quoted in messages never becomes a formula
    ws.merge_range(0, 0, 0, len(LIST_COLUMNS) - 1, _safe_text(
        f"需要修改的问题：错误 {errors} 处（红色），警告 {warnings_} 处（黄色）"), title)
    ws.merge_range(1, 0, 1, len(LIST_COLUMNS) - 1, _safe_text(
        "请在各工作表中修改标出的格子（鼠标移到格子上可看批注），保存为 .xlsx 后重新报送本文件。本工作表无需修改。"
        " / Fix the marked cells (hover for the note), save as .xlsx and return this file."), grey)
    header_row = 3
    for col, (name, width) in enumerate(LIST_COLUMNS):
        ws.write_string(header_row, col, name, head)
        ws.set_column(col, col, width)
    for i, f in enumerate(findings, start=1):
        cells = (str(i), SEVERITY_ZH.get(f.severity, f.severity), f.code, f.sheet or "", f.cell or "",
                 f.message, f.message_en)
        for col, text in enumerate(cells):
            ws.write_string(header_row + i, col, _safe_text(text), sev.get(f.severity, body) if col == 1 else body)
    if not findings:
        ws.write_string(header_row + 1, 0, "没有发现问题。 / No findings.")
    ws.freeze_panes(header_row + 1, 0)
    protect(ws, DEFAULT_PASSWORD)
    ws.activate()   # the file opens on the list


def _copy_and_mark(source: Path | bytes, ordered: list[Finding], target: Path) -> None:
    """A copy of `source` itself (its structure is not the template's) with the offending cells
    marked and a 问题清单 sheet added."""
    import openpyxl

    # A file object, not the path: openpyxl refuses names it does not know (a .xls that is
    # really an .xlsx, which the guard lets through with a warning).
    with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
        wb = openpyxl.load_workbook(fh, keep_vba=False, rich_text=False)
    for (sheet_name, ref), mark in _marks(ordered).items():
        if sheet_name in wb.sheetnames:
            _mark_cell(wb[sheet_name], ref, mark)
    _add_findings_sheet(wb, ordered)
    _save_atomic(wb, Path(target))


def _save_atomic(wb, target: Path) -> None:
    with atomic_path(target) as tmp:
        wb.save(tmp)


def _marks(findings: list[Finding]) -> dict[tuple[str, str], _Mark]:
    """Per (sheet, A1 cell), what to show there. A finding with `all_cells` (blank cells, say)
    marks each listed cell, not only the first."""
    marks: dict[tuple[str, str], _Mark] = {}
    for f in findings:
        if not f.sheet:
            continue
        for ref in _cells_of(f):
            marks.setdefault((f.sheet, ref), _Mark(f.severity)).add(f)
    return marks


def _cells_of(finding: Finding) -> list[str]:
    listed = finding.args.get("all_cells")
    refs = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
    if finding.cell and finding.cell not in refs:
        refs.insert(0, finding.cell)
    return [r.replace("$", "").upper() for r in refs if _is_a1(r)]


def _is_a1(ref: str) -> bool:
    return bool(re.fullmatch(r"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}", ref))


def _mark_cell(ws, ref: str, mark: _Mark) -> None:
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    cell = ws[ref]
    if isinstance(cell, MergedCell):  # the value, fill and comment of a merge live on its first cell
        cell = _merge_anchor(ws, cell)
    colour = ERROR_FILL if mark.severity == ERROR else WARNING_FILL
    # Only the fill changes: the cell's lock, number format and borders are kept as they were.
    cell.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
    text = _safe_text("\n\n".join(mark.messages))
    comment = Comment(text, COMMENT_AUTHOR)
    comment.width = 360
    comment.height = min(60 + 18 * (len(text) // 22 + text.count("\n")), 400)
    cell.comment = comment


def _merge_anchor(ws, cell):
    for rng in ws.merged_cells.ranges:
        if cell.coordinate in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return cell


def _add_findings_sheet(wb, findings: list[Finding]) -> None:
    """The list of all findings, first among the tabs and the one the file opens on."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    if FINDINGS_SHEET in wb.sheetnames:  # feedback on a feedback workbook: the old list goes
        del wb[FINDINGS_SHEET]
    ws = wb.create_sheet(FINDINGS_SHEET, 0)
    errors = sum(f.severity == ERROR for f in findings)
    warnings_ = sum(f.severity == WARNING for f in findings)
    _put(ws, 1, 1, f"需要修改的问题：错误 {errors} 处（红色），警告 {warnings_} 处（黄色）", Font(bold=True, size=14))
    _put(ws, 2, 1, "请在各工作表中修改标出的格子（鼠标移到格子上可看批注），保存为 .xlsx 后重新报送本文件。"
                   "本工作表无需修改。 / Fix the marked cells (hover for the note), save as .xlsx and return this file.",
         Font(color="595959"))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(LIST_COLUMNS))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(LIST_COLUMNS))
    thin = Side(style="thin", color="BFBFBF")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_row = 4
    for col, (title, width) in enumerate(LIST_COLUMNS, start=1):
        c = _put(ws, header_row, col, title, Font(bold=True))
        c.fill = PatternFill(fill_type="solid", start_color="F2F2F2", end_color="F2F2F2")
        c.border = box
        ws.column_dimensions[c.column_letter].width = width
    for i, f in enumerate(findings, start=1):
        row = header_row + i
        colour = ERROR_FILL if f.severity == ERROR else WARNING_FILL if f.severity == WARNING else None
        values = (str(i), SEVERITY_ZH.get(f.severity, f.severity), f.code, f.sheet or "", f.cell or "",
                  f.message, f.message_en)
        for col, value in enumerate(values, start=1):
            c = _put(ws, row, col, value)
            c.alignment = Alignment(wrap_text=True, vertical="top")
            c.border = box
            if colour and col == 2:
                c.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
    if not findings:
        _put(ws, header_row + 1, 1, "没有发现问题。 / No findings.")
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    _protect_like_the_form(wb, ws)
    _open_on(wb, ws)


def _put(ws, row: int, col: int, text: str, font=None):
    """Write text as a string cell, never a formula, even when it starts with = + - @."""
    c = ws.cell(row, col)
    c.value = _safe_text(text)
    c.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    if font is not None:
        c.font = font
    return c


def _safe_text(text: str) -> str:
    return _ILLEGAL_XML_CHARS.sub("\ufffd", str(text))


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
