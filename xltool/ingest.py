"""Ingest a folder of returned workbooks: a verdict and a canonical JSON per file, and a run report.

`process_file` is the whole pipeline for one file (guards, read, identify, check, document)
and never raises: whatever goes wrong becomes a finding. `ingest` walks the inbox, runs it on
every candidate file, writes `json/<relative path>.json` and `run.json` atomically under the
output folder, and never writes to the inbox.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .findings import ERROR, Code, Finding, printable, sort_key

ACCEPTED, REJECTED, SKIPPED = "accepted", "rejected", "skipped"
RETRY_CODES = {"worker-crashed", "file-timeout"}
CANDIDATE_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".xlt", ".et", ".ett", ".xltx", ".xltm", ".ods", ".csv"}

UNREADABLE = Code("unreadable", ERROR,
                  zh="文件无法读取（{reason}）。请用 Excel/WPS 打开确认无误后，另存为 .xlsx 再提交。",
                  en="The file could not be read ({reason}). Open it in Excel/WPS, check it, save as .xlsx and send it again.")
MEMORY_LIMIT = Code("memory-limit", ERROR,
                    zh="处理这个文件需要的内存超过了上限，已放弃。文件可能异常庞大：请另存为新的 .xlsx，只保留报表本身后再提交。",
                    en="Processing this file needed more memory than allowed and was abandoned. Save it as a new .xlsx with "
                       "only the report in it and send it again.")


@dataclass
class FileResult:
    path: str                        # relative to the inbox, with / separators
    size: int
    mtime: float
    sha256: str
    status: str
    findings: list[Finding] = field(default_factory=list)
    form: str | None = None
    agency: str | None = None
    year: int | None = None
    document: dict[str, Any] | None = None
    json: str | None = None          # output path, relative to the output folder
    unchanged: bool = False          # known to the ledger with the same content: not processed again
    superseded_by: str | None = None  # a newer return of the same agency and year

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def entry(self) -> dict[str, Any]:
        """The run report's entry for this file."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "status": self.status,
                "form": self.form, "agency": self.agency, "year": self.year, "json": self.json,
                "errors": self.errors, "warnings": self.warnings, "unchanged": self.unchanged,
                "superseded_by": self.superseded_by, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_entry(cls, e: dict[str, Any], mtime: float) -> "FileResult":
        return cls(e["path"], e["size"], mtime, e["sha256"], e["status"], [Finding.from_dict(f) for f in e["findings"]],
                   e.get("form"), e.get("agency"), e.get("year"), json=e.get("json"))


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
    """The verdict on one file. Never raises; never writes."""
    from . import guard

    rel = relative_name(path, inbox)
    try:
        st = os.lstat(path)
        size, mtime = st.st_size, st.st_mtime
    except OSError as e:
        return FileResult(rel, 0, 0.0, "", REJECTED, [UNREADABLE.at(reason=e.strerror or str(e))])
    skip = guard.skip_reason(path, inbox)
    if skip is not None:
        return FileResult(rel, size, mtime, "", SKIPPED, [skip])
    try:
        digest = sha256_of(path)
    except OSError as e:
        return FileResult(rel, size, mtime, "", REJECTED, [UNREADABLE.at(reason=e.strerror or str(e))])
    result = FileResult(rel, size, mtime, digest, REJECTED)
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
    from . import guard
    from .identify import identify
    from .read import read_workbook
    from .rules import check_workbook

    inspected = guard.inspect_file(path)
    result.findings.extend(inspected.findings)
    if not inspected.parseable:
        return None, None
    data = read_workbook(path)
    ident = identify(data)
    result.findings.extend(ident.findings)
    result.agency = ident.meta.get("agency") or None
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
    from .canonical import document

    doc = document(spec=spec, values=values, findings=result.findings, file_name=Path(result.path).name,
                   sha256=result.sha256, status=result.status)
    result.agency = doc["agency"] or result.agency
    result.year = doc["year"] if doc["year"] is not None else result.year
    result.document = doc


# --- the folder -------------------------------------------------------------------------------

def candidates(inbox: Path) -> list[Path]:
    """Every file under the inbox that could be a return, in a stable order. Symlinks are
    listed (the guard decides about them) but never followed into directories."""
    found = []
    for root, dirs, files in os.walk(inbox, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in CANDIDATE_SUFFIXES or name.startswith("~$") or not p.suffix:
                found.append(p)
        # a linked folder is never walked; list it so that the guard reports it instead of it vanishing
        found.extend(Path(root) / name for name in dirs if os.path.islink(os.path.join(root, name)))
    return found


def json_name(rel: str) -> str:
    return f"json/{rel}.json"


def write_atomic(target: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename: a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass
class RunReport:
    inbox: str
    out: str
    files: list[FileResult]

    def stats(self) -> dict[str, Any]:
        by_code: dict[str, int] = {}
        for r in self.files:
            for f in r.findings:
                by_code[f.code] = by_code.get(f.code, 0) + 1
        return {
            "files": len(self.files),
            "accepted": sum(r.status == ACCEPTED for r in self.files),
            "rejected": sum(r.status == REJECTED for r in self.files),
            "skipped": sum(r.status == SKIPPED for r in self.files),
            "superseded": sum(r.superseded_by is not None for r in self.files),
            "unchanged": sum(r.unchanged for r in self.files),
            "errors": sum(r.errors for r in self.files),
            "warnings": sum(r.warnings for r in self.files),
            "findings_by_code": dict(sorted(by_code.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        from . import __version__
        return {"xltool_version": __version__, "inbox": self.inbox, "out": self.out,
                "stats": self.stats(), "files": [r.entry() for r in self.files]}

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status == REJECTED for r in self.files) else 0


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

    def __enter__(self) -> "OutputLock":
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
           previous: Path | None = None, on_file: Callable[[FileResult], None] | None = None,
           on_start: Callable[[int], None] | None = None) -> RunReport:
    """Process every new or changed candidate file of the inbox; write json/ and run.json under `out`.

    Files the ledger already knows with the same content are reported from it, not processed
    again (`full=True` reprocesses everything). Each file's JSON is written atomically and then
    recorded in the ledger; run.json is written last, atomically. With `previous` (last year's
    output folder or JSON folder), each report is also checked against its agency's report of
    the year before.
    """
    from .canonical import dumps
    from .crossfile import annotate_across_files, annotate_previous_year
    from .ledger import Ledger
    from .outputs import process_and_write, write_outputs
    from .workers import DEFAULT_TIMEOUT, run_all

    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if out == inbox or inbox in out.parents:
        raise OutputInsideInbox(f"输出目录不能在收件目录之内 / the output folder must not be inside the inbox: {out}")
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        _clear_temp_files(out)
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
            write_atomic(out / "run.json", dumps(report.to_dict()))
            write_outputs(report)
            return report
        finally:
            ledger.close()


def _clear_temp_files(out: Path) -> None:
    """Temp files left by a run that was killed mid-write (we hold the lock: none is in use)."""
    for tmp in out.rglob(".tmp-*"):
        try:
            tmp.unlink()
        except OSError:
            pass


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
