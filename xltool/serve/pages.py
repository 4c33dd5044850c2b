"""The server's HTML pages, in Chinese first: an agency's upload page, the coordinator's progress page
and the error page; plus the one stylesheet and the one small script they load (the pages carry no
inline script or style, so the Content-Security-Policy can forbid both).

Every text shown comes from the roster or from uploaded files, so all of it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xltool.findings import SEVERITY_ZH
from xltool.outputs.report_html import esc

STATUS_TEXT = {"accepted": ("✓ 通过", "accepted"), "rejected": ("✗ 退回", "rejected"), "skipped": ("– 跳过", "skipped"),
               None: ("… 校验中", "checking")}
MAX_FINDINGS_SHOWN = 200

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: #101828; font: 15px/1.6 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", system-ui, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.sub, .en, .meta { color: #667085; font-size: 13px; }
.card { background: #fff; border: 1px solid #e4e7ec; border-radius: 10px; padding: 16px 20px; margin: 12px 0; }
.upload-form { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
button { font: inherit; padding: 6px 18px; border-radius: 8px; border: 1px solid #175cd3; background: #175cd3; color: #fff; cursor: pointer; }
button[disabled] { opacity: .6; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-weight: 600; font-size: 14px; }
.badge.accepted { color: #067647; background: #ecfdf3; } .badge.rejected { color: #b42318; background: #fef3f2; }
.badge.skipped, .badge.checking, .badge.missing { color: #667085; background: #f2f4f7; }
.verdict { border-left: 4px solid #98a2b3; } .verdict.accepted { border-left-color: #067647; }
.verdict.rejected { border-left-color: #b42318; }
.verdict .big { font-size: 20px; font-weight: 700; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e4e7ec; vertical-align: top; }
th { color: #667085; font-weight: 600; font-size: 13px; }
td.sev { white-space: nowrap; }
td.where { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
tr.error td:first-child { border-left: 3px solid #b42318; } tr.warning td:first-child { border-left: 3px solid #f79009; }
.totals { display: flex; gap: 12px; flex-wrap: wrap; }
.total { background: #fff; border: 1px solid #e4e7ec; border-radius: 10px; padding: 10px 18px; min-width: 120px; }
.total .n { font-size: 26px; font-weight: 700; }
a { color: #175cd3; }
.notice { background: #fffaeb; border: 1px solid #fedf89; border-radius: 8px; padding: 8px 12px; }
"""

JS = """
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var button = form.querySelector("button");
    button.disabled = true;
    button.textContent = "正在上传并校验…";
  });
});
"""


@dataclass
class UploadView:
    """One upload as its agency sees it."""

    name: str                          # the stored name (ours)
    received: str                      # when, for people
    status: str | None                 # None: still being checked
    findings: list[dict[str, Any]] = field(default_factory=list)
    feedback_url: str | None = None
    errors: int = 0
    warnings: int = 0
    notices: list[str] = field(default_factory=list)   # the return names another agency or year than the link's


def received_text(name: str) -> str:
    """The upload time in the name (UTC) as local time, for people."""
    try:
        t = datetime.strptime(name[:22], "%Y%m%d-%H%M%S-%f").replace(tzinfo=UTC)
    except ValueError:
        return ""
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _page(title: str, body: str, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="referrer" content="no-referrer">{meta}\n<title>{esc(title)}</title>\n'
            '<link rel="stylesheet" href="/static/serve.css">\n<script src="/static/serve.js"></script>\n'
            f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def badge(status: str | None) -> str:
    text, cls = STATUS_TEXT.get(status, (status or "?", "skipped"))
    return f'<span class="badge {cls}">{esc(text)}</span>'


def findings_table(findings: list[dict[str, Any]]) -> str:
    """Findings as rows: where, severity, the Chinese message with the English one below it."""
    if not findings:
        return '<p class="meta">没有发现问题 / no findings</p>'
    rows = []
    for f in findings[:MAX_FINDINGS_SHOWN]:
        sev = f.get("severity") or "info"
        where = f"{f['sheet']}!{f['cell']}" if f.get("sheet") and f.get("cell") else (f.get("sheet") or "—")
        rows.append(f'<tr class="{esc(sev)}"><td class="where">{esc(where)}</td><td class="sev">{esc(SEVERITY_ZH.get(sev, sev))}</td>'
                    f'<td><div>{esc(f.get("message"))}</div><div class="en">{esc(f.get("message_en"))}</div></td></tr>')
    more = len(findings) - MAX_FINDINGS_SHOWN
    tail = (f'<p class="meta">还有 {more} 条问题未列出，请下载反馈表查看全部 / {more} more in the feedback workbook</p>'
            if more > 0 else "")
    return ('<table class="findings"><thead><tr><th>位置</th><th>级别</th><th>问题 / finding</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>" + tail)


def mismatch_notices(agency: str, year: int | None, entry: dict[str, Any]) -> list[str]:
    """What the return says that does not fit the link it came through: another agency, another year."""
    notes = []
    found = (entry.get("agency") or "").strip()
    if found and found != agency:
        notes.append(f"注意：报表中的填报单位是“{found}”，与本链接的单位“{agency}”不一致，请确认没有上传其他单位的报表。"
                     f" / The workbook names another agency than this link's.")
    if year and entry.get("year") and entry["year"] != year:
        notes.append(f"注意：报表的报告年度是 {entry['year']} 年，本次收集的是 {year} 年度。 / The workbook is for another year.")
    return notes


def _feedback_link(u: UploadView) -> str:
    return f'<a href="{esc(u.feedback_url)}" download>反馈表</a>' if u.feedback_url else ""


def _verdict_card(u: UploadView) -> str:
    cls = STATUS_TEXT.get(u.status, ("", "skipped"))[1]
    if u.status is None:
        body = '<p>正在校验，本页会自动刷新… / being checked; this page refreshes itself.</p>'
    else:
        head = {"accepted": "报表已通过校验，无需再做任何事。/ Accepted: nothing more to do.",
                "rejected": "报表未通过校验，请按下列问题修改后重新上传。/ Rejected: fix the problems below and upload again."
                }.get(u.status, "该文件不是报表，已跳过。/ Not a return; skipped.")
        link = (f'<p><a href="{esc(u.feedback_url)}" download id="feedback-link">下载反馈表（在原表中标出问题） / '
                f"download the feedback workbook</a></p>" if u.feedback_url else "")
        notes = "".join(f'<p class="notice">{esc(n)}</p>' for n in u.notices)
        body = (f"<p>{esc(head)}</p>{notes}<p class=\"meta\">错误 {u.errors} · 警告 {u.warnings}</p>{link}"
                + findings_table(u.findings))
    return (f'<section class="card verdict {cls}" id="latest"><div class="big">{badge(u.status)}</div>'
            f'<div class="meta">上传时间 {esc(u.received)} · 文件编号 {esc(u.name)}</div>{body}</section>')


def agency_page(name: str, form_label: str, year: int | None, uploads: list[UploadView], action: str, csrf: str,
                cap_mb: int, just: str | None = None) -> str:
    """An agency's page: who it is, which form and year, the file picker, and its uploads, newest
    first; the newest (or the one just uploaded) with its findings."""
    year_text = f"{year} 年度" if year else "年度以报表为准"
    form = (f'<form id="upload-form" class="upload-form" method="post" action="{esc(action)}" enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            '<input type="file" name="file" id="file" required accept=".xlsx,.xlsm,.xls,.et,.ods">'
            '<button type="submit">上传并校验</button></form>'
            f'<p class="meta">请上传填好的 .xlsx 报表（不超过 {cap_mb} MB）。上传后立即校验并在本页显示结果。'
            " / Upload the filled workbook; the verdict shows on this page at once.</p>")
    shown = next((u for u in uploads if u.name == just), uploads[0] if uploads else None)
    verdict = _verdict_card(shown) if shown else ""
    history = ""
    if uploads:
        rows = "".join(
            f'<tr><td>{esc(u.received)}</td><td>{badge(u.status)}</td><td>{u.errors}</td><td>{u.warnings}</td>'
            f"<td>{_feedback_link(u)}</td></tr>"
            for u in uploads)
        history = ('<h2>历次上传 / earlier uploads</h2><div class="card"><table><thead><tr><th>上传时间</th><th>结果</th>'
                   f"<th>错误</th><th>警告</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>")
    body = (f"<h1>{esc(name)}</h1><div class=\"sub\">{esc(form_label)} · {esc(year_text)}</div>"
            f'<div class="card">{form}</div>{verdict}{history}'
            '<p class="meta">本链接为贵单位专用，请勿转发。 / This link is for your agency only; do not forward it.</p>')
    refresh = 2 if any(u.status is None for u in uploads) else None
    return _page(f"{name} · 报表上传", body, refresh)


@dataclass
class AgencyRow:
    """One roster agency on the coordinator's page."""

    name: str
    code: str | None
    status: str                        # accepted | rejected | checking | missing
    latest: str = ""                   # when its latest upload arrived
    uploads: int = 0
    errors: int = 0


PROGRESS = {"accepted": ("已通过", "accepted"), "rejected": ("待修改", "to fix"), "checking": ("校验中", "checking"),
            "missing": ("未报送", "missing")}


def admin_page(rows: list[AgencyRow], files: list[tuple[str, str]], other_files: int, last_error: str | None) -> str:
    """The coordinator's page: totals over the roster, one row per agency, links to the run outputs."""
    counts = {k: sum(r.status == k for r in rows) for k in PROGRESS}
    totals = "".join(f'<div class="total" id="total-{k}"><div class="n">{counts[k]}</div><div class="meta">{zh} · {en}</div></div>'
                     for k, (zh, en) in PROGRESS.items())
    order = {"rejected": 0, "missing": 1, "checking": 2, "accepted": 3}
    body_rows = "".join(
        f'<tr data-status="{esc(r.status)}"><td>{esc(r.name)}</td><td>{esc(r.code or "")}</td>'
        f'<td><span class="badge {"accepted" if r.status == "accepted" else "rejected" if r.status == "rejected" else "missing"}">'
        f'{esc(PROGRESS[r.status][0])}</span></td><td>{esc(r.latest)}</td><td>{r.uploads}</td><td>{r.errors if r.uploads else ""}</td></tr>'
        for r in sorted(rows, key=lambda r: (order[r.status], r.name)))
    links = " · ".join(f'<a href="{esc(url)}">{esc(label)}</a>' for label, url in files) or "（尚无输出 / no outputs yet）"
    other = (f'<p class="meta">收件目录中另有 {other_files} 个不是通过本页上传的文件，见 report.html。</p>' if other_files else "")
    warn = (f'<p class="notice">最近一次校验出错 / the last check failed: {esc(last_error)}</p>' if last_error else "")
    body = (f'<h1>报表收集进度</h1><div class="sub">Collection progress · 共 {len(rows)} 个单位</div>{warn}'
            f'<section class="totals">{totals}</section><div class="card">输出 / outputs: {links}</div>{other}'
            '<div class="card"><table id="progress"><thead><tr><th>单位名称</th><th>统一社会信用代码</th><th>状态</th>'
            f"<th>最近上传</th><th>上传次数</th><th>错误</th></tr></thead><tbody>{body_rows}</tbody></table></div>")
    return _page("报表收集进度 / progress", body, refresh=30)


def error_page(zh: str, en: str) -> str:
    return _page("xltool", f'<h1>{esc(zh)}</h1><p class="sub">{esc(en)}</p>')
