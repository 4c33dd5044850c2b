"""The run report as data: one entry per file (its verdict and findings) and the totals.

Ingest builds it; run.json, report.html, the terminal and the summary render it. Nothing here
reads or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import simplejson

from xltool.findings import ACCEPTED, ERROR, INFO, REJECTED, SKIPPED, Code, Finding
from xltool.outputs.run_files import RunFiles, as_run_files
from xltool.version import __version__

FINDINGS_MAX = 200        # per file in run.json, report.html and the ledger; the JSON document has the same
TEXT_MAX = 2000           # characters of any text stored in an entry (a message, an argument, a name)

MORE_FINDINGS = Code("more-findings", INFO,
                     zh="还有 {count} 条问题未列出（只列出前 {shown} 条）。请先改正以上问题后再提交，其余问题会在下次校验时列出。",
                     en="{count} more findings are not listed (only the first {shown}). Correct the ones above and send "
                        "the file again; the rest will be listed then.")


def bounded_text(value: Any, limit: int = TEXT_MAX) -> Any:
    """A string cut to at most `limit` characters, ending with a mark saying how much was cut (so a
    cut text is not cut again); other values as they are."""
    if isinstance(value, str) and len(value) > limit:
        keep = max(0, limit - 48)            # room for the mark
        cut = len(value) - keep
        return value[:keep] + f"…（另有{cut}字 / +{cut} chars）"
    return value


def bounded_finding(f: Finding) -> Finding:
    """A finding whose texts are bounded: a return's own text (a cell, a sheet name) may be megabytes."""
    if _is_bounded(f):
        return f
    args = {k: bounded_text(v, 200) if isinstance(v, str) else v for k, v in list(f.args.items())[:50]}
    return Finding(code=bounded_text(f.code, 100), severity=f.severity, sheet=bounded_text(f.sheet, 100),
                   cell=bounded_text(f.cell, 20), ids=f.ids, args=args,   # ids name the form's cells: bounded by it
                   message=bounded_text(f.message), message_en=bounded_text(f.message_en))


def _is_bounded(f: Finding) -> bool:
    return (len(f.message) <= TEXT_MAX and len(f.message_en) <= TEXT_MAX and len(f.args) <= 50
            and len(f.sheet or "") <= 100 and len(f.cell or "") <= 20 and len(f.code) <= 100
            and all(len(v) <= 200 for v in f.args.values() if isinstance(v, str)))


def bounded_findings(findings: list[Finding]) -> list[Finding]:
    """At most FINDINGS_MAX findings (in their sorted order), the last one saying how many more there are."""
    if len(findings) <= FINDINGS_MAX:
        return [bounded_finding(f) for f in findings]
    shown = FINDINGS_MAX - 1
    return [bounded_finding(f) for f in findings[:shown]] + [MORE_FINDINGS.at(count=len(findings) - shown, shown=shown)]


@dataclass(slots=True)   # one per inbox file, held for the run's report: no __dict__ each
class FileResult:
    path: str                        # relative to the inbox, with / separators, always valid Unicode (shown)
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
    checked_at: str | None = None    # when the verdict was given (UTC, ISO 8601): this run, or the one it comes from
    superseded_by: str | None = None  # a newer return of the same agency and year
    issued_agency: str | None = None  # the agency the template was issued to (its hidden sheet)
    code: str | None = None          # 统一社会信用代码, from the code cell or the hidden sheet
    feedback: str | None = None      # the feedback workbook, relative to the output folder
    key: str = ""                    # the raw relative path (os.fsdecode: may hold undecodable bytes); "" = path
    # (size, mtime_ns, ctime_ns, inode) as lstat gave them just before the file was read: what the
    # ledger compares on the next run to tell whether the content may have changed
    stat: tuple[int, int, int, int] | None = field(default=None, repr=False, compare=False)
    summary: Any = field(default=None, repr=False, compare=False)   # an accepted return's outputs.summary_rows.SummaryRow
    # while the worker holds the file: the bytes that were judged and the workbook parsed from them
    source: bytes | None = field(default=None, repr=False, compare=False)
    workbook: Any = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def finding_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def raw_path(self) -> str:
        """The inbox path as the file system has it (what outputs and the ledger are keyed by)."""
        return self.key or self.path

    def entry(self) -> dict[str, Any]:
        """The run report's entry for this file: every text bounded, at most FINDINGS_MAX findings.
        What the file was found to be, never what this run did with it (`unchanged` is in the counts
        only), so that a re-run that finds the same gives the same entry."""
        e = {"path": self.path, "size": self.size, "sha256": self.sha256, "status": self.status,
             "form": self.form, "agency": bounded_text(self.agency, 200), "year": self.year, "json": self.json,
             "feedback": self.feedback, "errors": self.errors, "warnings": self.warnings, "checked_at": self.checked_at,
             "superseded_by": self.superseded_by, "issued_agency": bounded_text(self.issued_agency, 200),
             "code": bounded_text(self.code, 64), "findings": [f.to_dict() for f in bounded_findings(self.findings)]}
        if self.raw_path != self.path:   # a name that is not UTF-8: its bytes, shown as \xNN
            e["path_bytes"] = printable_bytes(self.raw_path)
        return e

    def entry_line(self) -> str:
        return entry_line(self.entry())

    @classmethod
    def from_entry(cls, e: dict[str, Any], mtime: float, key: str = "") -> FileResult:
        return cls(e["path"], e["size"], mtime, e["sha256"], e["status"], [Finding.from_dict(f) for f in e["findings"]],
                   e.get("form"), e.get("agency"), e.get("year"), json=e.get("json"), feedback=e.get("feedback"),
                   key=key if key != e["path"] else "", issued_agency=e.get("issued_agency"), code=e.get("code"),
                   checked_at=e.get("checked_at"))


def entry_line(entry: dict[str, Any]) -> str:
    """A file's entry as one line of text: keys sorted, exact decimals. run.json has a line per
    file, and the ledger stores each verdict in the same form (so a kept verdict is written as it is)."""
    return simplejson.dumps(entry, ensure_ascii=False, sort_keys=True, use_decimal=True, separators=(", ", ": "))


def printable_bytes(raw: str) -> str:
    """A raw name with its undecodable bytes as \\xNN: tells two names apart that print alike."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass
class RunReport:
    """A run's report: its folders, its files (outputs.run_files, in the names' byte order), the
    notices about the run and the collection's status. Ingest's files are kept on disk, so each
    read of `files[i]` gives that file's result anew: a change to one is kept by files.save(i, r)."""

    inbox: str
    out: str
    files: RunFiles                        # a list of results is taken as it is (ListedFiles)
    notices: list[Finding] = field(default_factory=list)   # about the run, not one file (an unreadable folder)
    roster: dict[str, Any] | None = None   # the collection against a roster (xltool.collection), when given
    _stats: tuple = field(default=(None, None), init=False, repr=False, compare=False)   # (revision, totals)

    def __post_init__(self):
        self.files = as_run_files(self.files)

    def stats(self) -> dict[str, Any]:
        """The totals: one pass over a few fields of each file (never the files themselves), kept
        while the files do not change."""
        revision, totals = self._stats
        if totals is None or revision is None or revision != self.files.revision:
            totals = self._count()
            self._stats = (self.files.revision, totals)
        return {**totals, "findings_by_code": dict(totals["findings_by_code"])}

    def _count(self) -> dict[str, Any]:
        by_code: dict[str, int] = {}
        count = {ACCEPTED: 0, REJECTED: 0, SKIPPED: 0}
        files = superseded = unchanged = errors = warnings = 0
        for _, status, superseded_by, is_unchanged, n_errors, n_warnings, codes in self.files.fields(
                "status", "superseded_by", "unchanged", "errors", "warnings", "finding_codes"):
            files += 1
            if status in count:
                count[status] += 1
            superseded += superseded_by is not None
            unchanged += bool(is_unchanged)
            errors += n_errors
            warnings += n_warnings
            for code in codes:
                by_code[code] = by_code.get(code, 0) + 1
        return {
            "files": files,
            "accepted": count[ACCEPTED],
            "rejected": count[REJECTED],
            "skipped": count[SKIPPED],
            "superseded": superseded,
            "unchanged": unchanged,
            "errors": errors,
            "warnings": warnings,
            "findings_by_code": dict(sorted(by_code.items())),
        }

    def to_dict(self, entries: bool = True) -> dict[str, Any]:
        """The run report as data (run.json); `entries=False`: without the file entries (the frame
        run.json is written in, entry by entry)."""
        out = {"xltool_version": __version__, "inbox": self.inbox, "out": self.out,
               "stats": self.stats(), "files": [r.entry() for r in self.files] if entries else [],
               **({"notices": [f.to_dict() for f in bounded_findings(self.notices)]} if self.notices else {})}
        if self.roster is not None:
            out["roster"] = self.roster
        return out

    @property
    def exit_code(self) -> int:
        return 1 if any(status == REJECTED for _, status in self.files.fields("status")) else 0
