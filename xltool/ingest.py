"""Ingest a folder of returned workbooks: a verdict and a canonical JSON per file, and a run report.

`process_file` is the whole pipeline for one file (guards, read, identify, check, document)
and never raises: whatever goes wrong becomes a finding. `ingest` walks the inbox, runs it on
every candidate file, writes `json/<relative path>.json` and `run.json` atomically under the
output folder, and never writes to the inbox.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .findings import ERROR, INFO, Code, Finding, printable, sort_key

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


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def process_file(path: Path, inbox: Path) -> FileResult:
    """The verdict on one file. Never raises; never writes."""
    from . import guard

    rel = printable(path.relative_to(inbox).as_posix())
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
    from .ledger import Ledger
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
                if r.document is not None:
                    r.json = json_name(r.path)
                    write_atomic(out / r.json, dumps(r.document))
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

            run_all(todo, inbox, jobs or os.cpu_count() or 1, done, timeout or DEFAULT_TIMEOUT)
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
    rel = printable(path.relative_to(inbox).as_posix())
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


# --- across files ---------------------------------------------------------------------------

SUPERSEDED = Code("superseded", INFO,
                  zh="同一单位同一年度有更新的文件“{newer}”，以新文件为准；本文件保留在历史记录中。",
                  en="A newer return of the same agency and year, {newer}, supersedes this file; it stays in the history.")
DUPLICATE_CONTENT = Code("duplicate-content", "warning",
                         zh="与“{other}”内容完全相同（重复提交），以“{other}”为准。",
                         en="Identical to {other} (sent twice); {other} is used.")
FILENAME_YEAR_MISMATCH = Code("filename-year-mismatch", "warning",
                              zh="文件名写的是 {name_year} 年，但报表中的报告年度是 {year} 年。请核对是否用错了年度的模板。",
                              en="The file name says {name_year}, but the workbook is for {year}. Check you used the right year's template.")
FILENAME_AGENCY_MISMATCH = Code("filename-agency-mismatch", "warning",
                                zh="文件名中是“{name_agency}”，但报表的填报单位是“{agency}”。请核对是否用错了其他单位的模板。",
                                en="The file name names {name_agency}, but the workbook is for {agency}. Check it is your own template.")


def annotate_across_files(results: list[FileResult]) -> None:
    """What only shows across files: the same return twice, a newer return, a file named for
    another year or agency. Adds findings to the run report (not to the per-file JSON)."""
    import re

    by_sha: dict[str, list[FileResult]] = {}
    for r in results:
        if r.status != SKIPPED and r.sha256:
            by_sha.setdefault(r.sha256, []).append(r)
    for copies in by_sha.values():
        first = min(copies, key=lambda r: (r.mtime, r.path))  # the one received first is the one used
        for r in copies:
            if r is not first:
                r.findings.append(DUPLICATE_CONTENT.at(other=first.path))
                r.superseded_by = first.path
    groups: dict[tuple[str, int], list[FileResult]] = {}
    for r in results:
        if r.agency and r.year and r.superseded_by is None and r.status != SKIPPED:
            groups.setdefault((r.agency, r.year), []).append(r)
    for group in groups.values():
        if len(group) < 2:
            continue
        newest = max(group, key=lambda r: (r.mtime, r.path))
        for r in group:
            if r is not newest:
                r.superseded_by = newest.path
                r.findings.append(SUPERSEDED.at(newer=newest.path))
    agencies = {r.agency for r in results if r.agency}
    for r in results:
        if not r.agency or r.status == SKIPPED:
            continue
        name = Path(r.path).name
        years = {int(y) for y in re.findall(r"(?<!\d)(20\d\d)(?!\d)", name)}
        if r.year and years and r.year not in years:
            r.findings.append(FILENAME_YEAR_MISMATCH.at(name_year=min(years), year=r.year))
        others = [a for a in agencies if a != r.agency and a in name and a not in r.agency]
        if others:
            r.findings.append(FILENAME_AGENCY_MISMATCH.at(name_agency=max(others, key=len), agency=r.agency))


FEEDBACK_DIR = "feedback"


def feedback_name(rel: str) -> str:
    """feedback/<relative path>, always .xlsx (an x.xls that is really an .xlsx -> x.xls.xlsx)."""
    return f"{FEEDBACK_DIR}/{rel}" if rel.lower().endswith(".xlsx") else f"{FEEDBACK_DIR}/{rel}.xlsx"


def write_outputs(report: RunReport) -> None:
    """After run.json: a marked-up copy of every rejected return that was read as a form,
    summary.xlsx and values.csv from the accepted returns in use, and report.html linking them."""
    from .aggregate import write_summary, write_values_csv
    from .canonical import loads
    from .feedback import write_feedback
    from .report_html import render_run_report

    inbox, out = Path(report.inbox), Path(report.out)
    links: dict[str, str] = {}
    for r in report.files:
        if r.status == REJECTED and r.form is not None and r.superseded_by is None:
            name = feedback_name(r.path)
            try:
                write_feedback(inbox / r.path, r.findings, out / name)
            except Exception:  # a marked-up copy is a courtesy: it must not stop the run
                continue
            links[r.path] = name
    _remove_stale_feedback(out, set(links.values()))
    # read back from json/: a file the ledger reused has no document in memory
    in_use = [loads((out / r.json).read_text(encoding="utf-8")) for r in report.files
              if r.status == ACCEPTED and r.superseded_by is None and r.json]
    write_summary(in_use, out / "summary.xlsx")
    write_values_csv(in_use, out / "values.csv")
    write_atomic(out / "report.html", render_run_report(report.to_dict(), links))


def _remove_stale_feedback(out: Path, current: set[str]) -> None:
    """A feedback workbook of a file that is now accepted (or gone) would only mislead."""
    for old in (out / FEEDBACK_DIR).rglob("*.xlsx"):
        if old.relative_to(out).as_posix() not in current:
            old.unlink(missing_ok=True)


def annotate_previous_year(results: list[FileResult], out: Path, previous: Path) -> None:
    """The cross-year warnings of each report, against its agency's report of the year before."""
    from .canonical import loads
    from .crossyear import check_against_previous, previous_reports
    from .spec import get_spec

    earlier = previous_reports(previous)
    for r in results:
        if r.status == SKIPPED or not (r.agency and r.year and r.form and r.json):
            continue
        prev = earlier.get((r.agency, r.year - 1))
        if prev is None:
            continue
        doc = r.document or loads((out / r.json).read_text(encoding="utf-8"))
        if doc.get("values"):
            r.findings.extend(check_against_previous(get_spec(r.form), doc["values"], prev))


def iter_errors(results: Iterable[FileResult]) -> Iterable[tuple[FileResult, Finding]]:
    for r in results:
        for f in r.findings:
            if f.is_error:
                yield r, f
