"""`xltool ingest` and `validate`: the collection's returns checked, and one file checked before it is sent."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from xltool.cli.app import (
    command,
    console,
    each_done,
    escape,
    fail,
    flag,
    progress_bar,
)


@command("ingest")
def ingest_cmd(
    inbox: Path = typer.Argument(..., help="folder of returned workbooks (searched recursively; never written to)"),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="output folder: json/, run.json"),
    as_json: bool = flag("--json", "print the run report (JSON) instead of the table"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="worker processes, 1 or more (default: the machine's cores)"),
    full: bool = flag("--full", "reprocess every file, not only new or changed ones"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds one file may take before it is rejected (1 or more)"),
    previous: Path | None = typer.Option(None, "--previous", help="last year's output folder (or JSON folder): "
                                            "adds the cross-year warnings, matched by agency"),
    roster: Path | None = typer.Option(None, "--roster", help="CSV of the agencies asked to report (docs/roster.md): "
                                          "each gets its status; OUT/missing.csv lists who is still missing"),
) -> None:
    """Read, recalculate and validate every returned workbook; write canonical JSON and a run report.

    Files already seen with the same content (the ledger in --out) are reported, not processed
    again. With --roster, every agency on it is 已通过 accepted, 退回待改 rejected or 未报送
    missing (run.json, report.html, OUT/missing.csv). Exit code: 0 every file accepted, 1 some
    file rejected, 2 usage error, busy, or an output folder that cannot be written; 3 internal
    error (details in OUT/xltool-error.log).

    Examples:

      xltool ingest samples/inbox --out out --roster samples/roster.csv

      xltool ingest inbox2024/ --out out2024 --previous out2023
    """
    from xltool.ingest.ledger import LedgerTooNew
    from xltool.ingest.run import IngestBusy, OutputInsideInbox, OutputUnusable, ingest
    from xltool.outputs.terminal import print_run

    if not inbox.exists():
        fail(f"[red]收件目录不存在 / no such folder:[/red] {escape(str(inbox))}")
    if not inbox.is_dir():
        fail(f"[red]收件目录应为文件夹，这是一个文件 / the inbox must be a folder; this is a file:[/red] {escape(str(inbox))}"
              f"\n检查单个文件请用 / to check one file use: xltool validate {escape(str(inbox))}")
    if jobs is not None and jobs < 1:
        fail(f"[red]--jobs 应为 1 或更大的整数（现为 {jobs}）/ --jobs must be 1 or more (got {jobs})[/red]")
    if not timeout >= 1:
        fail(f"[red]--timeout 应至少为 1 秒（现为 {timeout}）/ --timeout must be at least 1 second (got {timeout})[/red]")
    loaded = _roster_or_exit(roster) if roster is not None else None
    err = console(True)
    with progress_bar("校验 / checking") as bar:
        task = bar.add_task("ingest", total=None)
        if previous is not None and not previous.is_dir():
            err.print(f"[red]找不到上年的结果目录 / no such folder:[/red] {escape(str(previous))}")
            raise typer.Exit(2)
        try:
            report = ingest(inbox, out, jobs=jobs, full=full, timeout=timeout, previous=previous, roster=loaded,
                            on_start=lambda n: bar.update(task, total=n), on_file=each_done(bar, task))
        except (OutputInsideInbox, IngestBusy, OutputUnusable, LedgerTooNew) as e:
            err.print(f"[red]{escape(str(e))}[/red]")
            raise typer.Exit(2)
        except Exception:   # a bug: the traceback goes to a log, the user gets one line and exit code 3
            err.print(f"[red]{escape(_log_internal_error(out))}[/red]")
            raise typer.Exit(3)
    for notice in report.notices:
        err.print(f"[yellow]注意 / note:[/yellow] {escape(notice.message)} / {escape(notice.message_en)}")
    if as_json:   # run.json as written (streamed there: thousands of entries are not encoded twice)
        with open(Path(report.out) / "run.json", encoding="utf-8") as run_json:
            shutil.copyfileobj(run_json, sys.stdout)   # a piece at a time: run.json of 10,000 files is megabytes
    else:
        print_run(report, console())
    raise typer.Exit(report.exit_code)


def _roster_or_exit(path: Path):
    """The roster for a collection, or exit 2 with every problem and its line number. Columns the
    roster does not use are named on stderr (they are not an error)."""
    from xltool.collection.status import load_roster
    from xltool.generate.roster import RosterError

    notes: list[tuple[int, str]] = []
    try:
        loaded = load_roster(path, notes=notes)
    except RosterError as e:
        fail(f"[red]{escape(str(e))}[/red]")
    for line, note in notes:
        console(True).print(f"[yellow]注意 / note:[/yellow] {escape(f'{path}:{line}: {note}')}")
    return loaded


INTERNAL_ERROR_LOG = "xltool-error.log"


def _log_internal_error(out: Path) -> str:
    """Write the current exception's traceback to OUT/xltool-error.log (or a temp file when OUT cannot
    be written); the one-line message that points to it."""
    import tempfile
    import traceback

    text = traceback.format_exc()
    for folder in (out, Path(tempfile.gettempdir())):
        log = folder / INTERNAL_ERROR_LOG
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
            break
        except OSError:
            continue
    else:
        return f"xltool 内部错误 / internal error: {text.strip().splitlines()[-1]}"
    return (f"xltool 内部错误，运行已中止；详细信息见 {log}，请把该文件发给管理员。 / "
            f"Internal error, the run stopped; details in {log}: send that file to the administrator.")


@command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="one filled workbook (.xlsx)"),
    as_json: bool = flag("--json", "print the canonical JSON document"),
) -> None:
    """Check one workbook before sending it: the same checks as ingest. Writes nothing.

    Exit code: 0 no errors, 1 errors found, 2 usage error.

    Example: xltool validate 测试局.xlsx
    """
    from xltool.findings import REJECTED
    from xltool.ingest.pipeline import process_file
    from xltool.outputs.terminal import print_file

    if file.is_dir():
        fail(f"[red]这是一个文件夹，validate 检查单个文件 / this is a folder; validate checks one file:[/red] "
              f"{escape(str(file))}\n检查整个文件夹请用 / for a whole folder use: xltool ingest {escape(str(file))} --out out")
    if not file.is_file():
        fail(f"[red]找不到文件 / no such file:[/red] {escape(str(file))}")
    result = process_file(file.resolve(), file.resolve().parent)
    if as_json:
        from xltool.form.canonical import dumps
        sys.stdout.write(dumps(result.document))
    else:
        print_file(result, console())
    raise typer.Exit(1 if result.status == REJECTED else 0)
