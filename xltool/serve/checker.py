"""Judging uploads: one background thread runs `xltool.ingest.run.ingest` over the inbox whenever
uploads are waiting, and hands each upload its verdict as soon as its worker finishes.

Why ingest itself and not a second pipeline: an upload is then checked exactly as `xltool ingest`
would check it (the same guard, worker processes with the same time and memory limits, the same
ledger, the same canonical JSON and feedback workbook), and the same run also refreshes run.json,
report.html, summary.xlsx and values.csv for the coordinator. Files the ledger knows are reused,
so a run costs a walk of the inbox plus the new files. Uploads arriving during a run wait for the
next one, which takes them all at once: that is the debounce. Ingest's lock on OUT keeps a
coordinator's own `xltool ingest` on the same folder from running at the same time (we wait).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any

from xltool.ingest.run import IngestBusy, ingest

log = logging.getLogger("xltool.serve")
KEPT_FEEDBACK = "serve-feedback"   # in OUT: each rejected upload's feedback workbook, as its agency got it
BUSY_RETRY_SECONDS = 1.0


class Checker:
    """Runs ingest in a thread; `submit(rel)` gives a Future of that file's run-report entry."""

    def __init__(self, inbox: Path, out: Path, jobs: int, timeout: float, on_run_done=None, previous: Path | None = None,
                 roster=None):
        self.inbox, self.out, self.jobs, self.timeout = Path(inbox), Path(out), jobs, timeout
        self.roster = roster               # collection.Roster: each run also writes the agencies' status and missing.csv
        self.previous = previous           # last year's outputs: the cross-year warnings, as `ingest --previous`
        self.on_run_done = on_run_done     # called after each run (the pages' cache listens)
        self._waiting: dict[str, list[Future]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xltool-serve-checker", daemon=True)
        self.runs = 0
        self.last_error: str | None = None

    def start(self, catch_up: bool = True) -> None:
        """Start the thread; with `catch_up`, run once at start (files waiting since a restart,
        outputs made current)."""
        if catch_up:
            self._wake.set()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def submit(self, rel: str) -> Future:
        fut: Future = Future()
        with self._lock:
            self._waiting.setdefault(rel, []).append(fut)
        self._wake.set()
        return fut

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._waiting)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                break
            self._wake.clear()
            self._run_once()

    def _run_once(self) -> None:

        with self._lock:
            wanted = set(self._waiting)
        try:
            ingest(self.inbox, self.out, jobs=self.jobs, timeout=self.timeout, previous=self.previous,
                   roster=self.roster, on_file=self._answer)
            self.last_error = None
        except IngestBusy:
            log.info("another ingest holds %s; trying again shortly", self.out)
            time.sleep(BUSY_RETRY_SECONDS)
            self._wake.set()
            return
        except Exception as e:   # the server must keep serving; the uploads waiting get an error
            log.exception("ingest failed")
            self.last_error = f"{type(e).__name__}: {e}"
            self._fail(wanted, e)
        finally:
            self.runs += 1
            if self.on_run_done:
                self.on_run_done()
        # a file waiting that the run did not list (removed meanwhile): tell its caller
        self._fail(wanted, FileNotFoundError("the upload was not found in the inbox"))

    def _answer(self, result) -> None:
        """ingest's on_file: a waiting upload gets its entry the moment its verdict exists."""
        if not result.unchanged and result.status == "rejected" and result.feedback:
            keep_feedback(self.out, result.path, result.feedback)
        with self._lock:
            futures = self._waiting.pop(result.path, [])
        if futures:
            entry: dict[str, Any] = result.entry()
            for fut in futures:
                _settle(fut, entry)

    def _fail(self, paths: set[str], error: Exception) -> None:
        with self._lock:
            futures = [f for p in paths for f in self._waiting.pop(p, [])]
        for fut in futures:
            _settle(fut, error=error)


def _settle(fut: Future, result: Any = None, error: Exception | None = None) -> None:
    """Give a waiting upload its answer, unless its request is gone (the future was cancelled):
    an exception here would stop the ingest run for everyone."""
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
    except InvalidStateError:
        pass


def kept_feedback(out: Path, rel: str) -> Path:
    return Path(out) / KEPT_FEEDBACK / f"{rel}.xlsx"


def keep_feedback(out: Path, rel: str, feedback: str) -> None:
    """Keep the feedback workbook the worker just wrote for this upload, under a second name (a hard
    link: no copy). The run's own feedback/ holds only the returns in use, so it drops the workbook
    of an upload sent twice or replaced by a newer one; the agency can still download what it was shown."""

    source = Path(out) / feedback   # the name the run recorded (outputs.output_names made it safe)
    target = kept_feedback(out, rel)
    if not source.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".link-{threading.get_ident()}-{target.name}")
    try:
        temp.unlink(missing_ok=True)
        os.link(source, temp)
        os.replace(temp, target)
    except OSError:
        log.warning("could not keep the feedback workbook of %s", rel)
        temp.unlink(missing_ok=True)
