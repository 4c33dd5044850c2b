"""A canonical document as the publishable Word report: the six parts in the official layout.

The tables 二、三、四 are drawn from the form's layout, the same mapping the workbook and the HTML
rendering (`render.py`) use: each label with its merge becomes a merged Word cell (python-docx
writes `w:gridSpan`/`w:vMerge`), each value sits at its row and column, so the arrangement and
the labels are the official ones. Body text is 仿宋, tables 宋体, headings 黑体, as government
reports are typeset. The parts are ordered by the Chinese number their heading starts with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from xltool.form.forms import get_spec
from xltool.form.layout import SheetLayout
from xltool.outputs.render import TABLE_ROLES, Section, report_title, shown_value

BODY_FONT, TABLE_FONT, HEADING_FONT = "仿宋", "宋体", "黑体"


def write_report_docx(doc: dict[str, Any], out: Path) -> Path:

    spec = get_spec(doc["form"]["id"])
    values = doc.get("values") or {}
    word = docx.Document()
    title = word.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, report_title(spec, doc), HEADING_FONT, Pt(18), bold=True)
    parts = []
    for sl in spec.layout.sheets:
        if sl.is_fields:
            parts += [(Section(c.label_path[-1], ""), c.id, None) for c in sl.cells if c.type.kind == "longtext"]
        else:
            heading = next((lab.text for lab in sl.labels if lab.role == "title"), sl.name)
            parts.append((Section(heading, ""), None, sl))
    for section, field_id, sl in sorted(parts, key=lambda p: p[0].number):
        _run(word.add_paragraph(), section.heading, HEADING_FONT, Pt(14), bold=True)
        if sl is None:
            lines = [ln.strip() for ln in str(values.get(field_id) or "").splitlines() if ln.strip()] or ["无。"]
            for line in lines:
                p = word.add_paragraph()
                p.paragraph_format.first_line_indent = Pt(28)
                _run(p, line, BODY_FONT, Pt(14))
        else:
            _table(word, sl, values)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    word.save(str(out))
    return out


def _table(word, sl: SheetLayout, values: dict[str, Any]) -> None:
    """One sheet's tables as one Word table: labels merged as in the layout, values in place."""

    boxes = [(lab.row, lab.col, *lab.end, lab.text, lab.role != "row") for lab in sl.labels if lab.role in TABLE_ROLES]
    boxes += [(c.row, c.col, c.row, c.last_col if c.last_col is not None else c.col, shown_value(c, values.get(c.id)), True)
              for c in sl.cells]
    if not boxes:
        return
    top = min(b[0] for b in boxes)
    nrows = max(b[2] for b in boxes) - top + 1
    ncols = max(b[3] for b in boxes) + 1
    table = word.add_table(rows=nrows, cols=ncols)
    table.style = "Table Grid"
    for r1, c1, r2, c2, text, centred in boxes:
        cell = table.cell(r1 - top, c1)
        if (r2, c2) != (r1, c1):
            cell = cell.merge(table.cell(r2 - top, c2))
        p = cell.paragraphs[0]
        if centred:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(p, text, TABLE_FONT, Pt(10.5))


def _run(paragraph, text: str, font: str, size, bold: bool = False) -> None:
    """A run in `font` for Chinese and Latin alike (Word takes CJK glyphs from w:eastAsia)."""

    run = paragraph.add_run(text)
    run.font.name = font
    run.font.size = size
    run.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)
