"""The per-file pipeline: one file's bytes to its verdict, canonical JSON and feedback workbook.

`process_file` is the whole pipeline for one file (guards, read, identify, check, document)
and never raises: whatever goes wrong becomes a finding. `process_and_write` also writes that
file's own outputs; it runs in a worker process (see workers.py).
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from xltool.checks.identify import identify
from xltool.checks.rules import check_workbook
from xltool.fileio import sha256_of, write_atomic
from xltool.findings import ACCEPTED, ERROR, INFO, REJECTED, SKIPPED, WARNING, Code, printable, sort_key
from xltool.form.canonical import document, dumps
from xltool.ingest.walk import skip_reason
from xltool.outputs.feedback import write_feedback
from xltool.outputs.output_names import feedback_name, json_name
from xltool.outputs.packed_result import StoredVerdict
from xltool.outputs.run_report import FileResult, bounded_findings
from xltool.outputs.summary_rows import summary_row
from xltool.xlsx.returned import open_return

RETRY_CODES = {"worker-crashed", "file-timeout", "output-blocked"}
FEEDBACK_SHARE = 0.8   # of the time limit: a feedback workbook starts only before this, and stops there
# errors of the output folder as a whole: the run cannot go on (the caller says so and exits 2)
FATAL_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}

UNREADABLE = Code("unreadable", ERROR,
                  zh="文件无法读取（{reason}）。请用 Excel/WPS 打开确认无误后，另存为 .xlsx 再提交。",
                  en="The file could not be read ({reason}). Open it in Excel/WPS, check it, save as .xlsx and send it again.")
MEMORY_LIMIT = Code("memory-limit", ERROR,
                    zh="处理这个文件需要的内存超过了上限，已放弃。文件可能异常庞大：请另存为新的 .xlsx，只保留报表本身后再提交。",
                    en="Processing this file needed more memory than allowed and was abandoned. Save it as a new .xlsx with "
                       "only the report in it and send it again.")


OUTPUT_BLOCKED = Code("output-blocked", WARNING,
                      zh="无法写入本文件的结果 {name}：输出目录中该位置已有同名的文件夹或文件（{reason}）。请移走它后重新运行。",
                      en="This file's output {name} could not be written: a folder or file of that name is in the way "
                         "({reason}). Move it away and run again.")
FEEDBACK_NOT_DRAWN = Code("feedback-not-drawn", INFO,
                          zh="本文件的批注版（退回修改用的工作簿）没有生成（{reason}）；请按本报告所列问题修改。",
                          en="This file's feedback workbook was not made ({reason_en}); correct the file using the "
                             "findings listed here.")
_OVER_LIMITS = {"reason": "超出了时间或内存上限", "reason_en": "it exceeded the time or memory limit"}
_NOT_DRAWABLE = {"reason": "无法在该文件上标注", "reason_en": "it could not be drawn on this file"}


def raw_relative(path: Path, inbox: Path) -> str:
    """A file's path relative to the inbox as the file system has it (may hold undecodable bytes)."""
    return path.relative_to(inbox).as_posix()


def relative_name(path: Path, inbox: Path) -> str:
    """A file's name in reports: relative to the inbox, / separators, always valid Unicode."""
    return printable(raw_relative(path, inbox))


PARENT_HASH_LIMIT = 64 * 1024 * 1024   # bytes the ingest process hashes itself (a changed file, a timed-out one)


def process_file(path: Path, inbox: Path) -> FileResult:
    """The verdict on one file. Never raises; never writes.

    The file is read once (xlsx.returned.open_return, bounded by the size cap); its sha256, the guard's
    verdict and the parsed workbook all come from those same bytes, so a file replaced while it
    is checked is judged, hashed and parsed as one version. The bytes and the parsed workbook stay
    on the result (`source`, `workbook`) for the feedback workbook, until process_and_write drops them.
    """
    rel, key = relative_name(path, inbox), raw_relative(path, inbox)
    key = "" if key == rel else key
    try:
        st = os.lstat(path)
        size, mtime = st.st_size, st.st_mtime
        taken = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    except OSError as e:
        return FileResult(rel, 0, 0.0, "", REJECTED, [UNREADABLE.at(reason=e.strerror or str(e))], key=key)
    skip = skip_reason(path, inbox)
    if skip is not None:
        return FileResult(rel, size, mtime, "", SKIPPED, [skip], key=key, stat=taken)
    result = FileResult(rel, size, mtime, "", REJECTED, key=key, stat=taken)
    spec, values = None, None
    try:
        spec, values = _check(path, result)
    except MemoryError:
        result.findings.append(MEMORY_LIMIT.at())
        spec, values = None, None
    except Exception as e:  # a hostile or broken file must not stop the run
        result.findings.append(UNREADABLE.at(reason=f"{type(e).__name__}: {str(e)[:200]}"))
        spec, values = None, None
    result.findings.sort(key=sort_key)
    result.findings = bounded_findings(result.findings)   # a return can raise findings without end
    ok = values is not None and not any(f.is_error for f in result.findings)
    result.status = ACCEPTED if ok else REJECTED
    _document(result, path, spec, values)
    return result


def _check(path: Path, result: FileResult):
    """Guards, read, identify, check. Adds findings to `result`; returns (spec, values), where
    values is None when the file could not be read as a form."""
    returned = open_return(path)   # read once, guarded and read over one opened package
    inspected = returned.guard
    if inspected.data is not None:
        result.sha256 = hashlib.sha256(inspected.data).hexdigest()
        result.source = inspected.data
    else:  # not read (not a regular file, unreadable, over the size cap): the verdict is about the file
        try:
            result.sha256 = sha256_of(path, PARENT_HASH_LIMIT)   # a 20 GB file is not read to the end
        except OSError:
            result.sha256 = ""
    result.findings.extend(inspected.findings)
    if not inspected.parseable:
        return None, None
    data = returned.read()
    result.workbook = data
    ident = identify(data)
    result.findings.extend(ident.findings)
    result.agency = ident.meta.get("agency") or None
    result.issued_agency = result.agency
    result.code = ident.meta.get("code") or None
    year = ident.meta.get("year", "")
    result.year = int(year) if year.isdigit() else None
    if ident.spec is None:
        return None, None
    result.form = ident.spec.id
    if any(f.is_error for f in ident.findings):  # another edition: its cells are not where we would read
        return ident.spec, None
    checked = check_workbook(ident.spec, data)
    result.findings.extend(checked.findings)
    return ident.spec, checked.values


def _document(result: FileResult, path: Path, spec, values) -> None:
    doc = document(spec=spec, values=values, findings=result.findings, file_name=Path(result.path).name,
                   sha256=result.sha256, status=result.status)
    result.agency = doc["agency"] or result.agency
    result.code = doc["code"] or result.code
    result.year = doc["year"] if doc["year"] is not None else result.year
    result.document = doc


def check_in_worker(path: Path | str, inbox: Path, out: Path, timeout: float | None = None) -> StoredVerdict:
    """process_and_write, and its verdict in the form the ledger stores it: all a worker sends back."""
    r = process_and_write(path, inbox, out, timeout)
    return StoredVerdict.of(r, retry=needs_retry(r))


def needs_retry(r: FileResult) -> bool:
    """A crash, a time-out or a blocked output says more about this run than about the file: it is
    checked again next time."""
    return any(f.code in RETRY_CODES for f in r.findings)


def process_and_write(path: Path | str, inbox: Path, out: Path, timeout: float | None = None) -> FileResult:
    """One file's verdict and its own outputs, in the worker that checked it: the canonical JSON
    and, for a rejected return read as a form, its feedback workbook. The JSON is written before
    the caller records the verdict in the ledger, so a kill between the two only repeats work.

    The feedback workbook is drawn under what is left of the time limit (`timeout`): a file whose
    feedback would take longer keeps its verdict and goes without one. Only the small verdict goes
    back to the parent: the entry, and for an accepted return its share of the summary."""
    started = time.monotonic()
    path = Path(path)   # the run hands over path strings: a Path each would cost the parent 0.4 KB a file
    r = process_file(path, inbox)
    r.checked_at = checked_now()
    write_json(out, r)
    if r.status == REJECTED and r.form is not None:
        name = feedback_name(r.raw_path)
        left = None if timeout is None else timeout * FEEDBACK_SHARE - (time.monotonic() - started)
        drawn = _with_alarm(left, lambda: write_feedback_for(inbox, out, r, name)) if left is None or left > 0 else None
        if drawn:
            r.feedback = name
        else:
            r.findings.append(FEEDBACK_NOT_DRAWN.at(**(_OVER_LIMITS if drawn is None else _NOT_DRAWABLE)))
    if r.status == ACCEPTED and r.document is not None:
        r.summary = summary_row(r.document)
    r.source = r.workbook = r.document = None
    return r


def checked_now() -> str:
    """A verdict's time: UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(out: Path, r: FileResult) -> None:
    """The canonical JSON of `r` under its safe name. A folder or file in the way gives the file a
    finding (and a retry next run); the output folder full or read-only stops the run (OSError).
    Not flushed to disk here: the ingest flushes once per ledger batch, before recording it."""
    if r.document is None:
        return
    name = json_name(r.raw_path)
    try:
        write_atomic(out / name, dumps(r.document), fsync=False)
        r.json = name
    except (IsADirectoryError, NotADirectoryError, FileExistsError) as e:
        r.findings.append(OUTPUT_BLOCKED.at(name=name, reason=e.strerror or type(e).__name__))
    except OSError as e:
        if e.errno in FATAL_OUTPUT_ERRNOS:
            raise
        r.findings.append(OUTPUT_BLOCKED.at(name=name, reason=e.strerror or type(e).__name__))


class _OutOfTime(BaseException):   # not caught by the `except Exception` of the drawing code
    pass


def _with_alarm(seconds: float | None, work) -> bool | None:
    """work() -> bool, stopped by SIGALRM after `seconds` (None: no limit; not in the main thread:
    the worker's own time limit still applies). None when stopped or out of memory."""

    def _raise(signum, frame):
        raise _OutOfTime()

    armed = False
    if seconds is not None:
        try:
            old, armed = signal.signal(signal.SIGALRM, _raise), True
        except ValueError:
            pass
    if not armed:
        try:
            return bool(work())
        except MemoryError:
            return None
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return bool(work())
    except (_OutOfTime, MemoryError):
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def write_feedback_for(inbox: Path, out: Path, r: FileResult, name: str) -> bool:
    """The feedback workbook of a rejected return, drawn in the worker that checked it. Not flushed
    to disk here: the ingest syncs the output folder before it records the file in the ledger."""
    try:
        write_feedback(r.source if r.source is not None else inbox / r.raw_path, r.findings,
                       out / name, form=r.form, workbook=r.workbook, fsync=False)
        return True
    except MemoryError:
        raise   # over the worker's memory cap: the caller says so
    except Exception:  # a marked-up copy is a courtesy: it must not stop the run
        return False
