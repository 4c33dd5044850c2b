"""A file's verdict as a run holds it until its report is written: the few fields the run reads
of every file; the rest stays where the ledger stores it.

A run over thousands of returns reads only a handful of fields of every file: status, agency,
year, name, hash and times for the cross-file checks and the roster, counts and finding codes
for the totals. It reads the findings themselves of a few files only: those a cross-file check
or the roster adds a finding to, and those the terminal lists. So a `PackedResult` keeps those
fields (about 0.5 KB besides its name), not a FileResult with a Finding object and its messages
per finding (about 4 KB), nor even its entry's text (0.5 KB more, packed): that is read back from the
ledger (`StoredEntries`) when asked for. Its findings are decoded when first asked for and
then kept, so that what a check adds to them stays; its entry is decoded for report.html one
file at a time, and run.json takes the stored line as it is while nothing was added to it. It
reads like a FileResult.
"""

from __future__ import annotations

import json
import marshal
import sys
import zlib
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol

from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.canonical import loads
from xltool.outputs.output_names import FEEDBACK_DIR, JSON_DIR
from xltool.outputs.run_report import FileResult, bounded_findings, entry_line
from xltool.outputs.summary_rows import pack_sums


class StoredEntries(Protocol):
    """Where a run's entries are kept, packed (pack_entry), by raw inbox path: the ledger."""

    def packed(self, key: str) -> bytes: ...

    def forget(self, key: str) -> None:
        """The entry of `key` cannot be read back: make sure its file is checked again next time."""


STORED_ENTRY_UNREADABLE = Code(
    "stored-entry-unreadable", WARNING,
    zh="台账中保存的本文件校验结果已损坏，无法读出，问题明细暂时无法列出（状态与计数为上次保存的结果）。下次运行时会重新校验本文件，无需处理。",
    en="The verdict the ledger kept for this file is damaged and could not be read back, so its findings cannot be "
       "listed now (the status and counts are the ones kept). The file will be checked again on the next run; "
       "nothing to do.")
_UNREADABLE = (zlib.error, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError)


class PackedResult:
    __slots__ = ("path", "key", "size", "mtime", "_sha256", "status", "form", "agency", "year", "_json", "_feedback",
                 "unchanged", "checked_at", "superseded_by", "issued_agency", "code", "document",
                 "_counts", "_codes", "_stored_entries", "_findings", "_stored_superseded_by")

    # what only a file in its worker holds: never here
    summary = source = workbook = stat = None

    def __init__(self, entry: dict[str, Any], stored: StoredEntries, mtime: float, key: str = "",
                 unchanged: bool = False):
        """`entry`: the run-report entry (FileResult.entry), or its head (entry_head: the same
        without the findings, with their codes); `stored`: where the entry is kept, packed."""
        self.path = key if key == entry["path"] else entry["path"]    # one copy of the name: the run's key
        self.key = key if key != self.path else ""
        self.size = entry["size"]
        self.mtime = mtime
        self._sha256 = _packed_sha256(entry["sha256"])
        self.status = sys.intern(entry["status"])
        self.form = _shared(entry.get("form"))
        self.agency = entry.get("agency")
        year = entry.get("year")
        self.year = _one_copy(_YEARS, year) if type(year) is int else year
        raw = self.key or self.path
        json_name, feedback_name = entry.get("json"), entry.get("feedback")
        self._json = _MIRRORED if json_name == f"{JSON_DIR}/{raw}.json" else json_name
        self._feedback = _MIRRORED if feedback_name == f"{FEEDBACK_DIR}/{raw}" else feedback_name
        self.unchanged = unchanged
        self.checked_at = _shared(entry.get("checked_at"))
        self.superseded_by = self._stored_superseded_by = entry.get("superseded_by")
        issued = entry.get("issued_agency")
        self.issued_agency = self.agency if issued == self.agency else issued
        self.code = entry.get("code")
        self._counts = _one_copy(_COUNTS, (entry["errors"], entry["warnings"]))   # of all its findings, as recorded
        codes = entry["codes"] if "codes" in entry else [f["code"] for f in entry["findings"]]
        self._codes = _one_copy(_CODES, tuple(sys.intern(c) for c in codes))
        self._stored_entries = stored
        self._findings: list[Finding] | None = None
        self.document: dict[str, Any] | None = None   # a caller may attach the canonical document it read

    @classmethod
    def from_stored(cls, packed: bytes, stored: StoredEntries, mtime: float, key: str = "",
                    unchanged: bool = False) -> PackedResult:
        """A verdict the ledger kept, `packed` as `stored` holds it (ValueError, KeyError,
        TypeError, zlib.error: a record it cannot give back)."""
        entry = loads(unpack_entry(packed))
        if not isinstance(entry, dict) or not isinstance(entry["findings"], list):
            raise TypeError("not a run-report entry")
        for f in entry["findings"]:
            Finding.from_dict(f)    # every finding readable now, not when the report is written
        return cls(entry, stored, mtime, key, unchanged)

    @classmethod
    def from_head(cls, head: str, stored: StoredEntries, mtime: float, key: str = "",
                  unchanged: bool = False) -> PackedResult:
        """A verdict the ledger kept, from its head (entry_head) alone: a re-run over thousands of
        unchanged returns decodes no finding (ValueError, KeyError, TypeError: a head it cannot
        give back). The entry itself is read from `stored` when asked for."""
        fields = read_head(head)
        if not isinstance(fields, dict) or not isinstance(fields["codes"], list):
            raise TypeError("not an entry's head")
        return cls(fields, stored, mtime, key, unchanged)

    @property
    def raw_path(self) -> str:
        return self.key or self.path

    def fields(self) -> tuple:
        """outputs.run_files.FIELDS' values, read at once (a run's files keep them as columns)."""
        return (self.path, self.raw_path, self.status, self.agency, self.year, self.mtime, self.sha256,
                self.superseded_by, self.unchanged, self.errors, self.warnings, self.finding_codes, self.json,
                self.feedback, self.form, self.issued_agency, self.code)

    # As a run's files keep it on disk (outputs.stored_run_files): its fields as they are, in one
    # marshal'd tuple, the findings a check added as JSON; never its store (the run's) or a document.

    def to_state(self) -> bytes:
        values = list(_state_of(self))
        for i in _MARKED:
            values[i] = True if values[i] is _MIRRORED else values[i]
        if self._findings is not None:
            values[_FINDINGS] = entry_line([f.to_dict() for f in self._findings])
        return marshal.dumps(tuple(values))

    @classmethod
    def from_state(cls, state: bytes, stored: StoredEntries) -> PackedResult:
        r = cls.__new__(cls)
        for name, value in zip(_STATE, marshal.loads(state)):
            setattr(r, name, value)
        for name in _MARKED_NAMES:
            if getattr(r, name) is True:
                setattr(r, name, _MIRRORED)
        if r._findings is not None:
            r._findings = [Finding.from_dict(f) for f in loads(r._findings)]
        r._stored_entries, r.document = stored, None
        return r

    # Of the few fields kept, these three are the larger part of a result's memory as text: the
    # hash is kept as its 32 bytes, and an output's name, which nearly always mirrors the inbox
    # path (output_names), as a mark that it does.

    @property
    def sha256(self) -> str:
        sha = self._sha256
        return sha.hex() if isinstance(sha, bytes) else sha

    @property
    def json(self) -> str | None:
        return f"{JSON_DIR}/{self.raw_path}.json" if self._json is _MIRRORED else self._json

    @property
    def feedback(self) -> str | None:
        return f"{FEEDBACK_DIR}/{self.raw_path}" if self._feedback is _MIRRORED else self._feedback

    @property
    def findings(self) -> list[Finding]:
        """The findings, decoded once asked for and kept (a check may add to them)."""
        if self._findings is None:
            try:
                self._findings = [Finding.from_dict(f) for f in self._stored()["findings"]]
            except _UNREADABLE:
                self._findings = self._unreadable()["findings"]
        return self._findings

    @findings.setter
    def findings(self, findings: list[Finding]) -> None:
        self._findings = findings

    @property
    def errors(self) -> int:
        return self._counts[0] if self._findings is None else sum(f.severity == ERROR for f in self._findings)

    @property
    def warnings(self) -> int:
        return self._counts[1] if self._findings is None else sum(f.severity == WARNING for f in self._findings)

    @property
    def finding_codes(self) -> tuple[str, ...]:
        return self._codes if self._findings is None else tuple(f.code for f in self._findings)

    def entry(self) -> dict[str, Any]:
        """The run report's entry, as FileResult.entry gives it."""
        e = self._stored()
        e["superseded_by"] = self.superseded_by
        if self._findings is not None:
            e["findings"] = [f.to_dict() for f in bounded_findings(self._findings)]
            e["errors"], e["warnings"] = self.errors, self.warnings
        return e

    def entry_line(self) -> str:
        """The entry as run.json's line: the stored text itself while nothing was added to it."""
        if self._findings is None and self.superseded_by == self._stored_superseded_by:
            try:
                line = unpack_entry(self._stored_entries.packed(self.raw_path))
            except _UNREADABLE:
                return entry_line(self.entry())
            if f'"sha256": "{self.sha256}"' not in line or f'"checked_at": {json.dumps(self.checked_at)}' not in line:
                raise self._replaced()
            return line
        return entry_line(self.entry())

    def _stored(self) -> dict[str, Any]:
        """The entry as the ledger keeps it; one it cannot give back reads as _unreadable() says."""
        try:
            entry = loads(unpack_entry(self._stored_entries.packed(self.raw_path)))
            if not isinstance(entry, dict) or not isinstance(entry["findings"], list):
                raise TypeError("not a run-report entry")
        except _UNREADABLE:
            return self._unreadable()
        if entry.get("sha256") != self.sha256 or entry.get("checked_at") != self.checked_at:
            raise self._replaced()
        return entry

    def _unreadable(self) -> dict[str, Any]:
        """The entry made from what this result holds, when the ledger's copy cannot be read back
        (damaged on disk, edited by hand): the kept status and counts, and a finding saying so in
        place of the findings. Its file is checked again next run. Never an error: a run over
        thousands of files does not stop for one damaged record."""
        self._stored_entries.forget(self.raw_path)
        entry = FileResult(self.path, self.size, self.mtime, self.sha256, self.status, [STORED_ENTRY_UNREADABLE.at()],
                           self.form, self.agency, self.year, json=self.json, feedback=self.feedback,
                           checked_at=self.checked_at, superseded_by=self._stored_superseded_by,
                           issued_agency=self.issued_agency, code=self.code, key=self.key).entry()
        entry["errors"], entry["warnings"] = self._counts    # the counts kept, not the one finding's
        return entry

    def _replaced(self) -> LookupError:
        """A result read after a later run replaced its verdict in the ledger: its own run's
        run.json and report.html still have it."""
        return LookupError(f"{self.path}: 台账中该文件的结果已被之后的一次校验替换，请查看当次的 run.json / the ledger's verdict "
                           "for this file was replaced by a later run; see that run's run.json")


@dataclass(frozen=True, slots=True)
class StoredVerdict:
    """A file's verdict in the form the ledger stores it, made once, where the verdict was given
    (its worker): what goes back to the ingest process instead of the FileResult, so that no
    Finding is pickled there and back and nothing is left to encode there."""

    key: str                                   # the raw inbox path
    mtime: float
    stat: tuple[int, int, int, int] | None     # FileResult.stat
    retry: bool                                # more about the run than the file: check it again next time
    head: str                                  # entry_head
    packed: bytes                              # pack_entry
    sums: bytes | None = None                  # an accepted return's share of the summary (SummaryRow), packed
    sheet_row: bytes | None = None
    csv_rows: bytes | None = None

    @classmethod
    def of(cls, r: FileResult, retry: bool) -> StoredVerdict:
        entry, share = r.entry(), r.summary
        summary = (None, None, None) if share is None else (pack_sums(share.sums), share.sheet_row, share.csv_rows)
        return cls(r.raw_path, r.mtime, r.stat, retry, entry_head(entry), pack_entry(entry), *summary)


def entry_head(entry: dict[str, Any]) -> str:
    """What a run reads of every file, as the ledger stores it beside the entry: the entry without
    its findings, with their codes (`codes`) instead. About a third of the entry, and no finding
    to decode."""
    head = {k: v for k, v in entry.items() if k != "findings"}
    head["codes"] = [f["code"] for f in entry["findings"]]
    return entry_line(head)


def read_head(head: str) -> Any:
    """A head read back (ValueError when it is not JSON). Its values are texts, whole numbers,
    nulls and a list of codes, never an amount: the standard library's decoder reads it the same,
    a third faster than the canonical one (a re-run reads the head of every file)."""
    return json.loads(head)


def pack_entry(entry: dict[str, Any]) -> bytes:
    """A run-report entry as the ledger stores and a run holds it: run.json's line for it
    (run_report.entry_line), UTF-8, zlib level 1 (a third of its size, a few microseconds)."""
    return zlib.compress(entry_line(entry).encode("utf-8", "surrogateescape"), 1)


def unpack_entry(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogateescape")


# One copy of each value thousands of results repeat: the lists of finding codes (most returns
# have one of a few: none, or the same warning), the (errors, warnings) pairs, the years (Python
# shares only the whole numbers below 257). Bounded: past the bound, a new value is not kept.
_CODES: dict[tuple[str, ...], tuple[str, ...]] = {}
_COUNTS: dict[tuple[int, int], tuple[int, int]] = {}
_YEARS: dict[int, int] = {}
_SHARED_MAX = 10_000
_MIRRORED = object()     # an output named after the inbox path as it is (PackedResult.json, .feedback)
_STATE = tuple(name for name in PackedResult.__slots__ if name not in ("_stored_entries", "document"))
_MARKED_NAMES = ("_json", "_feedback")    # an output's name, or True for _MIRRORED (a name is never True)
_MARKED = tuple(_STATE.index(name) for name in _MARKED_NAMES)
_FINDINGS = _STATE.index("_findings")
_state_of = attrgetter(*_STATE)


def _one_copy(kept: dict, value):
    if len(kept) < _SHARED_MAX:
        return kept.setdefault(value, value)
    return kept.get(value, value)


def _packed_sha256(sha: str) -> bytes | str:
    """A hash as its bytes when its hex text comes back from them exactly (64 lowercase digits)."""
    if len(sha) == 64:
        try:
            raw = bytes.fromhex(sha)
        except ValueError:
            return sha
        if raw.hex() == sha:
            return raw
    return sha


def _shared(text: str | None) -> str | None:
    """One copy of a string thousands of results repeat (a form id, a time to the second)."""
    return None if text is None else sys.intern(text)
