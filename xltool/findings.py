"""Findings: what a check says about a file, as data.

A finding carries a stable code, a severity, where it is (sheet and A1 cell), the spec
ids involved and its arguments. The Chinese and English sentences are rendered from
those, never stored as the only record. Every kind of finding is declared once as a
`Code`, next to the check that raises it; `Code.registry` lists them all (for the docs
and for tests that every code has both languages).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar

from xltool.cells import column_index
from xltool.finding_titles import title_of

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_ZH = {ERROR: "错误", WARNING: "警告", INFO: "提示"}   # the words people see, once

# a file's verdict
ACCEPTED, REJECTED, SKIPPED = "accepted", "rejected", "skipped"
STATUSES = (ACCEPTED, REJECTED, SKIPPED)
# an agency's status in a collection: its latest return accepted, rejected, or none received
MISSING = "missing"
AGENCY_STATUSES = (ACCEPTED, REJECTED, MISSING)
AGENCY_STATUS_WORDS = {ACCEPTED: ("已通过", "accepted"), REJECTED: ("退回待改", "to fix"), MISSING: ("未报送", "missing")}


class _Args(dict):
    """Format mapping that leaves unknown placeholders visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def printable(text: str) -> str:
    """`text` as valid Unicode. os.walk() gives names that are not UTF-8 (GBK bytes from a zip made on
    Chinese Windows and unpacked on Linux) as lone surrogates, which no JSON or SQLite writer accepts:
    decode those bytes as GB18030 when they are GB18030, else show them as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "backslashreplace")


def _printable_arg(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_printable_arg(v) for v in value)
    return value


def _fmt(template: str, args: dict[str, Any]) -> str:
    shown = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in args.items()}
    return template.format_map(_Args(shown))


@dataclass(frozen=True)
class Code:
    """One kind of finding: its code, severity and message templates (zh first)."""

    code: str
    severity: str
    zh: str
    en: str
    rule_title: tuple[str, str] | None = None   # a spec rule's own (zh, en) title, for rule codes
    registry: ClassVar[dict[str, Code]] = {}

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"bad severity {self.severity!r} for {self.code}")
        Code.registry[self.code] = self

    @property
    def title(self) -> tuple[str, str] | None:
        """The short (zh, en) heading shown instead of the bare code (xltool/finding_titles.py)."""
        return title_of(self.code) or self.rule_title

    def at(self, sheet: str | None = None, cell: str | None = None, ids: tuple[str, ...] | list[str] = (),
           severity: str | None = None, **args: Any) -> Finding:
        args = {k: _printable_arg(v) for k, v in args.items()}     # file names from the inbox may not be UTF-8
        shown = {"sheet": sheet or "", "cell": cell or "", **args}
        return Finding(code=self.code, severity=severity or self.severity, sheet=sheet, cell=cell,
                       ids=tuple(ids), args=dict(args),
                       message=_fmt(self.zh, shown), message_en=_fmt(self.en, shown))


@dataclass(frozen=True, slots=True)   # thousands per run: no __dict__ each
class Finding:
    code: str
    severity: str
    sheet: str | None
    cell: str | None
    ids: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    message_en: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "sheet": self.sheet, "cell": self.cell,
                "ids": list(self.ids), "args": self.args, "message": self.message, "message_en": self.message_en}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        # a run holds thousands: their few codes and severities are shared, not copied per finding
        return cls(code=sys.intern(d["code"]), severity=sys.intern(d["severity"]), sheet=d.get("sheet"), cell=d.get("cell"),
                   ids=tuple(d.get("ids", ())), args=dict(d.get("args", {})),
                   message=d.get("message", ""), message_en=d.get("message_en", ""))

    @property
    def title(self) -> str:
        """The short Chinese heading of this kind of finding (the code when none is known)."""
        return finding_title(self.code, self.args)[0]

    @property
    def title_en(self) -> str:
        return finding_title(self.code, self.args)[1]

    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or self.cell or ""


def finding_title(code: str, args: dict[str, Any] | None = None) -> tuple[str, str]:
    """(zh, en) heading of a finding: from the titles table, else the spec rule's title its
    arguments carry (rule codes such as T3-A), else the code itself."""
    found = title_of(code)
    if found:
        return found
    args = args or {}
    if args.get("rule_title"):
        return str(args["rule_title"]), str(args.get("rule_title_en") or args["rule_title"])
    registered = Code.registry.get(code)
    if registered is not None and registered.rule_title:
        return registered.rule_title
    return code, code


def sort_key(f: Finding) -> tuple:
    """Errors first, then by place, then code: a stable order for reports and JSON."""
    return (SEVERITIES.index(f.severity), f.sheet or "", _cell_order(f.cell), f.code, str(sorted(f.args.items())))


def _cell_order(cell: str | None) -> tuple[int, int]:
    if not cell:
        return (0, 0)
    letters = "".join(ch for ch in cell if ch.isalpha())
    digits = "".join(ch for ch in cell if ch.isdigit())
    return (int(digits or 0), column_index(letters))
