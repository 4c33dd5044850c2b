"""Terminal rendering of an ingest run and of one file's findings (rich)."""

from __future__ import annotations

import heapq

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.findings import ACCEPTED, AGENCY_STATUS_WORDS, MISSING, REJECTED, SEVERITY_ZH, SKIPPED
from xltool.outputs.run_report import FileResult, RunReport

_MARK = {ACCEPTED: "[green]✓ 通过[/green]", REJECTED: "[red]✗ 退回[/red]", SKIPPED: "[dim]– 跳过[/dim]"}
_ORDER = {REJECTED: 0, ACCEPTED: 1, SKIPPED: 2}


def print_run(report: RunReport, console: Console, max_problems: int = 3, max_rows: int = 40) -> None:
    """One row per file, returns to send back first. A large run lists only the rejected ones
    (at most `max_rows`, picked without sorting the whole run): report.html has every agency."""
    count = len(report.files)
    if count <= max_rows:
        shown = sorted(report.files, key=lambda r: _row_order(r.status, r.agency, r.path))
    else:   # the rejected ones first by their few fields; then those shown, whole
        first = heapq.nsmallest(max_rows, ((_row_order(status, agency, path), i) for i, status, agency, path
                                           in report.files.fields("status", "agency", "path") if status == REJECTED))
        shown = [report.files[i] for _, i in first]
    table = Table(title="收件校验结果 / ingest results", show_lines=True, expand=True)
    # overflow="fold": Chinese has no spaces, so a sentence is one long "word" that rich would cut off
    # with "…"; folding wraps it at the column's edge and nothing is lost
    table.add_column("状态", no_wrap=True)
    table.add_column("单位 / 年度 / 文件", ratio=2, overflow="fold")
    table.add_column("需要修改的问题 / what to fix", ratio=5, overflow="fold")
    for r in shown:
        who = f"{escape(r.agency or '（未识别单位）')}  {r.year or ''}\n[dim]{escape(r.path)}[/dim]"
        table.add_row(_MARK[r.status], who, problems_text(r, max_problems))
    if shown:
        console.print(table)
    if len(shown) < count:
        console.print(f"[dim]（文件较多，上表只列出 {len(shown)} 个退回的文件；全部 {count} 个单位的结果见 "
                      f"{escape(report.out)}/report.html）[/dim]")
    s = report.stats()
    console.print(f"共 {s['files']} 个文件：[green]通过 {s['accepted']}[/green]，[red]退回 {s['rejected']}[/red]，"
                  f"跳过 {s['skipped']}；错误 {s['errors']} 处，警告 {s['warnings']} 处。")
    if s["unchanged"]:
        console.print(f"其中 {s['unchanged']} 个与上次相同，沿用上次结果（未重新校验）；"
                      f"新的或改过的 {s['files'] - s['unchanged']} 个已校验。")
    if report.roster is not None:
        print_collection(report.roster, report.out, console)
    console.print(f"报告：{escape(report.out)}/report.html　退回文件的批注版：{escape(report.out)}/feedback/　"
                  f"汇总：{escape(report.out)}/summary.xlsx、values.csv　数据：{escape(report.out)}/json/、run.json")


def _row_order(status: str, agency: str | None, path: str) -> tuple:
    return _ORDER[status], agency or "", path


def print_collection(roster: dict, out: str, console: Console, max_names: int = 12) -> None:
    """The collection in a few lines: N of M returned, accepted, to fix, missing, and who is missing."""
    c = roster["counts"]
    console.print(f"[bold]报送进度[/bold]：名单 {c['agencies']} 个单位，已报送 {c['returned']} 个")
    words = {status: zh for status, (zh, _) in AGENCY_STATUS_WORDS.items()}
    console.print(f"  [green]{words[ACCEPTED]} {c[ACCEPTED]}[/green] · [red]{words[REJECTED]} {c[REJECTED]}[/red] · "
                  f"[yellow]{words[MISSING]} {c[MISSING]}[/yellow]"
                  + (f" · 名单外的报表 {c['not_on_roster']} 份" if c.get("not_on_roster") else ""))
    missing = [a["agency"] for a in roster["agencies"] if a["status"] == MISSING]
    if missing:
        shown = "、".join(escape(m) for m in missing[:max_names])
        more = f" 等 {len(missing)} 个" if len(missing) > max_names else ""
        console.print(f"  [yellow]{words[MISSING]}[/yellow]：{shown}{more}")
    if c["missing"] or c["rejected"]:
        console.print(f"  催报名单：{escape(out)}/missing.csv")


def problems_text(r: FileResult, limit: int) -> str:
    try:
        findings = r.findings
    except LookupError:   # a later run has replaced its verdict in the ledger (outputs.packed_result)
        return "[dim]（本次结果见 report.html / see report.html）[/dim]"
    if r.status == SKIPPED:
        return f"[dim]{escape(findings[0].message) if findings else ''}[/dim]"
    errors = [f for f in findings if f.is_error]
    warnings = [f for f in findings if f.severity == "warning"]
    # messages quote what agencies typed: escaped, so "[red]" typed in a cell stays text
    lines = [f"[red]{escape(_where(f))}[/red]{escape(f.message)}" for f in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"[red]…另有 {len(errors) - limit} 处错误[/red]")
    if warnings:
        lines.append(f"[yellow]警告 {len(warnings)} 处[/yellow]：" + "；".join(sorted({escape(f.title) for f in warnings})))
    return "\n".join(lines) or "[green]无[/green]"


def _where(f) -> str:
    return f"[{f.sheet}!{f.cell}] " if f.sheet and f.cell else (f"[{f.sheet}] " if f.sheet else "")


def print_file(r: FileResult, console: Console) -> None:
    console.print(f"{_MARK[r.status]}  {escape(r.agency or '')} {r.year or ''}  [dim]{escape(r.path)}[/dim]  "
                  f"({r.form or '未识别'})")
    for f in r.findings:
        color = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
        console.print(f"  [{color}]{SEVERITY_ZH.get(f.severity, f.severity)}[/{color}] [bold]{escape(f.title)}[/bold] "
                      f"[dim]({escape(f.code)})[/dim] {escape(_where(f) + f.message)}")
        console.print(f"       [dim]{escape(f.title_en)}: {escape(f.message_en)}[/dim]")
