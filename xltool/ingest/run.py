"""Ingest a folder: every new or changed return through the per-file pipeline, then the run's outputs.

`ingest` walks the inbox, reuses the ledger's verdicts for unchanged files, runs the pipeline in
worker processes for the others, adds the cross-file findings, and writes run.json and the
outputs for people. It holds a lock on the output folder and never writes to the inbox. Its
memory does not grow with the inbox: the names it goes through are kept by ingest.path_spool,
the results by outputs.stored_run_files.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import sqlite3
import zlib
from collections.abc import Callable
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.collection.attach import attach_collection
from xltool.fileio import FolderBusy, FolderLock, clear_temp_files, files_under, sha256_of
from xltool.findings import WARNING, Code, printable
from xltool.ingest.crossfile import annotate_across_files, annotate_previous_year
from xltool.ingest.ledger import FileStat, Known, Ledger, LedgerEntries
from xltool.ingest.path_spool import PathSpool
from xltool.ingest.walk import candidates
from xltool.name_set import NameSet
from xltool.outputs.output_names import FEEDBACK_DIR, JSON_DIR
from xltool.outputs.packed_result import PackedResult, StoredVerdict
from xltool.outputs.run_files import RunFiles
from xltool.outputs.run_json import write_run_json
from xltool.outputs.run_outputs import write_outputs
from xltool.outputs.run_report import FileResult, RunReport
from xltool.outputs.stored_run_files import StoredRunFiles
from xltool.version import __version__

if TYPE_CHECKING:
    from xltool.collection.status import Roster

FOLDER_UNREADABLE = Code("folder-unreadable", WARNING,
                         zh="收件目录中的文件夹“{name}”无法读取（{reason}），其中的文件都没有校验。请检查该文件夹的权限后重新运行。",
                         en="The inbox folder {name} could not be read ({reason}); none of the files in it were checked. "
                            "Check its permissions and run again.")


class IngestBusy(RuntimeError):
    """Another ingest holds the output folder."""


class OutputInsideInbox(ValueError):
    """The outputs would become inputs of the next run."""


class OutputUnusable(RuntimeError):
    """The output folder cannot be written: read-only, full, not a folder, no permission."""

    @classmethod
    def of(cls, e: Exception, out: Path) -> OutputUnusable:
        code = getattr(e, "errno", None)
        text = str(e).lower()
        if code == errno.ENOSPC or code == errno.EDQUOT or "full" in text:
            zh, en = "磁盘已满", "the disk is full"
        elif code == errno.EROFS or "readonly" in text or "read-only" in text:
            zh, en = "只读，无法写入", "it is read-only"
        elif code in (errno.EACCES, errno.EPERM):
            zh, en = "没有写入权限", "no permission to write there"
        elif code in (errno.ENOTDIR, errno.EEXIST):
            zh, en = "不是文件夹", "it is not a folder"
        else:
            zh, en = f"系统错误：{e}", f"system error: {e}"
        where = printable(getattr(e, "filename", None) or str(out))
        return cls(f"无法写入输出目录 {printable(str(out))}：{zh}（{where}）。请换一个输出目录（--out）或腾出空间后重新运行。 / "
                   f"Cannot write to the output folder {printable(str(out))}: {en} ({where}). Use another folder (--out) "
                   f"or free some space and run again.")


class OutputLock(FolderLock):
    """One ingest per output folder (fileio.FolderLock on OUT/.xltool-ingest.lock)."""

    def __init__(self, out: Path):
        super().__init__(out, ".xltool-ingest.lock")

    def acquire(self) -> None:
        try:
            super().acquire()
        except FolderBusy as e:
            raise IngestBusy(f"另一个 xltool ingest（进程 {e.pid}）正在写入 {self.path.parent}，请等它结束后再运行。 / "
                             f"another xltool ingest (pid {e.pid}) is writing to {self.path.parent}; wait for it to "
                             "finish.") from None


def ingest(inbox: Path, out: Path, jobs: int | None = None, full: bool = False, timeout: float | None = None,
           previous: Path | None = None, roster: Roster | None = None, on_file: Callable[[FileResult], None] | None = None,
           on_start: Callable[[int], None] | None = None) -> RunReport:
    """Process every new or changed candidate file of the inbox; write json/ and run.json under `out`.

    Files the ledger already knows with the same content are reported from it, not processed
    again (`full=True` reprocesses everything). Each file's JSON is written atomically and then
    recorded in the ledger; then run.json is written, atomically, and beside it summary.xlsx,
    values.csv and report.html (outputs.run_outputs), each made only as far as it changed. With `previous` (last year's
    output folder or JSON folder), each report is also checked against its agency's report of
    the year before. With `roster` (xltool.collection.load_roster), every agency on it gets its
    status (run.json's `roster`, OUT/missing.csv). An output folder that cannot be written
    (read-only, full, not a folder) raises OutputUnusable; a ledger of a newer xltool raises LedgerTooNew.
    """
    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if out == inbox or inbox in out.parents:
        raise OutputInsideInbox(f"输出目录不能在收件目录之内 / the output folder must not be inside the inbox: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with OutputLock(out):
            return _ingest_locked(inbox, out, jobs, full, timeout, previous, roster, on_file, on_start)
    except OSError as e:
        raise OutputUnusable.of(e, out) from e
    except sqlite3.OperationalError as e:   # the ledger cannot be written: read-only, disk full
        raise OutputUnusable.of(e, out) from e


def _ingest_locked(inbox, out, jobs, full, timeout, previous, roster, on_file, on_start) -> RunReport:
    clear_temp_files(out)
    ledger = Ledger(out, before_commit=partial(sync_folder, out))
    stored = LedgerEntries(ledger)   # the results keep their scalars; their entries stay in the ledger
    spool = PathSpool()    # the walk's names and the files left to check, on disk: an inbox may hold 100,000
    try:
        notices = [ledger.moved_aside] if ledger.moved_aside else []
        # in the ledger's order (the raw names' bytes): each file's record is met as its file is reached
        files = spool.sorted_paths(candidates(inbox, on_unreadable=lambda folder, e: notices.append(
            _unreadable_folder(folder, inbox, e))))
        if on_start:
            on_start(len(files))
        # every result goes to disk as it comes: the run holds none of them
        results = StoredRunFiles(out, stored)
        todo = spool.queue()   # run_all takes the files to check from it a few at a time
        known = None if full or ledger.is_empty() else ledger.known_records()
        inbox_prefix = len(os.path.join(os.fspath(inbox), ""))   # the walk's paths all start with it
        # the outputs there are, found once: whether each known file's are still there is a lookup
        outputs = NameSet(() if known is None else
                          chain(files_under(out, JSON_DIR, ".json"), files_under(out, FEEDBACK_DIR, ".xlsx")))
        reused = None
        for path in files:
            key = path[inbox_prefix:]    # raw_relative(path, inbox), without pathlib's cost per file
            reused = None if known is None else _reuse(path, key, outputs, known.take(os.fsencode(key)), ledger, stored)
            if reused is None:
                todo.append(path)
                continue
            results.add(reused)
            if on_file:
                on_file(reused)
        del known, outputs, reused
        if todo:
            _check(todo, inbox, out, jobs, timeout, ledger, stored, results, on_file)
        ledger.commit()   # every record of this run is committed before any is read back
        ordered = results.finish()
        annotate_across_files(ordered)
        if previous is not None:
            notices.extend(annotate_previous_year(ordered, out, previous))
        report = RunReport(str(inbox), str(out), ordered, notices)
        attach_collection(report, roster)
        entries_key = _entries_key(ledger, ordered, inbox, out, previous, roster)
        write_outputs(report, ledger, entries_key, alongside=lambda: write_run_json(out / "run.json", report, entries_key))
        return report
    finally:
        spool.close()
        stored.close()
        ledger.close()


def _check(todo, inbox: Path, out: Path, jobs: int | None, timeout: float | None, ledger: Ledger,
           stored: LedgerEntries, results: StoredRunFiles, on_file: Callable[[FileResult], None] | None) -> None:
    """The files to check, in worker processes; each verdict is recorded and its result kept
    as it comes. The checking stack (the readers, the rules, the forms) is loaded here, so that
    a re-run with nothing new to check starts without it."""
    from xltool.ingest.pipeline import check_in_worker, needs_retry, write_json
    from xltool.ingest.workers import DEFAULT_TIMEOUT, run_all

    def done(path: str, verdict: StoredVerdict | FileResult) -> None:
        if isinstance(verdict, FileResult):   # a file whose worker gave no answer: its verdict is made here
            write_json(out, verdict)
            verdict = StoredVerdict.of(verdict, retry=needs_retry(verdict))
        ledger.record(verdict)
        r = PackedResult.from_head(verdict.head, stored, verdict.mtime, verdict.key)   # its scalars only
        results.add(r)
        if on_file:
            on_file(r)

    run_all(partial(check_in_worker, inbox=inbox, out=out, timeout=timeout or DEFAULT_TIMEOUT), todo, inbox,
            jobs or os.cpu_count() or 1, done, timeout or DEFAULT_TIMEOUT)


def _entries_key(ledger: Ledger, ordered: RunFiles, inbox: Path, out: Path, previous, roster) -> str | None:
    """A name for the run report's entries: what every file's entry is made from (its name, its
    mtime, its verdict as stored: Ledger.entries_digest), the roster's bytes (a return not on it
    gets a finding), the version and the folders. Two runs with the same key make the same
    entries, so run.json and report.html copy them from the last run's files (outputs.spliced_file).
    None with --previous, whose folder is not part of the key."""
    if previous is not None:
        return None
    key = hashlib.sha256(f"{__version__}\0{inbox}\0{out}\0{len(ordered)}\0".encode("utf-8", "surrogateescape"))
    if roster is not None:
        try:
            key.update(Path(roster.path).read_bytes())
        except OSError:
            return None
    key.update(ledger.entries_digest(raw for _, raw in ordered.fields("raw_path")))
    return key.hexdigest()


@lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL("libc.so.6", use_errno=True)


def sync_folder(folder: Path) -> None:
    """Flush the output folder's file system to disk, once per ledger batch: the workers write
    the JSON documents without an fsync each (syncfs(2) where there is one, else sync(2))."""
    try:
        libc = _libc()
        fd = os.open(folder, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def _unreadable_folder(folder: str, inbox: Path, e: OSError):
    from xltool.ingest.pipeline import relative_name

    try:
        name = relative_name(Path(folder), inbox)
    except ValueError:
        name = printable(str(folder))
    return FOLDER_UNREADABLE.at(name=name, reason=e.strerror or type(e).__name__)


def _reuse(path: str, key: str, outputs: NameSet, k: Known | None, ledger: Ledger,
           stored: LedgerEntries) -> PackedResult | None:
    """The ledger's verdict `k` when the content is what the ledger saw last time and its outputs
    (by name in the output folder) are all in `outputs`, else None. Any difference in size, mtime,
    ctime or inode means the content is hashed and compared again (content can change with the
    size and mtime put back)."""
    if k is None:
        return None
    if (k.json and k.json not in outputs) or (k.feedback and k.feedback not in outputs):
        return None  # an output went missing: make it again
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) != k[:4]:   # Known's size, mtime, ctime, inode
        from xltool.ingest.pipeline import PARENT_HASH_LIMIT  # a file touched since: rare

        try:
            if not k.sha256 or st.st_size != k.size or sha256_of(path, PARENT_HASH_LIMIT) != k.sha256:
                return None
        except OSError:
            return None
        ledger.touch(key, FileStat.of(st))
    try:
        if k.head is not None:
            return PackedResult.from_head(k.head, stored, st.st_mtime_ns / 1e9, key, unchanged=True)
        return PackedResult.from_stored(k.entry_packed, stored, st.st_mtime_ns / 1e9, key, unchanged=True)
    except (ValueError, KeyError, TypeError, AttributeError, zlib.error):
        return None   # a record the ledger cannot give back: check the file again
