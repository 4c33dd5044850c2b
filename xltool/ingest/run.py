"""Ingest a folder: every new or changed return through the per-file pipeline, then the run's outputs.

`ingest` walks the inbox, reuses the ledger's verdicts for unchanged files, runs the pipeline in
worker processes for the others, adds the cross-file findings, and writes run.json and the
outputs for people. It holds a lock on the output folder and never writes to the inbox.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from xltool.collection.attach import attach_collection
from xltool.collection.status import Roster
from xltool.fileio import clear_temp_files, write_atomic
from xltool.form.canonical import dumps
from xltool.ingest.crossfile import annotate_across_files, annotate_previous_year
from xltool.ingest.ledger import Ledger
from xltool.ingest.pipeline import RETRY_CODES, process_and_write, relative_name, sha256_of
from xltool.ingest.walk import candidates
from xltool.ingest.workers import DEFAULT_TIMEOUT, run_all
from xltool.outputs.run_outputs import write_outputs
from xltool.outputs.run_report import FileResult, RunReport, json_name


class IngestBusy(RuntimeError):
    """Another ingest holds the output folder."""


class OutputInsideInbox(ValueError):
    """The outputs would become inputs of the next run."""


class OutputLock:
    """One ingest per output folder. A POSIX record lock: released when the process dies
    (even by SIGKILL), and not inherited by the forked workers."""

    def __init__(self, out: Path):
        self.path = out / ".xltool-ingest.lock"
        self.fh = None

    def __enter__(self) -> OutputLock:
        import fcntl
        self.fh = open(self.path, "a+")
        try:
            fcntl.lockf(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            pid = self.fh.read().strip() or "?"
            self.fh.close()
            raise IngestBusy(f"另一个 xltool ingest（进程 {pid}）正在写入 {self.path.parent}，请等它结束后再运行。 / "
                             f"another xltool ingest (pid {pid}) is writing to {self.path.parent}; wait for it to finish.")
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(str(os.getpid()))
        self.fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self.fh:
            self.fh.close()  # closing releases the lock


def ingest(inbox: Path, out: Path, jobs: int | None = None, full: bool = False, timeout: float | None = None,
           previous: Path | None = None, roster: Roster | None = None, on_file: Callable[[FileResult], None] | None = None,
           on_start: Callable[[int], None] | None = None) -> RunReport:
    """Process every new or changed candidate file of the inbox; write json/ and run.json under `out`.

    Files the ledger already knows with the same content are reported from it, not processed
    again (`full=True` reprocesses everything). Each file's JSON is written atomically and then
    recorded in the ledger; run.json is written last, atomically. With `previous` (last year's
    output folder or JSON folder), each report is also checked against its agency's report of
    the year before. With `roster` (xltool.collection.load_roster), every agency on it gets its
    status (run.json's `roster`, OUT/missing.csv).
    """
    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if out == inbox or inbox in out.parents:
        raise OutputInsideInbox(f"输出目录不能在收件目录之内 / the output folder must not be inside the inbox: {out}")
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        clear_temp_files(out)
        ledger = Ledger(out)
        try:
            files = candidates(inbox)
            if on_start:
                on_start(len(files))
            results: dict[str, FileResult] = {}
            todo: list[Path] = []
            known = {} if full else ledger.known()
            for path in files:
                reused = _reuse(path, inbox, out, known, ledger)
                if reused is None:
                    todo.append(path)
                    continue
                results[reused.path] = reused
                if on_file:
                    on_file(reused)

            def done(path: Path, r: FileResult) -> None:
                if r.document is not None and r.json is None:  # a file whose worker gave no answer
                    r.json = json_name(r.path)
                    write_atomic(out / r.json, dumps(r.document))
                r.document = None  # on disk now; thousands of them need not stay in memory
                try:
                    mtime_ns = os.lstat(path).st_mtime_ns
                except OSError:
                    mtime_ns = 0
                # a crash or a time-out says more about this run than about the file: try it again next time
                retry = any(f.code in RETRY_CODES for f in r.findings)
                ledger.record(r.entry(), mtime_ns, remember=not retry)
                results[r.path] = r
                if on_file:
                    on_file(r)

            run_all(partial(process_and_write, inbox=inbox, out=out), todo, inbox, jobs or os.cpu_count() or 1, done,
                    timeout or DEFAULT_TIMEOUT)
            ordered = [results[k] for k in sorted(results)]
            annotate_across_files(ordered)
            if previous is not None:
                annotate_previous_year(ordered, out, previous)
            report = RunReport(str(inbox), str(out), ordered)
            attach_collection(report, roster)
            write_atomic(out / "run.json", dumps(report.to_dict()))
            write_outputs(report)
            return report
        finally:
            ledger.close()


def _reuse(path: Path, inbox: Path, out: Path, known, ledger) -> FileResult | None:
    """The ledger's verdict when this file's content is what it saw last time; else None."""
    rel = relative_name(path, inbox)
    k = known.get(rel)
    if k is None:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if k.json and not (out / k.json).is_file():
        return None  # its output went missing: make it again
    if st.st_size != k.size:
        return None
    if st.st_mtime_ns != k.mtime_ns:
        if not k.sha256 or sha256_of(path) != k.sha256:
            return None
        ledger.touch(rel, st.st_mtime_ns)
    r = FileResult.from_entry(k.entry, st.st_mtime)
    r.unchanged = True
    return r
