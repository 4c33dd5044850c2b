"""What a run leaves for people, after run.json: feedback workbooks for the rejected returns,
summary.xlsx and values.csv from the accepted ones, and report.html linking them."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from xltool.fileio import files_under, write_atomic
from xltool.findings import ACCEPTED, REJECTED
from xltool.name_set import NameSet
from xltool.outputs import report_html as page
from xltool.outputs.output_names import FEEDBACK_DIR
from xltool.outputs.run_report import RunReport, bounded_text
from xltool.outputs.spliced_file import write_spliced

if TYPE_CHECKING:
    from xltool.outputs.summary import SummaryRows

SUMMARY_KEY = ".summary-key"      # which accepted returns summary.xlsx and values.csv were made from

CHILD_TIMEOUT = 300.0   # seconds a forked child may take: the page, or values.csv (10,000 files: about 1 s each)


class SummarySource(Protocol):
    """What the summary is made from: the stored SummaryRow fields of the accepted returns in use,
    in summary order. `keys` gives their raw inbox paths, again at each call (thousands of them:
    read as they are needed, never held). The ledger keeps the rows; an import holds them in memory."""

    def summary_rows(self, keys: Callable[[], Iterable[str]]) -> SummaryRows: ...


def write_outputs(report: RunReport, source: SummarySource, entries_key: str | None = None,
                  alongside: Callable[[], None] | None = None) -> None:
    """Links to the feedback workbooks the workers drew for the rejected returns in use (this
    process never draws one: a hostile file would do it here, without limits), summary.xlsx and
    values.csv from the accepted returns in use (remade only when that set changed, from the rows
    the ledger keeps), and report.html linking them (its file sections copied from the last page
    when `entries_key`, see ingest.run, is the same). The three are made at once, each by a forked
    child process, while this one does `alongside()` (ingest: run.json, whose reads of the ledger
    may mark a damaged record to be checked again, which only this process may do)."""
    out = Path(report.out)
    present = _keep_drawn_feedback(out, NameSet(feedback for _, feedback in report.files.fields("feedback") if feedback))

    def links() -> Iterator[tuple[str, str]]:
        """(path, feedback workbook) of each rejected return in use whose workbook is there, in
        the run's order: made again where it is needed, never held (thousands of rejected returns)."""
        for _, path, feedback, status, superseded_by in report.files.fields("path", "feedback", "status", "superseded_by"):
            if feedback and status == REJECTED and superseded_by is None and feedback in present:
                yield path, feedback

    sections_key = None if entries_key is None else _lines_key(links(), head=f"{entries_key}\0")
    started = [in_forked_child(lambda: write_report_html(report, dict(links()), out / "report.html", sections_key))]
    try:
        started.append(_start_summaries(report, out, source))
        if alongside is not None:
            alongside()
    except BaseException:
        with suppress(Exception):
            _wait_for_all(started)      # no child left behind; this error is the one said
        raise
    _wait_for_all(started)


def _wait_for_all(waits: list[Callable[[], None]]) -> None:
    """Wait for each child, even past one that failed; then raise the first failure."""
    failure: BaseException | None = None
    for wait in waits:
        try:
            wait()
        except BaseException as e:
            failure = failure or e
    if failure is not None:
        raise failure


def in_forked_child(work: Callable[[], None]) -> Callable[[], None]:
    """work() started in a child process forked now (before any thread of this run's outputs),
    so that it runs beside this process's own work on another core. Returns what waits for the
    child; if the child could not do it (or there is no fork here), work() is done again in this
    process, where its error is raised and said like any other. The child never prints, never
    touches the ledger and leaves by os._exit (no handlers of this process run twice). Called
    outside the main thread (the intake server runs ingest in a thread of its own, beside threads
    it does not own), work() is simply done here, later: such a process is never forked."""
    if threading.current_thread() is not threading.main_thread():
        return work
    try:
        pid = os.fork()
    except (AttributeError, OSError):
        return work
    if pid == 0:   # the child
        code = 1
        try:
            work()
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)

    def wait() -> None:
        deadline = time.monotonic() + CHILD_TIMEOUT
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:   # stuck (a lock another thread held at the fork): never waited for
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        if os.waitstatus_to_exitcode(status) != 0:
            work()

    return wait


def write_report_html(report: RunReport, links: dict[str, str], target: Path, sections_key: str | None = None) -> None:
    """report.html, byte for byte report_html.render_run_report(report.to_dict(), links), written
    file section by file section: the full entries (findings and all) of thousands of files are never
    in memory together, only the few fields the index and the order need (tests/test_outputs.py
    checks that both give the same page). The index and the sections are the body of a spliced
    file (outputs.spliced_file), named by `sections_key`; the counts above them are written anew."""

    head = report.to_dict(entries=False)

    def sections(put) -> None:
        # the page's order, as page._file_order: each file's index fields, read once; then each
        # file's entry, read whole one at a time
        index = [_index_fields(*row) for row in report.files.fields(*_INDEX_FIELDS)]
        order = sorted(range(len(index)), key=lambda i: page._file_order(index[i]))
        put(page.INDEX_HEAD.encode())
        for n, i in page._numbered(order):
            put((("\n" if n > 1 else "") + page.index_row(n, index[i])).encode())
        put(page.INDEX_TAIL.encode())
        for n, i in page._numbered(order):
            entry = report.files[i].entry()
            put(("\n" + page._file_section(n, entry, links.get(entry.get("path", "")))).encode())

    write_spliced(target, page.page_top(head).encode(), sections_key, sections, page.page_bottom(head).encode())


_INDEX_FIELDS = ("path", "status", "agency", "year", "form", "errors", "warnings")


def _index_fields(_, path, status, agency, year, form, errors, warnings) -> dict[str, Any]:
    """What report.html's order and index read of a file's entry (FileResult.entry's values),
    from its row of report.files.fields(*_INDEX_FIELDS)."""
    return {"path": path, "status": status, "agency": bounded_text(agency, 200), "year": year, "form": form,
            "errors": errors, "warnings": warnings}


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def in_use(report: RunReport) -> Iterator[tuple[str, str]]:
    """(raw path, sha256) of each accepted return whose numbers count: not superseded, not a copy
    of another."""
    for _, raw_path, sha256, status, superseded_by in report.files.fields("raw_path", "sha256", "status", "superseded_by"):
        if status == ACCEPTED and superseded_by is None:
            yield raw_path, sha256


def _start_summaries(report: RunReport, out: Path, source: SummarySource) -> Callable[[], None]:
    """summary.xlsx and values.csv, each started in a forked child, unless the accepted returns in
    use are the ones they were made from; returns what waits for both and then records them
    (SUMMARY_KEY). Not threads: values.csv's thousands of steps that let go of the GIL (a row read
    from SQLite, a digest) would each wait for it again beside the workbook's Python."""
    key = _lines_key(in_use(report))   # the accepted returns in use: their names and hashes
    key_file = out / SUMMARY_KEY
    if _read_key(key_file) == key and (out / "summary.xlsx").is_file() and (out / "values.csv").is_file():
        return lambda: None  # the same accepted returns as last time: the same sums
    from xltool.outputs.summary import write_summary_rows, write_values_csv_rows  # only when they change

    rows = source.summary_rows(lambda: (raw_path for raw_path, _ in in_use(report)))
    values_csv_written = in_forked_child(lambda: write_values_csv_rows(rows, out / "values.csv"))
    workbook_written = in_forked_child(lambda: write_summary_rows(rows, out / "summary.xlsx"))

    def wait() -> None:
        _wait_for_all([workbook_written, values_csv_written])
        write_atomic(key_file, key)   # only once both are written

    return wait


def _lines_key(pairs: Iterable[tuple[str, str]], head: str = "") -> str:
    """The hash of `head` and then of the pairs, a line each: fed line by line, not as one text
    of thousands of lines (megabytes, held only to be hashed)."""
    digest = hashlib.sha256(head.encode("utf-8", "surrogateescape"))
    for i, (a, b) in enumerate(pairs):
        digest.update(f"{chr(10) if i else ''}{a}\t{b}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _keep_drawn_feedback(out: Path, drawn: NameSet) -> NameSet:
    """The feedback workbooks in the output folder that the run's files drew; the others (of a
    file that is now accepted, or gone) are removed: they would only mislead. Removed once the
    folder has been read to its end: a network share's listing can skip names when the folder
    changes while it is read."""
    stale: list[str] = []      # a few: the returns that were rejected and are now accepted or gone

    def kept() -> Iterator[str]:
        for name in files_under(out, FEEDBACK_DIR, ".xlsx"):
            if name in drawn:
                yield name
            else:
                stale.append(name)

    present = NameSet(kept())
    for name in stale:
        (out / name).unlink(missing_ok=True)
    return present
