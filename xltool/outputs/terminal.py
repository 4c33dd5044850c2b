"""Terminal rendering of an ingest run and of one file's findings (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.findings import ACCEPTED, REJECTED, SKIPPED
from xltool.outputs.run_report import FileResult, RunReport

_MARK = {ACCEPTED: "[green]✓ 通过[/green]", REJECTED: "[red]✗ 退回[/red]", SKIPPED: "[dim]– 跳过[/dim]"}
_ORDER = {REJECTED: 0, ACCEPTED: 1, SKIPPED: 2}


def print_run(report: RunReport, console: Console, max_problems: int = 3, max_rows: int = 40) -> None:
    """One row per file, returns to send back first. A large run lists only the rejected ones
    (at most `max_rows`): report.html has every agency."""
    ordered = sorted(report.files, key=lambda r: (_ORDER[r.status], r.agency or "", r.path))
    shown = ordered if len(ordered) <= max_rows else [r for r in ordered if r.status == REJECTED][:max_rows]
    table = Table(title="收件校验结果 / ingest results", show_lines=True, expand=True)
    table.add_column("状态", no_wrap=True)
    table.add_column("单位 / 年度 / 文件", ratio=2)
    table.add_column("需要修改的问题 / what to fix", ratio=5)
    for r in shown:
        who = f"{escape(r.agency or '（未识别单位）')}  {r.year or ''}\n[dim]{escape(r.path)}[/dim]"
        table.add_row(_MARK[r.status], who, problems_text(r, max_problems))
    if shown:
        console.print(table)
    if len(shown) < len(ordered):
        console.print(f"[dim]（文件较多，上表只列出 {len(shown)} 个退回的文件；全部 {len(ordered)} 个单位的结果见 "
                      f"{escape(report.out)}/report.html）[/dim]")
    s = report.stats()
    console.print(f"共 {s['files']} 个文件：[green]通过 {s['accepted']}[/green]，[red]退回 {s['rejected']}[/red]，"
                  f"跳过 {s['skipped']}；错误 {s['errors']} 处，警告 {s['warnings']} 处。"
                  f"\n报告：{report.out}/report.html　退回文件的批注版：{report.out}/feedback/　"
                  f"汇总：{report.out}/summary.xlsx、values.csv　数据：{report.out}/json/、run.json")


def problems_text(r: FileResult, limit: int) -> str:
    if r.status == SKIPPED:
        return f"[dim]{escape(r.findings[0].message) if r.findings else ''}[/dim]"
    errors = [f for f in r.findings if f.is_error]
    warnings = [f for f in r.findings if f.severity == "warning"]
    # messages quote what agencies typed: escaped, so "[red]" typed in a cell stays text
    lines = [f"[red]{escape(_where(f))}[/red]{escape(f.message)}" for f in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"[red]…另有 {len(errors) - limit} 处错误[/red]")
    if warnings:
        lines.append(f"[yellow]警告 {len(warnings)} 处[/yellow]：" + "；".join(sorted({f.code for f in warnings})))
    return "\n".join(lines) or "[green]无[/green]"


def _where(f) -> str:
    return f"[{f.sheet}!{f.cell}] " if f.sheet and f.cell else (f"[{f.sheet}] " if f.sheet else "")


def print_file(r: FileResult, console: Console) -> None:
    console.print(f"{_MARK[r.status]}  {escape(r.agency or '')} {r.year or ''}  [dim]{escape(r.path)}[/dim]  "
                  f"({r.form or '未识别'})")
    for f in r.findings:
        color = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
        console.print(f"  [{color}]{f.severity:7}[/{color}] {f.code:22} {escape(_where(f) + f.message)}")
        console.print(f"  {'':7} {'':22} [dim]{escape(f.message_en)}[/dim]")
