"""The run report as data: one entry per file (its verdict and findings) and the totals.

Ingest builds it; run.json, report.html, the terminal and the summary render it. Nothing here
reads or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xltool.findings import ACCEPTED, ERROR, REJECTED, SKIPPED, Finding


def json_name(rel: str) -> str:
    """A file's canonical JSON, relative to the output folder."""
    return f"json/{rel}.json"


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
    issued_agency: str | None = None  # the agency the template was issued to (its hidden sheet)
    code: str | None = None          # 统一社会信用代码, from the code cell or the hidden sheet
    # while the worker holds the file: the bytes that were judged and the workbook parsed from them
    source: bytes | None = field(default=None, repr=False, compare=False)
    workbook: Any = field(default=None, repr=False, compare=False)

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
                "superseded_by": self.superseded_by, "issued_agency": self.issued_agency, "code": self.code,
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_entry(cls, e: dict[str, Any], mtime: float) -> FileResult:
        return cls(e["path"], e["size"], mtime, e["sha256"], e["status"], [Finding.from_dict(f) for f in e["findings"]],
                   e.get("form"), e.get("agency"), e.get("year"), json=e.get("json"),
                   issued_agency=e.get("issued_agency"), code=e.get("code"))


@dataclass
class RunReport:
    inbox: str
    out: str
    files: list[FileResult]
    roster: dict[str, Any] | None = None   # the collection against a roster (xltool.collection), when given

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
        from xltool.version import __version__
        out = {"xltool_version": __version__, "inbox": self.inbox, "out": self.out,
               "stats": self.stats(), "files": [r.entry() for r in self.files]}
        if self.roster is not None:
            out["roster"] = self.roster
        return out

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status == REJECTED for r in self.files) else 0
