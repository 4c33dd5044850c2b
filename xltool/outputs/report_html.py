"""The run report as a page the coordinator opens from disk: report.html.

`render_run_report` takes the run report dict (the content of run.json) and returns one
self-contained HTML page: inline CSS, a few lines of inline JS for the "只看退回 / rejected
only" filter, no network. Totals first, then an index of the files, then per file its verdict
and its findings grouped by code, each with the place (sheet!cell), the Chinese message,
the English one below it, and the values the check compared.

Everything shown comes from files sent in by agencies (names, typed text quoted in messages),
so every piece of text is escaped with `html.escape`; nothing is inserted as markup.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from xltool.findings import AGENCY_STATUS_WORDS, SEVERITY_ZH, finding_title

ACCEPTED, REJECTED, SKIPPED = "accepted", "rejected", "skipped"
STATUS_MARK = {ACCEPTED: ("✓ 通过", "accepted"), REJECTED: ("✗ 退回", "rejected"), SKIPPED: ("– 跳过", "skipped")}
STATUS_ORDER = {REJECTED: 0, ACCEPTED: 1, SKIPPED: 2}
TOTALS = (("files", "文件", "files"), ("accepted", "通过", "accepted"), ("rejected", "退回", "rejected"),
          ("skipped", "跳过", "skipped"), ("errors", "错误", "errors"), ("warnings", "警告", "warnings"))
# The arguments that are values a check saw or wanted (the rest are labels already in the message).
VALUE_ARGS = (("found", "填写"), ("expected", "应为"), ("guess", "看起来应为"), ("lhs", "左边"), ("rhs", "右边"),
              ("count", "个数"), ("decimals", "小数位数"), ("max", "上限"), ("year", "年度"),
              ("formula", "公式"), ("formula_found", "文件中的公式"))
TYPED_ARGS = {"found", "formula", "formula_found"}   # text exactly as it is in the file
FILTER_HASH = "#rejected"   # report.html#rejected opens with the filter on

PAGE_CSS = """
:root { --red: #b42318; --red-bg: #fef3f2; --yellow: #b54708; --yellow-bg: #fffaeb; --green: #067647;
  --green-bg: #ecfdf3; --grey: #667085; --line: #e4e7ec; --ink: #101828; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: var(--ink); font: 14px/1.6 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", "Source Han Sans SC", system-ui, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 32px 48px; }
header h1 { margin: 0; font-size: 24px; }
header .sub { color: var(--grey); margin-top: 2px; }
header .paths { color: var(--grey); font-size: 12px; margin-top: 6px; word-break: break-all; }
.totals { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 20px 0; }
.total { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.total .n { font-size: 28px; font-weight: 700; line-height: 1.2; }
.total .k { color: var(--grey); font-size: 13px; }
.total.accepted .n { color: var(--green); } .total.rejected .n, .total.errors .n { color: var(--red); }
.total.warnings .n { color: var(--yellow); } .total.skipped .n { color: var(--grey); }
.toolbar { display: flex; align-items: center; gap: 16px; margin: 8px 0 12px; }
.toolbar label { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px;
  cursor: pointer; user-select: none; }
.toolbar .hint { color: var(--grey); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
.index { background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; margin-bottom: 24px; }
.index th, .index td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
.index th { background: #f9fafb; color: var(--grey); font-weight: 600; font-size: 13px; }
.index td.n { text-align: right; font-variant-numeric: tabular-nums; }
.index a { color: inherit; text-decoration: none; } .index a:hover { text-decoration: underline; }
.badge { display: inline-block; white-space: nowrap; border-radius: 999px; padding: 1px 10px; font-weight: 600; font-size: 13px; }
.badge.accepted { color: var(--green); background: var(--green-bg); }
.badge.rejected { color: var(--red); background: var(--red-bg); }
.badge.skipped { color: var(--grey); background: #f2f4f7; }
.file { background: #fff; border: 1px solid var(--line); border-radius: 10px; margin: 0 0 16px; padding: 16px 20px; }
.file.rejected { border-left: 4px solid var(--red); } .file.accepted { border-left: 4px solid var(--green); }
.file.skipped { border-left: 4px solid #98a2b3; }
[hidden] { display: none !important; }
.file h2 { margin: 0; font-size: 17px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px; }
.tag { font-size: 12px; font-weight: 400; color: var(--grey); background: #f2f4f7; border-radius: 6px; padding: 0 8px; }
.meta { color: var(--grey); font-size: 13px; margin-top: 2px; }
.meta code, .path { font-family: "Noto Sans Mono CJK SC", ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.counts { margin-top: 6px; font-size: 13px; } .counts .e { color: var(--red); } .counts .w { color: var(--yellow); }
.counts a { margin-left: 12px; color: #175cd3; text-decoration: none; } .counts a:hover { text-decoration: underline; }
.rule { margin-top: 14px; }
.rule h3 { margin: 0 0 6px; font-size: 14px; display: flex; gap: 8px; align-items: baseline; }
.rule h3 code { background: #f2f4f7; border-radius: 6px; padding: 0 6px; font-size: 13px; }
.rule h3 .times { color: var(--grey); font-weight: 400; }
.findings td { border-top: 1px solid var(--line); padding: 8px 10px; vertical-align: top; }
.findings tr.error td:first-child { border-left: 3px solid var(--red); }
.findings tr.warning td:first-child { border-left: 3px solid #f79009; }
.findings tr.info td:first-child { border-left: 3px solid #98a2b3; }
.findings td.where { width: 190px; white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.findings td.where .sev { display: block; font-family: inherit; font-size: 12px; color: var(--grey); }
.msg-zh { color: var(--ink); }
.msg-en { color: var(--grey); font-size: 12px; margin-top: 2px; }
.values { margin-top: 6px; display: flex; flex-wrap: wrap; gap: 6px; }
.value { background: #f9fafb; border: 1px solid var(--line); border-radius: 6px; padding: 0 8px; font-size: 12px; }
.value b { font-weight: 600; color: var(--grey); margin-right: 4px; }
details { margin-top: 6px; font-size: 12px; color: var(--grey); }
.none { color: var(--green); margin-top: 8px; }
footer { color: var(--grey); font-size: 12px; margin-top: 24px; }
.progress { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 20px 0 4px; }
.progress h2 { margin: 0 0 4px; font-size: 18px; } .progress .en { color: var(--grey); font-weight: 400; font-size: 13px; }
.progress .headline { font-size: 16px; } .progress .headline b { font-size: 22px; }
.progress .bar { display: block; width: 100%; height: 14px; border-radius: 7px; overflow: hidden; background: #f2f4f7; margin: 10px 0; }
.progress .seg.accepted { fill: var(--green); } .progress .seg.rejected { fill: var(--red); }
.progress .seg.missing { fill: #f79009; }
.pcards { display: flex; gap: 12px; } .pc { flex: 1; border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; }
.pc .n { font-size: 24px; font-weight: 700; } .pc .k { color: var(--grey); font-size: 13px; }
.pc.accepted .n { color: var(--green); } .pc.rejected .n { color: var(--red); } .pc.missing .n { color: var(--yellow); }
.plist h3 { font-size: 14px; margin: 14px 0 4px; } .plist ul { margin: 0; padding-left: 20px; columns: 2; }
.plist.missing h3 { color: var(--yellow); } .plist.rejected h3 { color: var(--red); }
.plist .why { color: var(--grey); font-size: 12px; margin-left: 8px; }
.rule h3 code.code { background: none; color: var(--grey); font-weight: 400; font-size: 11px; padding: 0; }
@media (max-width: 900px) { .totals { grid-template-columns: repeat(3, 1fr); } }
@media print { .toolbar { display: none; } body { background: #fff; } }
"""

FILTER_JS = """
(function () {
  var box = document.getElementById("only-rejected");
  function apply() {
    var only = box.checked;
    document.querySelectorAll("[data-status]").forEach(function (el) {
      el.hidden = only && el.getAttribute("data-status") !== "rejected";
    });
  }
  box.addEventListener("change", apply);
  if (location.hash === "%s") { box.checked = true; }
  apply();
})();
""" % FILTER_HASH


_SPECIAL = re.compile(r"[&<>\"']")


def esc(value: Any) -> str:
    """Text for HTML (quotes too). A page has hundreds of thousands of short texts, most with
    nothing to escape: those are returned as they are, after one scan."""
    text = "" if value is None else value if type(value) is str else str(value)
    return html.escape(text, quote=True) if _SPECIAL.search(text) else text


def render_run_report(report: dict[str, Any], feedback: dict[str, str] | None = None) -> str:
    """report.html from the run report dict. `feedback` maps a file's path (as in the report)
    to its feedback workbook's path relative to report.html (feedback/x.xlsx), linked next to it."""
    files = sorted(report.get("files", []), key=_file_order)
    body = [_index(files)] + [_file_section(i, f, (feedback or {}).get(f.get("path", ""))) for i, f in _numbered(files)]
    return page_top(report) + "\n".join(body) + page_bottom(report)


def page_top(report: dict[str, Any]) -> str:
    """The page down to the index: the head, the collection's progress, the totals, the toolbar
    (outputs.run_outputs writes the index and the sections between this and page_bottom)."""
    parts = [_header(report)]
    if report.get("roster"):
        parts.append(_progress(report["roster"]))
    parts += [_totals(report.get("stats") or {}), _toolbar()]
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>收件校验报告 / Ingest report</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(parts) + "\n")


def page_bottom(report: dict[str, Any]) -> str:
    return (f'\n<footer>xltool {esc(report.get("xltool_version"))} · 本页为离线文件，不连接网络 / '
            f"offline page, no network access</footer>\n</main>\n<script>{FILTER_JS}</script>\n</body>\n</html>\n")


def _file_order(entry: dict[str, Any]) -> tuple:
    return (STATUS_ORDER.get(entry.get("status"), 3), entry.get("agency") or "", entry.get("path") or "")


def _numbered(files: list[dict[str, Any]]):
    return enumerate(files, start=1)


def _header(report: dict[str, Any]) -> str:
    return (f"<header>\n<h1>收件校验报告</h1>\n<div class=\"sub\">Ingest report — 各单位报表的校验结果与需要修改的问题</div>\n"
            f'<div class="paths">收件目录 inbox: {esc(report.get("inbox"))} · 输出目录 output: {esc(report.get("out"))}</div>\n'
            f"</header>")




def _progress(roster: dict[str, Any]) -> str:
    """The collection first: N of M agencies returned, how many accepted, to fix, missing; a bar;
    the agencies still missing (the 催报名单, also in missing.csv)."""
    c = roster.get("counts") or {}
    total = max(int(c.get("agencies") or 0), 1)
    # an SVG bar: widths as attributes, not inline styles, so the page works under a strict CSP (xltool serve)
    segs, x = [], 0.0
    for key in ("accepted", "rejected", "missing"):
        w = 100 * int(c.get(key) or 0) / total
        segs.append(f'<rect class="seg {key}" x="{x:.2f}" y="0" width="{w:.2f}" height="1"/>')
        x += w
    bar = f'<svg class="bar" viewBox="0 0 100 1" preserveAspectRatio="none" role="img">{"".join(segs)}</svg>'
    cards = "".join(f'<div class="pc {key}"><div class="n">{esc(c.get(key, 0))}</div><div class="k">{zh} · {en}</div></div>'
                    for key, (zh, en) in AGENCY_STATUS_WORDS.items())
    agencies = roster.get("agencies") or []
    missing = [a for a in agencies if a.get("status") == "missing"]
    to_fix = [a for a in agencies if a.get("status") == "rejected"]
    lists = ""
    if missing:
        items = "".join(f"<li>{esc(a.get('agency'))}{_suggestion_note(a)}</li>" for a in missing)
        lists += f'<div class="plist missing"><h3>未报送 · missing（{len(missing)}）</h3><ul>{items}</ul></div>'
    if to_fix:
        items = "".join(f'<li>{esc(a.get("agency"))}<span class="why">错误 {esc(a.get("errors", 0))} 处'
                        + (f' · <a href="{esc(quote(a["feedback"]))}">反馈表</a>' if a.get("feedback") else "")
                        + "</span></li>" for a in to_fix)
        lists += f'<div class="plist rejected"><h3>退回待改 · to fix（{len(to_fix)}）</h3><ul>{items}</ul></div>'
    strangers = roster.get("not_on_roster") or []
    if strangers:
        items = "".join(f"<li>{esc(s.get('agency'))} <span class=\"path\">{esc(s.get('path'))}</span>"
                        + (f'<span class="why">名单中相近：{esc("、".join(s["suggestions"]))}</span>' if s.get("suggestions") else "")
                        + "</li>" for s in strangers)
        lists += f'<div class="plist strangers"><h3>名单外的报表 · not on the roster（{len(strangers)}）</h3><ul>{items}</ul></div>'
    csv_note = ('<div class="meta">催报名单（未报送与退回待改的单位及下一步）：<a href="missing.csv">missing.csv</a></div>'
                if missing or to_fix else "")
    return (f'<section class="progress" id="progress">\n<h2>报送进度 <span class="en">Collection progress</span></h2>\n'
            f'<div class="headline">名单 {esc(c.get("agencies", 0))} 个单位，已报送 <b>{esc(c.get("returned", 0))}</b> 个'
            f' <span class="en">{esc(c.get("returned", 0))} of {esc(c.get("agencies", 0))} agencies returned</span></div>\n'
            f'{bar}\n<div class="pcards">{cards}</div>\n{lists}\n{csv_note}\n</section>')


def _suggestion_note(agency: dict[str, Any]) -> str:
    notes = [f"收到相近名称“{s.get('agency')}”的报表，请核实" for s in agency.get("suggestions") or []]
    return f'<span class="why">{esc("；".join(notes))}</span>' if notes else ""


def _totals(stats: dict[str, Any]) -> str:
    cards = "".join(f'<div class="total {key}"><div class="n">{esc(stats.get(key, 0))}</div>'
                    f'<div class="k">{zh} · {en}</div></div>' for key, zh, en in TOTALS)
    more = [f"{zh} {stats[key]}" for key, zh in (("superseded", "被新文件取代"), ("unchanged", "与上次相同未重新校验"))
            if stats.get(key)]
    note = f'<div class="meta">{esc("；".join(more))}</div>' if more else ""
    return f'<section class="totals">{cards}</section>{note}'


def _toolbar() -> str:
    return ('<div class="toolbar"><label><input type="checkbox" id="only-rejected"> 只看退回 / rejected only</label>'
            '<span class="hint">退回的文件需要单位修改后重新报送 · rejected files go back to the agency</span></div>')


def _status_badge(status: str | None) -> str:
    text, cls = STATUS_MARK.get(status or "", (status or "?", "skipped"))
    return f'<span class="badge {cls}">{esc(text)}</span>'


def _agency(entry: dict[str, Any]) -> str:
    return entry.get("agency") or "（未识别单位）"


INDEX_HEAD = ('<table class="index">\n<thead><tr><th>状态</th><th>单位 agency</th><th>年度 year</th><th>报表 form</th>'
              "<th>文件 file</th><th>错误</th><th>警告</th></tr></thead>\n<tbody>\n")
INDEX_TAIL = "\n</tbody>\n</table>"


def _index(files: list[dict[str, Any]]) -> str:
    return INDEX_HEAD + "\n".join(index_row(i, f) for i, f in _numbered(files)) + INDEX_TAIL


def index_row(i: int, f: dict[str, Any]) -> str:
    """A file's row in the index at the top of the page (`f`: the fields of its entry it shows)."""
    return (f'<tr data-status="{esc(f.get("status"))}"><td>{_status_badge(f.get("status"))}</td>'
            f'<td><a href="#file-{i}">{esc(_agency(f))}</a></td><td>{esc(f.get("year"))}</td>'
            f'<td>{esc(f.get("form"))}</td><td class="path">{esc(f.get("path"))}</td>'
            f'<td class="n">{esc(f.get("errors", 0))}</td><td class="n">{esc(f.get("warnings", 0))}</td></tr>')


def _file_section(i: int, entry: dict[str, Any], feedback_path: str | None) -> str:
    status = entry.get("status") or ""
    cls = STATUS_MARK.get(status, ("", "skipped"))[1]
    year = f'{entry.get("year")} 年度' if entry.get("year") is not None else "年度未识别"
    link = f'<a href="{esc(quote(feedback_path))}">反馈表（标出问题的原表） / feedback workbook</a>' if feedback_path else ""
    counts = (f'<div class="counts"><span class="e">错误 {esc(entry.get("errors", 0))}</span> · '
              f'<span class="w">警告 {esc(entry.get("warnings", 0))}</span>{link}</div>')
    findings = entry.get("findings") or []
    body = "".join(_rule_group(code, group) for code, group in _by_code(findings))
    if not findings:
        body = '<div class="none">没有发现问题 / no findings</div>'
    return (f'<section class="file {cls}" id="file-{i}" data-status="{esc(status)}">\n'
            f"<h2>{_status_badge(status)}<span>{esc(_agency(entry))}</span>{_tags(entry)}</h2>\n"
            f'<div class="meta">{esc(year)} · {esc(entry.get("form") or "报表未识别")} · '
            f'<code>{esc(entry.get("path"))}</code>{_checked_at(entry)}</div>\n{counts}\n{body}\n</section>')


def _checked_at(entry: dict[str, Any]) -> str:
    """When the verdict was given (UTC; a re-run reuses the verdict of an unchanged file, and its time)."""
    at = entry.get("checked_at")
    return f' · 校验于 {esc(str(at)[:16].replace("T", " "))} UTC' if at else ""


def _tags(entry: dict[str, Any]) -> str:
    """What the run knows beyond the file itself: a newer return replaces it."""
    if entry.get("superseded_by"):
        return (f'<span class="tag">已由“{esc(entry["superseded_by"])}”取代，不计入汇总 / '
                f"superseded, not in the summary</span>")
    return ""


def _by_code(findings: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Findings grouped by code, groups in the order their first finding comes (errors first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(f.get("code") or "?", []).append(f)
    return list(groups.items())


def _rule_group(code: str, findings: list[dict[str, Any]]) -> str:
    """One kind of finding: its title as the heading (the code small beside it), then each finding."""
    title, title_en = finding_title(code, findings[0].get("args") or {})
    heading = (f"<h3><span>{esc(title)}</span>"
               + (f'<span class="msg-en">{esc(title_en)}</span>' if title_en and title_en != title else "")
               + f'<code class="code">{esc(code)}</code><span class="times">× {len(findings)}</span></h3>')
    rows = "".join(_finding_row(f) for f in findings)
    return f'<div class="rule">{heading}<table class="findings">{rows}</table></div>'


def _finding_row(f: dict[str, Any]) -> str:
    severity = f.get("severity") or "info"
    where = f"{f['sheet']}!{f['cell']}" if f.get("sheet") and f.get("cell") else (f.get("sheet") or "—")
    return (f'<tr class="{esc(severity)}"><td class="where">{esc(where)}'
            f'<span class="sev">{esc(SEVERITY_ZH.get(severity, severity))}</span></td>'
            f'<td><div class="msg-zh">{esc(f.get("message"))}</div>'
            f'<div class="msg-en">{esc(f.get("message_en"))}</div>{_values(f.get("args") or {})}</td></tr>')


def _values(args: dict[str, Any]) -> str:
    chips = [f'<span class="value"><b>{esc(zh)} {esc(key)}</b>{esc(shown(args[key], key in TYPED_ARGS))}</span>'
             for key, zh in VALUE_ARGS if key in args and args[key] is not None and args[key] != ""]
    out = f'<div class="values">{"".join(chips)}</div>' if chips else ""
    cells = args.get("all_cells")
    if isinstance(cells, list) and len(cells) > 1:
        out += (f"<details><summary>全部 {len(cells)} 个格子 / all cells</summary>"
                f'{esc(", ".join(map(str, cells)))}</details>')
    return out


def shown(value: Any, typed: bool = False) -> str:
    """A value for the page: what a clerk typed in quotes (so “ 3 ” shows its spaces),
    numbers exact."""
    if isinstance(value, str) and typed:
        return f"“{value}”"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
