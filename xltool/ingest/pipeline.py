"""The per-file pipeline: one file's bytes to its verdict, canonical JSON and feedback workbook.

`process_file` is the whole pipeline for one file (guards, read, identify, check, document)
and never raises: whatever goes wrong becomes a finding. `process_and_write` also writes that
file's own outputs; it runs in a worker process (see workers.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from xltool.checks.identify import identify
from xltool.checks.rules import check_workbook
from xltool.fileio import write_atomic
from xltool.findings import ACCEPTED, ERROR, REJECTED, SKIPPED, Code, printable, sort_key
from xltool.form.canonical import document, dumps
from xltool.ingest.walk import skip_reason
from xltool.outputs.run_outputs import write_feedback_for
from xltool.outputs.run_report import FileResult, json_name
from xltool.xlsx.returned import open_return

RETRY_CODES = {"worker-crashed", "file-timeout"}

UNREADABLE = Code("unreadable", ERROR,
                  zh="文件无法读取（{reason}）。请用 Excel/WPS 打开确认无误后，另存为 .xlsx 再提交。",
                  en="The file could not be read ({reason}). Open it in Excel/WPS, check it, save as .xlsx and send it again.")
MEMORY_LIMIT = Code("memory-limit", ERROR,
                    zh="处理这个文件需要的内存超过了上限，已放弃。文件可能异常庞大：请另存为新的 .xlsx，只保留报表本身后再提交。",
                    en="Processing this file needed more memory than allowed and was abandoned. Save it as a new .xlsx with "
                       "only the report in it and send it again.")


def relative_name(path: Path, inbox: Path) -> str:
    """A file's name in reports: relative to the inbox, / separators, always valid Unicode."""
    return printable(path.relative_to(inbox).as_posix())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def process_file(path: Path, inbox: Path) -> FileResult:
    """The verdict on one file. Never raises; never writes.

    The file is read once (xlsx.returned.open_return, bounded by the size cap); its sha256, the guard's
    verdict and the parsed workbook all come from those same bytes, so a file replaced while it
    is checked is judged, hashed and parsed as one version. The bytes and the parsed workbook stay
    on the result (`source`, `workbook`) for the feedback workbook, until process_and_write drops them.
    """
    rel = relative_name(path, inbox)
    try:
        st = os.lstat(path)
        size, mtime = st.st_size, st.st_mtime
    except OSError as e:
        return FileResult(rel, 0, 0.0, "", REJECTED, [UNREADABLE.at(reason=e.strerror or str(e))])
    skip = skip_reason(path, inbox)
    if skip is not None:
        return FileResult(rel, size, mtime, "", SKIPPED, [skip])
    result = FileResult(rel, size, mtime, "", REJECTED)
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
            result.sha256 = sha256_of(path)
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


def process_and_write(path: Path, inbox: Path, out: Path) -> FileResult:
    """One file's verdict and its own outputs, in the worker that checked it: the canonical JSON
    and, for a rejected return read as a form, its feedback workbook. The JSON is written before
    the caller records the verdict in the ledger, so a kill between the two only repeats work."""
    r = process_file(path, inbox)
    if r.document is not None:
        r.json = json_name(r.path)
        write_atomic(out / r.json, dumps(r.document))
    if r.status == REJECTED and r.form is not None:
        write_feedback_for(inbox, out, r)
    r.source = r.workbook = None   # only the small verdict goes back to the parent
    return r
