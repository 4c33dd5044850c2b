"""One canonical document as the published report: an HTML page ready to paste into a portal.

The tables (二、三、四) are drawn from the form's layout, the same mapping the workbook uses:
every label with its merge becomes a header or label cell with rowspan/colspan, every value
cell sits at its row and column, so the arrangement is the official one and the labels are
verbatim. The text parts (一、五、六) are the form's long-text fields, with their paragraphs.
Sections are ordered by the Chinese number their heading starts with (一、 … 六、), so nothing
here names a label. The live checks and hints of the workbook are not part of the report.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from xltool.form.canonical import as_number
from xltool.form.forms import get_spec
from xltool.form.layout import SheetLayout, ValueCell
from xltool.form.spec import FormSpec

TABLE_ROLES = ("block", "header", "corner", "row")    # labels that belong to a published table
HEADER_ROLES = ("block", "header", "corner")
CHINESE_DIGITS = {ch: i for i, ch in enumerate("一二三四五六七八九十", start=1)}

PAGE_CSS = """
body { margin: 0; background: #f4f4f4; }
.govinfo-report { max-width: 1100px; margin: 24px auto; padding: 40px 56px; background: #fff;
  font-family: "SimSun", "宋体", "Noto Serif CJK SC", "Source Han Serif SC", serif; font-size: 16px;
  line-height: 1.8; color: #000; }
.govinfo-report h1 { text-align: center; font-size: 24px; font-weight: bold; margin: 0 0 28px; }
.govinfo-report h2 { font-family: "SimHei", "黑体", "Noto Sans CJK SC", sans-serif; font-size: 18px;
  font-weight: bold; margin: 28px 0 12px; }
.govinfo-report p { text-indent: 2em; margin: 0 0 8px; }
.govinfo-report table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px;
  line-height: 1.5; }
.govinfo-report th, .govinfo-report td { border: 1px solid #000; padding: 4px 6px; vertical-align: middle; }
.govinfo-report th { font-weight: bold; text-align: center; background: #f2f2f2; }
.govinfo-report th.block { text-align: center; background: #e8e8e8; }
.govinfo-report td.label { text-align: left; }
.govinfo-report td.num { text-align: center; white-space: nowrap; }
@media print { body { background: #fff; } .govinfo-report { margin: 0; padding: 0; max-width: none; } }
.draft-banner { max-width: 1100px; margin: 24px auto 0; padding: 14px 20px; background: #b42318; color: #fff;
  font: bold 18px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; text-align: center; }
.draft .govinfo-report { background-image: url("data:image/svg+xml;utf8,%3Csvg xmlns='http://www.w3.org/2000/svg' \
width='420' height='260'%3E%3Ctext x='20' y='160' transform='rotate(-24 210 130)' font-size='44' \
font-family='sans-serif' fill='%23b42318' fill-opacity='0.13'%3E未通过校验 草稿%3C/text%3E%3C/svg%3E"); }
.draft .govinfo-report { -webkit-print-color-adjust: exact; print-color-adjust: exact; }   /* the watermark prints too */
@media print { .draft-banner { border: 3px solid #b42318; background: #fff; color: #b42318; } }
"""
DRAFT_BANNER = ("草稿：本报表未通过校验，数字可能有误，不得发布。 / DRAFT: this return was not validated "
                "(it was rejected); its numbers may be wrong. Do not publish.")


@dataclass
class Section:
    heading: str
    body: str          # HTML

    @property
    def number(self) -> int:
        """一、 -> 1; a heading without a Chinese number goes last."""
        m = re.match(r"^([一二三四五六七八九十]+)、", self.heading)
        if not m:
            return 99
        digits = [CHINESE_DIGITS[ch] for ch in m.group(1)]
        if len(digits) == 1:
            return digits[0]
        return (digits[0] if digits[0] != 10 else 1) * 10 + (digits[-1] if digits[-1] != 10 else 0)


def render_report_html(doc: dict[str, Any], draft: bool = False) -> str:
    """The published report of one canonical document, as a self-contained HTML page. A `draft`
    (a rejected return shown anyway) carries a banner and a watermark on every screen and print."""
    spec = get_spec(doc["form"]["id"])
    values = doc.get("values") or {}
    title = report_title(spec, doc)
    sections = sorted(text_sections(spec, values) + table_sections(spec, values), key=lambda s: s.number)
    body = "\n".join(f"<section>\n<h2>{html.escape(s.heading)}</h2>\n{s.body}\n</section>" for s in sections)
    body_tag = '<body class="draft">' if draft else "<body>"
    banner = f'<div class="draft-banner" role="alert">{html.escape(DRAFT_BANNER)}</div>\n' if draft else ""
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{'【草稿 DRAFT】' if draft else ''}{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n"
            f"</head>\n{body_tag}\n{banner}"
            f'<article class="govinfo-report">\n<h1>{"【草稿】" if draft else ""}{html.escape(title)}</h1>\n{body}\n</article>\n'
            f"</body>\n</html>\n")


def report_title(spec: FormSpec, doc: dict[str, Any]) -> str:
    """乐山市机关事务管理局2020年政府信息公开工作年度报告, as reports are titled."""
    agency = doc.get("agency") or ""
    year = f"{doc['year']}年" if doc.get("year") is not None else ""
    return f"{agency}{year}{spec.title}"


# --- text parts --------------------------------------------------------------------------------

def text_sections(spec: FormSpec, values: dict[str, Any]) -> list[Section]:
    """The long-text fields (一、总体情况 …), each a section of paragraphs."""
    out = []
    for sl in spec.layout.sheets:
        if not sl.is_fields:
            continue
        for cell in sl.cells:
            if cell.type.kind == "longtext":
                out.append(Section(cell.label_path[-1], paragraphs(values.get(cell.id))))
    return out


def paragraphs(text: Any) -> str:
    """Each line of the agency's text as an escaped paragraph (a line break in a cell is a new
    paragraph in the published reports)."""
    lines = [line.strip() for line in str(text or "").splitlines()]
    kept = [f"<p>{html.escape(line)}</p>" for line in lines if line]
    return "\n".join(kept) if kept else "<p>无。</p>"


# --- tables ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Box:
    """One HTML cell: where it starts, how far it spans, what it shows."""

    row: int
    col: int
    last_row: int
    last_col: int
    html: str


def table_sections(spec: FormSpec, values: dict[str, Any]) -> list[Section]:
    out = []
    for sl in spec.layout.sheets:
        if sl.is_fields:
            continue
        title = next((lab.text for lab in sl.labels if lab.role == "title"), sl.name)
        out.append(Section(title, table_html(sl, values)))
    return out


def table_html(sl: SheetLayout, values: dict[str, Any]) -> str:
    """One sheet's tables as one HTML table in the official arrangement."""
    boxes = [_label_box(lab) for lab in sl.labels if lab.role in TABLE_ROLES]
    boxes += [_value_box(cell, values.get(cell.id)) for cell in sl.cells]
    if not boxes:
        return ""
    anchors = {(b.row, b.col): b for b in boxes}
    covered = {(r, c) for b in boxes for r in range(b.row, b.last_row + 1) for c in range(b.col, b.last_col + 1)}
    first_row, last_row = min(b.row for b in boxes), max(b.last_row for b in boxes)
    ncols = max(b.last_col for b in boxes) + 1
    rows = [_colgroup(sl, ncols)]
    for r in range(first_row, last_row + 1):
        cells = []
        for c in range(ncols):
            if (r, c) in anchors:
                cells.append(anchors[(r, c)].html)
            elif (r, c) not in covered:
                cells.append("<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _colgroup(sl: SheetLayout, ncols: int) -> str:
    """Column widths in the proportions of the workbook's, so value columns come out even."""
    widths = (sl.col_widths + [8.0] * ncols)[:ncols]
    total = sum(widths) or 1
    return "<colgroup>" + "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in widths) + "</colgroup>"


def _spans(row: int, col: int, last_row: int, last_col: int) -> str:
    out = ""
    if last_row > row:
        out += f' rowspan="{last_row - row + 1}"'
    if last_col > col:
        out += f' colspan="{last_col - col + 1}"'
    return out


def _label_box(lab) -> _Box:
    last_row, last_col = lab.end
    spans = _spans(lab.row, lab.col, last_row, last_col)
    text = html.escape(lab.text)
    if lab.role in HEADER_ROLES:
        cls = ' class="block"' if lab.role == "block" else ""
        cell = f"<th{cls}{spans}>{text}</th>"
    else:
        cell = f'<td class="label"{spans}>{text}</td>'
    return _Box(lab.row, lab.col, last_row, last_col, cell)


def _value_box(cell: ValueCell, value: Any) -> _Box:
    last_col = cell.last_col if cell.last_col is not None else cell.col
    shown = shown_value(cell, value)
    return _Box(cell.row, cell.col, cell.row, last_col,
                f'<td class="num"{_spans(cell.row, cell.col, cell.row, last_col)}>{html.escape(shown)}</td>')


def shown_value(cell: ValueCell, value: Any) -> str:
    """The value as printed: exact decimals; the unit when the column header does not say it."""
    text = "" if value is None else str(as_number(value))
    unit = cell.type.unit
    if text and unit and not any(unit in part for part in cell.column_path):
        return f"{text}{unit}"
    return text
