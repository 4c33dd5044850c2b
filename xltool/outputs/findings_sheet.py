"""The 问题清单 sheet of a feedback workbook: what it says, decided once, and two thin writers.

A feedback workbook is either drawn again by xlsxwriter (the form's template with the agency's
values) or copied with openpyxl (a return whose structure is not the template's). Both carry the
same list: `plan_findings_sheet` decides its text, columns, colours and print setup; the two
writers only translate that plan into their library's calls. Every value is written as a string,
so text quoted from a return never becomes a formula.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xltool.findings import ERROR, SEVERITY_ZH, WARNING, Finding

FINDINGS_SHEET = "问题清单"
ERROR_FILL = "FFC7CE"       # Excel's own light red for "bad"
WARNING_FILL = "FFEB9C"     # Excel's own light yellow for "neutral"
HEADER_FILL = "F2F2F2"
BORDER = "BFBFBF"
NOTE_COLOUR = "595959"
FILLS = {ERROR: ERROR_FILL, WARNING: WARNING_FILL}
COLUMNS = (("序号", 5), ("严重程度", 8), ("问题", 20), ("工作表", 14), ("单元格", 8),
           ("问题及修改方法", 60), ("English", 45))
SEVERITY_COLUMN = 1         # the column whose fill shows the severity
HEADER_ROW = 3              # 0-based: title, note, a blank row, then the header

# Characters XML 1.0 cannot carry; a cell or comment with one would make the file unreadable.
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def safe_text(text: object) -> str:
    return _ILLEGAL_XML_CHARS.sub("\ufffd", str(text))


@dataclass(frozen=True)
class FindingsSheetPlan:
    title: str
    note: str
    rows: list[tuple[tuple[str, ...], str]]     # (cells, severity) per finding, in order

    @property
    def last_row(self) -> int:
        return HEADER_ROW + max(len(self.rows), 1)


def plan_findings_sheet(findings: list[Finding]) -> FindingsSheetPlan:
    errors = sum(f.severity == ERROR for f in findings)
    warnings_ = sum(f.severity == WARNING for f in findings)
    rows = [(tuple(safe_text(v) for v in _row(i, f)), f.severity) for i, f in enumerate(findings, start=1)]
    if not findings:
        rows = [(("没有发现问题。 / No findings.",), "")]
    return FindingsSheetPlan(
        title=f"需要修改的问题：错误 {errors} 处（红色），警告 {warnings_} 处（黄色）",
        note="请在各工作表中修改标出的格子（鼠标移到格子上可看批注），保存为 .xlsx 后重新报送本文件。本工作表无需修改。"
             " / Fix the marked cells (hover for the note), save as .xlsx and return this file.",
        rows=rows)


def _row(i: int, f: Finding) -> tuple[str, ...]:
    """One row: the title a clerk reads, the stable code after it in brackets."""
    return (str(i), SEVERITY_ZH.get(f.severity, f.severity), f"{f.title}\n({f.code})", f.sheet or "", f.cell or "",
            f.message, f.message_en)


# --- the writers ------------------------------------------------------------------------------------

def write_with_xlsxwriter(wb, findings: list[Finding], protect) -> None:
    """Add the sheet to an xlsxwriter Workbook; `protect(ws)` locks it like the form's sheets."""
    plan = plan_findings_sheet(findings)
    ws = wb.add_worksheet(FINDINGS_SHEET)
    border = {"border": 1, "border_color": "#" + BORDER}
    title = wb.add_format({"bold": True, "font_size": 14})
    note = wb.add_format({"font_color": "#" + NOTE_COLOUR})
    head = wb.add_format({"bold": True, "bg_color": "#" + HEADER_FILL, **border})
    body = wb.add_format({"text_wrap": True, "valign": "top", **border})
    fills = {s: wb.add_format({"text_wrap": True, "valign": "top", "bg_color": "#" + colour, **border})
             for s, colour in FILLS.items()}
    for used in (title, note, head, body, *fills.values()):
        # numbered now, in this order, whatever the findings: every feedback workbook of a form then
        # has the same styles part, which feedback_stamp takes from one drawing
        used._get_xf_index()
    last_col = len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, last_col, safe_text(plan.title), title)
    ws.merge_range(1, 0, 1, last_col, safe_text(plan.note), note)
    for col, (name, width) in enumerate(COLUMNS):
        ws.write_string(HEADER_ROW, col, name, head)
        ws.set_column(col, col, width)
    for i, (cells, severity) in enumerate(plan.rows, start=1):
        for col, text in enumerate(cells):
            fmt = fills.get(severity, body) if col == SEVERITY_COLUMN else body
            ws.write_string(HEADER_ROW + i, col, text, fmt)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.set_landscape()
    ws.set_paper(9)   # A4
    ws.fit_to_pages(1, 0)   # one page wide, as long as it needs
    ws.print_area(0, 0, plan.last_row, last_col)
    ws.repeat_rows(HEADER_ROW)
    protect(ws)
    ws.activate()   # the file opens on the list


def write_with_openpyxl(wb, findings: list[Finding]) -> object:
    """Add the sheet, first among the tabs, to an openpyxl Workbook; returns it (the caller
    protects it and opens the file on it). A list already there (feedback on a feedback
    workbook) is replaced."""
    from openpyxl.styles import (  # openpyxl is slow to import: only for what the fast paths do not cover
        Alignment,
        Border,
        Font,
        PatternFill,
        Side,
    )
    from openpyxl.utils import get_column_letter

    plan = plan_findings_sheet(findings)
    if FINDINGS_SHEET in wb.sheetnames:
        del wb[FINDINGS_SHEET]
    ws = wb.create_sheet(FINDINGS_SHEET, 0)
    thin = Side(style="thin", color=BORDER)
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    last_col = len(COLUMNS)

    def put(row: int, col: int, text: str, font=None):
        cell = ws.cell(row + 1, col + 1)
        cell.value = text
        cell.data_type = "s"      # a string cell even when the text starts with = + - @
        if font is not None:
            cell.font = font
        return cell

    put(0, 0, safe_text(plan.title), Font(bold=True, size=14))
    put(1, 0, safe_text(plan.note), Font(color=NOTE_COLOUR))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last_col)
    for col, (name, width) in enumerate(COLUMNS):
        c = put(HEADER_ROW, col, name, Font(bold=True))
        c.fill = PatternFill(fill_type="solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
        c.border = box
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    for i, (cells, severity) in enumerate(plan.rows, start=1):
        for col, text in enumerate(cells):
            c = put(HEADER_ROW + i, col, text)
            c.alignment = Alignment(wrap_text=True, vertical="top")
            c.border = box
            colour = FILLS.get(severity)
            if colour and col == SEVERITY_COLUMN:
                c.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
    ws.freeze_panes = ws.cell(HEADER_ROW + 2, 1)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_area = f"A1:{get_column_letter(last_col)}{plan.last_row + 1}"
    ws.print_title_rows = f"{HEADER_ROW + 1}:{HEADER_ROW + 1}"
    return ws
