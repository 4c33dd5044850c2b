"""Each roster agency's status in this run, and the returns from agencies not on the roster.

A return is matched to its roster row by the 统一社会信用代码 when both sides have one; else by
the agency the template was issued to (the hidden `_xltool` sheet); else by the agency cell.
Names are compared in their normal form (names.py). An agency's status comes from its latest
return in use (a superseded one never counts): 已通过 accepted, 退回待改 rejected, or 未报送
missing when nothing of it came in. A return matching no row gets the warning `not-on-roster`,
with the roster names it nearly matches as suggestions; it is never merged into one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from xltool.findings import (
    ACCEPTED,
    AGENCY_STATUS_WORDS,
    AGENCY_STATUSES,
    MISSING,
    REJECTED,
    SKIPPED,
    WARNING,
    Code,
    sort_key,
)
from xltool.form.agency_names import near_misses, normal_code, normal_name
from xltool.generate.roster import RosterRow, read_roster
from xltool.outputs.run_files import RunFiles, as_run_files
from xltool.outputs.run_report import FileResult

STATUS_ZH = {status: zh for status, (zh, _) in AGENCY_STATUS_WORDS.items()}

NOT_ON_ROSTER = Code(
    "not-on-roster", WARNING,
    zh="填报单位“{agency}”不在报送名单（{roster}）中，未计入任何单位的报送情况。{hint}",
    en="The agency '{agency}' is not on the roster ({roster}); this return counts for no agency. {hint_en}")


@dataclass(frozen=True)
class Roster:
    """A roster read for a collection: where it came from and its rows."""

    path: Path
    rows: list[RosterRow]


def load_roster(path: Path, notes: list[tuple[int, str]] | None = None) -> Roster:
    """The roster at `path` (RosterError, with line numbers, when it is malformed)."""
    return Roster(Path(path), read_roster(Path(path), notes=notes))


class _Returned(NamedTuple):
    """What the collection reads of a return (the fields of FileResult it needs)."""

    status: str
    code: str | None
    issued_agency: str | None
    agency: str | None
    path: str
    mtime: float
    superseded_by: str | None
    errors: int
    feedback: str | None


def collection_status(roster: Roster, results: RunFiles | list[FileResult]) -> dict[str, Any]:
    """run.json's `roster`: every agency with its status and files, the counts, and the returns
    that match no agency. Adds the `not-on-roster` warning to those returns."""
    files = as_run_files(results)
    matcher = _Matcher(roster.rows)
    matched: dict[int, list[_Returned]] = {row.line: [] for row in roster.rows}
    strangers: list[dict[str, Any]] = []
    unidentified = 0
    for i, *fields in files.fields(*_Returned._fields):
        r = _Returned(*fields)
        if r.status == SKIPPED:
            continue
        row = matcher.match(r)
        if row is not None:
            matched[row.line].append(r)
            continue
        name = r.issued_agency or r.agency
        if not name:
            unidentified += 1      # its own findings already say it is not a form we know
            continue
        suggestions = near_misses(name, [row.agency.name for row in roster.rows])
        strangers.append({"path": r.path, "agency": name, "suggestions": suggestions})
        whole = files[i]
        _warn_not_on_roster(whole, name, suggestions, roster.path.name)
        files.save(i, whole)
    agencies = [_agency_entry(row, matched[row.line]) for row in roster.rows]
    _suggest_for_missing(agencies, strangers)
    counts = {status: sum(a["status"] == status for a in agencies) for status in AGENCY_STATUSES}
    return {"file": str(roster.path), "agencies": agencies, "not_on_roster": strangers,
            "counts": {"agencies": len(agencies), "returned": counts[ACCEPTED] + counts[REJECTED], **counts,
                       "not_on_roster": len(strangers), "unidentified": unidentified}}


class _Matcher:
    """Roster rows by code and by normal name."""

    def __init__(self, rows: list[RosterRow]):
        self.by_code = {}
        self.by_name = {}
        for row in rows:    # the first of two rows with one name or code wins, as in the roster's order
            if normal_code(row.agency.code):
                self.by_code.setdefault(normal_code(row.agency.code), row)
            self.by_name.setdefault(normal_name(row.agency.name), row)

    def match(self, r: _Returned) -> RosterRow | None:
        code = normal_code(r.code)
        if code and code in self.by_code:
            return self.by_code[code]
        for name in (r.issued_agency, r.agency):
            row = self.by_name.get(normal_name(name)) if name else None
            # both sides have a code and the codes differ: another agency of the same name
            if row is not None and not (code and normal_code(row.agency.code) and normal_code(row.agency.code) != code):
                return row
        return None


def _agency_entry(row: RosterRow, files: list[_Returned]) -> dict[str, Any]:
    in_use = [r for r in files if r.superseded_by is None] or files
    latest = max(in_use, key=lambda r: (r.mtime, r.path)) if in_use else None
    status = MISSING if latest is None else ACCEPTED if latest.status == ACCEPTED else REJECTED
    entry = {"agency": row.agency.name, "code": row.agency.code, "region": row.agency.region, "line": row.line,
             "status": status, "files": sorted(r.path for r in files), "latest": latest.path if latest else None,
             "errors": latest.errors if latest else 0, "feedback": None, "suggestions": []}
    if latest is not None and latest.status == REJECTED:
        entry["feedback"] = latest.feedback   # the name the run recorded, or None when none was drawn
    return entry


def _suggest_for_missing(agencies: list[dict[str, Any]], strangers: list[dict[str, Any]]) -> None:
    """A missing agency whose name a return from outside the roster nearly has: say so beside it."""
    for a in agencies:
        if a["status"] == MISSING:
            a["suggestions"] = [{"path": s["path"], "agency": s["agency"]} for s in strangers
                                if a["agency"] in s["suggestions"]]


def _warn_not_on_roster(r: FileResult, name: str, suggestions: list[str], roster_name: str) -> None:
    if suggestions:
        shown = "、".join(f"“{s}”" for s in suggestions)
        hint = (f"名单中有相近的 {shown}：如是同一单位，请核对名称（更正名单，或请该单位使用下发给它的模板）；"
                f"系统不会自动合并。")
        hint_en = (f"The roster has similar names ({', '.join(suggestions)}): if it is the same agency, correct the "
                   f"name (in the roster, or have the agency use the template issued to it); names are never merged.")
    else:
        hint = "如该单位应当报送，请把它加入名单；否则可忽略本文件。"
        hint_en = "If this agency should report, add it to the roster; otherwise ignore this file."
    r.findings.append(NOT_ON_ROSTER.at(agency=name, roster=roster_name, hint=hint, hint_en=hint_en,
                                       suggestions=suggestions))
    r.findings.sort(key=sort_key)
