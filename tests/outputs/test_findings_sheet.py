"""The 问题清单 sheet is decided once: the xlsxwriter and openpyxl writers give the same sheet."""

from __future__ import annotations

import openpyxl
import xlsxwriter

from xltool.findings import ERROR, WARNING, Finding
from xltool.outputs.findings_sheet import FINDINGS_SHEET, write_with_openpyxl, write_with_xlsxwriter

FINDINGS = [
    Finding("not-a-number", ERROR, "二、主动公开", "D5", message="填的是“=1+1”", message_en="holds =1+1"),
    Finding("blank-cells", WARNING, "三、依申请", "F16", message="未填写\x07的格子", message_en="blank cells"),
]


def _sheet(path):
    ws = openpyxl.load_workbook(path)[FINDINGS_SHEET]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    fills = [ws.cell(r, 2).fill.fgColor.rgb[-6:] for r in (5, 6)]
    return values, fills, ws.print_area, ws.print_title_rows, ws.page_setup.orientation, ws.freeze_panes


def test_both_writers_give_the_same_sheet(tmp_path):
    a = tmp_path / "xlsxwriter.xlsx"
    wb = xlsxwriter.Workbook(str(a))
    write_with_xlsxwriter(wb, FINDINGS, protect=lambda ws: ws.protect("x"))
    wb.close()
    b = tmp_path / "openpyxl.xlsx"
    book = openpyxl.Workbook()
    write_with_openpyxl(book, FINDINGS)
    del book[book.sheetnames[1]]
    book.save(b)
    sheet_a, sheet_b = _sheet(a), _sheet(b)
    assert sheet_a == sheet_b
    values, fills, *_ = sheet_a
    assert values[4][2] == "应填数字\n(not-a-number)" and values[4][5] == "填的是“=1+1”"   # a string, never a formula
    assert values[5][5] == "未填写\ufffd的格子"                                              # no XML-illegal character
    assert fills == ["FFC7CE", "FFEB9C"]
