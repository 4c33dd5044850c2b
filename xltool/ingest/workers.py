"""Run the per-file pipeline in worker processes, each file under a time and a memory limit.

A file that takes too long is abandoned (its worker is killed and replaced) and one that needs
too much memory fails with MemoryError inside its worker: either way that file gets a finding
and the run goes on. Workers are forked after the forms are loaded and their formulas compiled,
so each starts ready.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from xltool.calc.model import model_for
from xltool.fileio import sha256_of
from xltool.findings import ERROR, REJECTED, Code
from xltool.form.canonical import document
from xltool.form.forms import available_forms, get_spec
from xltool.ingest.pipeline import (
    FATAL_OUTPUT_ERRNOS,
    PARENT_HASH_LIMIT,
    checked_now,
    raw_relative,
    relative_name,
)
from xltool.outputs.run_report import FileResult

FILE_TIMEOUT = Code("file-timeout", ERROR,
                    zh="处理这个文件超过了 {seconds} 秒，已放弃。文件可能异常庞大或已损坏：请在 Excel/WPS 中打开，另存为新的 .xlsx 后再提交。",
                    en="Processing took longer than {seconds} s and was abandoned. The file may be abnormally large or damaged: "
                       "open it in Excel/WPS, save it as a new .xlsx and send it again.")
WORKER_CRASHED = Code("worker-crashed", ERROR,
                      zh="处理这个文件时程序异常退出（{reason}）。请另存为新的 .xlsx 后再提交；如仍出现请联系管理员。",
                      en="The worker processing this file stopped unexpectedly ({reason}). Save it as a new .xlsx and send it "
                         "again; if it happens again, tell the administrator.")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 1024


def warm_up() -> None:
    """Load every form and compile its formulas once, before workers are forked; then take
    everything loaded so far out of the cyclic garbage collector's sight (gc.freeze): it lives
    for the whole run, and each full collection in a worker would walk it again (some 3 ms,
    a few times a second). Forked workers also keep sharing those pages instead of copying
    them when the collector touches them."""

    for form_id in available_forms():
        model_for(get_spec(form_id).layout)
    gc.freeze()


def _limit_memory(budget_mb: int) -> None:
    """Cap this worker's address space at what it uses now plus a budget."""
    try:
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        limit = vm + budget_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, StopIteration, ValueError):
        pass  # not Linux: no cap, the guards still bound every file


# A worker's young objects are a return's parsed parts: thousands of elements a file, all gone
# when the file is done. At the default thresholds (700, 10, 10) the collector ran a few dozen
# times a file and walked everything left (the shared trees, the forms) every ten files or so, a
# fifteenth of a worker's time. Rarer collections find the same garbage; the memory cap still holds.
WORKER_GC_THRESHOLDS = (10_000, 50, 100)


def _initializer(budget_mb: int) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _limit_memory(budget_mb)
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


CHUNK = 8    # files a worker checks per task: each task costs the parent a few thread wake-ups and both sides
             # a round trip; eight files a task took some 8% off a 2,000-file run (scripts/bench.py)


def run_all(task: Callable, paths: Iterable[Path | str], inbox: Path, jobs: int, on_result: Callable,
            timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
    """task(path) for every path, in worker processes; on_result(path, result) in this process as
    each finishes, the result being what task returned (ingest: a StoredVerdict) or, for a file
    whose worker gave no answer (time-out, crash), a FileResult made here. `task` must be picklable (a module function or a partial).
    A path is let go of once its result is handed over (an inbox may hold 100,000 files).

    Workers take the files a few at a time (up to CHUNK), under the time limit of one file. A few files
    that took longer together, or whose worker died, are taken again one by one: each file gets
    its own verdict and its own limit, as if it had always been alone."""
    paths = paths if hasattr(paths, "popleft") else deque(paths)   # a deque, or path_spool's queue
    if not paths:
        return
    from pebble import ProcessPool  # only when there is work: a re-run with nothing changed starts faster

    warm_up()
    ctx = multiprocessing.get_context("fork")
    window = max(1, jobs) * 4  # tasks in flight: enough to keep workers busy, few enough to keep memory flat
    # groups small enough that a few files still go to every worker (six files: one each, not six to one)
    size = max(1, min(CHUNK, len(paths) // window))
    alone: deque = deque()      # files of a group that failed, to take again one by one
    with ProcessPool(max_workers=max(1, jobs), initializer=_initializer, initargs=(memory_mb,), context=ctx) as pool:
        futures = {}

        def fill() -> None:
            while len(futures) < window and (paths or alone):
                # a file of a failed group, alone, before any new group
                group = (alone.popleft(),) if alone else tuple(paths.popleft() for _ in range(min(size, len(paths))))
                futures[pool.schedule(_each, args=(task, group), timeout=timeout)] = group
        fill()
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    group = futures.pop(fut)
                    results = _results_of(fut, group, inbox, timeout)
                    if results is None:
                        alone.extend(group)
                    else:
                        for path, result in zip(group, results, strict=True):
                            on_result(path, result)
                fill()
        except BaseException:
            pool.stop()   # the output folder is full or read-only, or the run was interrupted: no more files
            raise


def _each(task: Callable, group: tuple) -> list:
    return [task(path) for path in group]


def _results_of(fut, group: tuple, inbox: Path, timeout: float) -> list | None:
    """The group's results; None when a group of several files failed (they go again, alone)."""
    try:
        return fut.result()
    except Exception as e:
        if isinstance(e, OSError) and not isinstance(e, TimeoutError) and e.errno in FATAL_OUTPUT_ERRNOS:
            raise  # the output folder, not this file: the run stops with a clear message
        if len(group) > 1:
            return None
        if isinstance(e, TimeoutError):
            return [_failed(group[0], inbox, FILE_TIMEOUT.at(seconds=int(timeout)))]
        # the worker died (killed, out of memory at C level, ...)
        return [_failed(group[0], inbox, WORKER_CRASHED.at(reason=f"{type(e).__name__}: {str(e)[:120]}"))]


def _failed(path: Path | str, inbox: Path, finding):
    """The verdict on a file whose worker gave no answer."""
    path = Path(path)

    try:   # the file may be gone by now (deleted while its worker ran)
        st = os.lstat(path)
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size, mtime = 0, 0.0
    try:   # never blocks (a FIFO put in its place) nor reads without end
        digest = sha256_of(path, PARENT_HASH_LIMIT)
    except OSError:
        digest = ""
    rel, key = relative_name(path, inbox), raw_relative(path, inbox)
    r = FileResult(rel, size, mtime, digest, REJECTED, [finding], key="" if key == rel else key, checked_at=checked_now())
    r.document = document(spec=None, values=None, findings=r.findings, file_name=Path(r.path).name, sha256=digest,
                          status=REJECTED)
    return r
