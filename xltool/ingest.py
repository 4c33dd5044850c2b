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

from .findings import ERROR, INFO, Code, Finding, sort_key

ACCEPTED, REJECTED, SKIPPED = "accepted", "rejected", "skipped"
CANDIDATE_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".xltx", ".xltm", ".ods", ".csv"}

UNREADABLE = Code("unreadable", ERROR,
                  zh="文件无法读取（{reason}）。请用 Excel/WPS 打开确认无误后，另存为 .xlsx 再提交。",
                  en="The file could not be read ({reason}). Open it in Excel/WPS, check it, save as .xlsx and send it again.")
NOT_A_RETURN = Code("not-a-return", INFO,
                    zh="不是报表文件（扩展名 {suffix}），已跳过。",
                    en="Not a workbook (extension {suffix}); skipped.")


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
                "errors": self.errors, "warnings": self.warnings,
                "findings": [f.to_dict() for f in self.findings]}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def process_file(path: Path, inbox: Path) -> FileResult:
    """The verdict on one file. Never raises; never writes."""
    from . import guard

    rel = path.relative_to(inbox).as_posix()
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

    doc = document(spec=spec, values=values, findings=result.findings, file_name=path.name,
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


def ingest(inbox: Path, out: Path, on_file: Callable[[FileResult], None] | None = None,
           on_start: Callable[[int], None] | None = None) -> RunReport:
    """Process every candidate file of the inbox; write json/ and run.json under `out`."""
    from .canonical import dumps

    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if out == inbox or inbox in out.parents:
        # the outputs would become inputs of the next run
        raise ValueError(f"输出目录不能在收件目录之内 / the output folder must not be inside the inbox: {out}")
    files = candidates(inbox)
    if on_start:
        on_start(len(files))
    results: list[FileResult] = []
    for path in files:
        r = process_file(path, inbox)
        if r.document is not None:
            r.json = json_name(r.path)
            write_atomic(out / r.json, dumps(r.document))
        results.append(r)
        if on_file:
            on_file(r)
    report = RunReport(str(inbox), str(out), results)
    write_atomic(out / "run.json", dumps(report.to_dict()))
    return report


def iter_errors(results: Iterable[FileResult]) -> Iterable[tuple[FileResult, Finding]]:
    for r in results:
        for f in r.findings:
            if f.is_error:
                yield r, f
