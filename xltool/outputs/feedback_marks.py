"""What a feedback workbook shows on the cells a return got wrong, and how the writer draws it.

A finding that names a cell marks it: filled red for an error, yellow for a warning, with a comment
that quotes every finding there. The writer draws the marks, the 问题清单 sheet and the returned
file's password hash onto its drawing of the form (`annotate_for`); feedback_stamp puts the same
marks into its stamps, and feedback's openpyxl copy onto a copy of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xltool.cells import parse_a1
from xltool.findings import ERROR, SEVERITIES, SEVERITY_ZH, WARNING, Finding
from xltool.generate.writer import DEFAULT_PASSWORD, protect
from xltool.outputs.findings_sheet import ERROR_FILL, WARNING_FILL, safe_text, write_with_xlsxwriter

COMMENT_AUTHOR = "xltool 校验"


@dataclass
class Mark:
    """What goes on one cell: the worst severity and the messages of every finding there."""

    severity: str
    messages: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if SEVERITIES.index(finding.severity) < SEVERITIES.index(self.severity):
            self.severity = finding.severity
        sev = SEVERITY_ZH.get(finding.severity, finding.severity)
        # the title, unless the message already says it (a rule's title is quoted in its message)
        title = "" if finding.title in finding.message else f"：{finding.title}"
        text = f"【{sev}{title} {finding.code}】{finding.message}"
        if text not in self.messages:
            self.messages.append(text)


def marks_of(findings: list[Finding]) -> dict[tuple[str, str], Mark]:
    """Per (sheet, A1 cell), what to show there. A finding with `all_cells` (blank cells, say)
    marks each listed cell, not only the first."""
    marks: dict[tuple[str, str], Mark] = {}
    for f in findings:
        if not f.sheet:
            continue
        for ref in _cells_of(f):
            marks.setdefault((f.sheet, ref), Mark(f.severity)).add(f)
    return marks


def _cells_of(finding: Finding) -> list[str]:
    listed = finding.args.get("all_cells")
    refs = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
    if finding.cell and finding.cell not in refs:
        refs.insert(0, finding.cell)
    return [r.replace("$", "").upper() for r in refs if _is_a1(r)]


def _is_a1(ref: str) -> bool:
    return bool(re.fullmatch(r"\$?[A-Za-z]{1,3}\$?[0-9]{1,7}", ref))


def annotate_for(marks: dict, findings: list[Finding], returned_hash: dict[str, str]):
    """What the writer calls once the form's sheets are drawn: the marks, the list of findings, and
    the returned file's password hash on every protected sheet."""

    def annotate(wb, sheets: dict) -> None:
        _annotate(wb, sheets, marks, findings)
        if returned_hash:
            for ws in wb.worksheets():
                if ws.protect_options:
                    keep_protection_hash(ws, returned_hash)
    return annotate


def _annotate(wb, sheets: dict, marks: dict, findings: list[Finding]) -> None:

    fills = {ERROR: wb.add_format({"bg_color": "#" + ERROR_FILL}), WARNING: wb.add_format({"bg_color": "#" + WARNING_FILL})}
    for fill in fills.values():
        # numbered now, whatever the findings: every feedback workbook of a form then has the same
        # styles part, which feedback_stamp takes from one drawing
        fill._get_dxf_index()
    for (sheet_name, ref), mark in marks.items():
        ws = sheets.get(sheet_name)
        if ws is None:
            continue
        row, col = parse_a1(ref)
        # a conditional format that always applies: the cell keeps its own format (lock, number
        # format, borders) and shows the fill on top
        ws.conditional_format(row, col, row, col, {"type": "formula", "criteria": "TRUE",
                                                   "format": fills.get(mark.severity, fills[WARNING])})
        ws.write_comment(row, col, *comment_of(mark))
    write_with_xlsxwriter(wb, findings, protect=lambda ws: protect(ws, DEFAULT_PASSWORD))


def comment_of(mark: Mark) -> tuple[str, dict]:
    """A marked cell's comment: its text and xlsxwriter's options for it (a box sized to the text)."""
    text = safe_text("\n\n".join(mark.messages))
    return text, {"author": COMMENT_AUTHOR, "x_scale": 2.4, "y_scale": min(1 + len(text) / 60, 6)}


def keep_protection_hash(ws, hashed: dict[str, str]) -> None:
    """Protect `ws` (an xlsxwriter sheet, already protected) with the returned file's password
    hash instead of the default password's: the feedback workbook unlocks with the same password
    as the template the agency was sent, and nobody needs to know it here. xlsxwriter only
    writes a `password` hash it computed itself, so its sheetProtection tag is rewritten."""
    write_tag = ws._xml_empty_tag

    def tag(name, attributes=None):
        if name == "sheetProtection":
            attributes = list(hashed.items()) + [a for a in (attributes or []) if a[0] != "password"]
        write_tag(name, attributes)

    def write_sheet_protection() -> None:
        ws._xml_empty_tag = tag
        try:
            type(ws)._write_sheet_protection(ws)
        finally:
            ws._xml_empty_tag = write_tag
    ws._write_sheet_protection = write_sheet_protection
