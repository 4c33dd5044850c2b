"""What a run leaves for people, after run.json: feedback workbooks for the rejected returns,
summary.xlsx and values.csv from the accepted ones, and report.html linking them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from xltool.fileio import write_atomic
from xltool.findings import ACCEPTED, REJECTED
from xltool.outputs.output_names import FEEDBACK_DIR
from xltool.outputs.run_report import FileResult, RunReport

SUMMARY_KEY = ".summary-key"      # which accepted returns summary.xlsx and values.csv were made from
REPORT_KEY = ".report-key"        # which run report and feedback links report.html was made from

class SummarySource(Protocol):
    """What the summary is made from, per accepted return in use (by raw inbox path): kept by the
    ledger, streamed in summary order."""

    def partials(self, keys: set[str]) -> Iterable[dict[str, Any]]: ...   # identity and table values

    def csv_rows(self, keys: set[str]) -> Iterable[str]: ...              # its rows of values.csv


def write_feedback_for(inbox: Path, out: Path, r: FileResult, name: str) -> bool:
    """The feedback workbook of a rejected return, drawn in the worker that checked it. Not flushed
    to disk here: the ingest syncs the output folder before it records the file in the ledger."""
    from xltool.outputs.feedback import write_feedback
    try:
        write_feedback(r.source if r.source is not None else inbox / r.raw_path, r.findings,
                       out / name, form=r.form, workbook=r.workbook, fsync=False)
        return True
    except MemoryError:
        raise   # over the worker's memory cap: the caller says so
    except Exception:  # a marked-up copy is a courtesy: it must not stop the run
        return False


def write_outputs(report: RunReport, source: SummarySource, run_json_sha: str | None = None) -> None:
    """After run.json: links to the feedback workbooks the workers drew for the rejected returns in
    use (this process never draws one: a hostile file would do it here, without limits),
    summary.xlsx and values.csv from the accepted returns in use (remade only when that set
    changed, from the values the ledger keeps), and report.html linking them."""
    from xltool.outputs.report_html import render_run_report

    out = Path(report.out)
    links: dict[str, str] = {}
    for r in report.files:
        if r.feedback and r.status == REJECTED and r.superseded_by is None and (out / r.feedback).is_file():
            links[r.path] = r.feedback
    _remove_stale_feedback(out, {r.feedback for r in report.files if r.feedback})
    _write_summaries(report, out, source)
    key = hashlib.sha256(((run_json_sha or "") + repr(sorted(links.items()))).encode("utf-8")).hexdigest()
    if run_json_sha is not None and _read_key(out / REPORT_KEY) == key and (out / "report.html").is_file():
        return  # the same run report as last time: the same page
    write_atomic(out / "report.html", render_run_report(report.to_dict(), links))
    write_atomic(out / REPORT_KEY, key)


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def in_use(report: RunReport) -> list[FileResult]:
    """The accepted returns whose numbers count: not superseded, not a copy of another."""
    return [r for r in report.files if r.status == ACCEPTED and r.superseded_by is None]


def _write_summaries(report: RunReport, out: Path, source: SummarySource) -> None:
    from xltool.outputs.summary import write_summary, write_values_csv_rows

    used = in_use(report)
    key = hashlib.sha256("\n".join(f"{r.raw_path}\t{r.sha256}" for r in used)
                         .encode("utf-8", "surrogateescape")).hexdigest()
    key_file = out / SUMMARY_KEY
    if _read_key(key_file) == key and (out / "summary.xlsx").is_file() and (out / "values.csv").is_file():
        return  # the same accepted returns as last time: the same sums
    keys = {r.raw_path for r in used}
    write_summary(source.partials(keys), out / "summary.xlsx")
    write_values_csv_rows(source.csv_rows(keys), out / "values.csv")
    write_atomic(key_file, key)


def _remove_stale_feedback(out: Path, current: set[str]) -> None:
    """A feedback workbook of a file that is now accepted (or gone) would only mislead."""
    for old in (out / FEEDBACK_DIR).rglob("*.xlsx"):
        if old.is_file() and old.relative_to(out).as_posix() not in current:
            old.unlink(missing_ok=True)
