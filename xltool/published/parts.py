"""The running text of a published report: its title (agency, year) and the text parts 一、五、六.

Parts are found by their headings, which are the spec's labels: a part runs from its heading to
the next heading of any of the six parts (二、三、四 are the table sheets' titles).
"""

from __future__ import annotations

import re
from typing import Any

from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.spec import FormSpec
from xltool.published.grid import Line, Published
from xltool.published.labels import best, norm
from xltool.published.match import place

TITLE_UNREAD = Code(
    "published-title-unread", ERROR,
    zh="未能从报告标题中读出{label}（标题为“{found}”）。",
    en="The {label_en} could not be read from the report's title ({found}).")
PART_MISSING = Code(
    "published-part-missing", WARNING,
    zh="公开文本中没有找到“{label}”部分。",
    en="The part {label} was not found in the published copy.")

_TITLE = re.compile(r"^(?P<pre>.*?)(?P<year>(?:19|20)\d{2})年度?(?P<post>.*?)政府信息公开(?:工作)?年度报告")


def read_title(spec: FormSpec, pub: Published) -> tuple[dict[str, Any], dict[str, dict], list[Finding]]:
    """meta.agency and meta.year from the title: 淮安市人民政府 2024 年政府信息公开工作年度报告,
    or 2020年市机关事务管理局政府信息公开工作年度报告 (the agency as printed)."""
    head, where = "", None
    for line in pub.lines[:12]:
        if not line.text.strip():
            continue
        where = where or line.where
        head += "".join(line.text.split())      # the agency as printed: only spaces and breaks go
        if "年度报告" in head:
            break
    m = _TITLE.match(head)
    values: dict[str, Any] = {}
    prov: dict[str, dict] = {}
    findings = []
    agency = (m.group("pre") or m.group("post")).removeprefix("关于") if m else ""
    for field_id, label, label_en, value in (("meta.agency", "填报单位", "agency", agency or None),
                                             ("meta.year", "报告年度", "report year", int(m.group("year")) if m else None)):
        if value is None:
            findings.append(TITLE_UNREAD.at(sheet=_sheet(spec, field_id), cell=place(where), ids=[field_id], label=label,
                                            label_en=label_en, found=head[:60]))
            continue
        values[field_id] = value
        prov[field_id] = {**(where or {}), "text": head}
    return values, prov, findings


def read_parts(spec: FormSpec, pub: Published) -> tuple[dict[str, Any], dict[str, dict], list[Finding]]:
    """The long-text fields (一、总体情况 …), each from its heading to the next part's heading."""
    layout = spec.layout
    texts = [c for c in layout.cells.values() if c.type.kind == "longtext"]
    headings = [c.label_path[-1] for c in texts] + [s.labels[0].text for s in layout.sheets
                                                    if not s.is_fields and s.labels and s.labels[0].role == "title"]
    starts = []
    for i, line in enumerate(pub.lines):
        t = norm(line.text)
        if t and len(t) <= 30:
            h = best(line.text, [(x, x) for x in headings])
            if h is not None:
                starts.append((i, h))
    values, prov, findings = {}, {}, []
    for cell in texts:
        label = cell.label_path[-1]
        at = next((k for k, (i, h) in enumerate(starts) if h == label), None)
        if at is None:
            findings.append(PART_MISSING.at(sheet=cell.sheet, ids=[cell.id], label=label))
            continue
        first = starts[at][0] + 1
        end = starts[at + 1][0] if at + 1 < len(starts) else len(pub.lines)
        body = pub.lines[first:end]
        values[cell.id] = _paragraphs(body)
        kept = [ln for ln in body if ln.text.strip()]
        prov[cell.id] = dict(kept[0].where) if kept else dict(pub.lines[starts[at][0]].where)
    return values, prov, findings


def _paragraphs(lines: list[Line]) -> str | None:
    """Lines as paragraphs: a wrapped PDF line continues its paragraph, every other line starts one."""
    paras: list[str] = []
    for line in lines:
        t = line.text.strip()
        if not t:
            continue
        if paras and not line.new_paragraph:
            paras[-1] += t
        else:
            paras.append(t)
    return "\n".join(paras) or None


def _sheet(spec: FormSpec, field_id: str) -> str:
    return spec.layout.cells[field_id].sheet
