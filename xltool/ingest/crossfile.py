"""What only shows across files of one run: the same return twice, a newer return of the same
agency and year, a file named for another year or agency, and (with --previous) the cross-year
warnings against last year's reports. These findings go to the run report, not to the per-file
JSON, which depends on the file's content alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path

from xltool.checks.previous_year import check_against_previous, previous_reports
from xltool.findings import ACCEPTED, INFO, SKIPPED, WARNING, Code, Finding
from xltool.form.canonical import loads
from xltool.form.forms import get_spec
from xltool.outputs.run_report import FileResult

SUPERSEDED = Code("superseded", INFO,
                  zh="同一单位同一年度有更新的、校验通过的文件“{newer}”，以新文件为准；本文件保留在历史记录中。",
                  en="A newer accepted return of the same agency and year, {newer}, supersedes this file; it stays in the history.")
SUPERSEDED_ACCEPTED = Code("superseded-accepted", WARNING,
                           zh="本文件已通过校验，但同一单位（{agency}）同一年度（{year}）有更新的、校验通过的文件“{newer}”，"
                              "以新文件为准：本文件的数字不再计入汇总。如新文件不是本单位的，请核对。",
                           en="This return was accepted, but a newer accepted return of the same agency ({agency}) and year "
                              "({year}), {newer}, supersedes it: its numbers no longer count in the summary. If the newer "
                              "file is not this agency's, check it.")
SUPERSEDES = Code("supersedes", WARNING,
                  zh="本文件取代了同一单位（{agency}）同一年度（{year}）较早的、已通过校验的文件“{older}”：汇总中只计入本文件的数字。"
                     "如本文件不是该单位的，请核对。",
                  en="This return supersedes an earlier accepted return of the same agency ({agency}) and year ({year}), "
                     "{older}: only this file's numbers count in the summary. If this file is not that agency's, check it.")
NEWER_REJECTED = Code("newer-rejected", INFO,
                      zh="本文件比同一单位同一年度已通过校验的文件“{used}”更新，但未通过校验，因此汇总仍以“{used}”为准。请按下列问题修改后重新提交。",
                      en="This file is newer than the accepted return {used} of the same agency and year, but it was "
                         "rejected, so the summary still uses {used}. Correct the problems below and send it again.")
DUPLICATE_CONTENT = Code("duplicate-content", WARNING,
                         zh="与“{other}”内容完全相同（重复提交），以“{other}”为准。",
                         en="Identical to {other} (sent twice); {other} is used.")
FILENAME_YEAR_MISMATCH = Code("filename-year-mismatch", WARNING,
                              zh="文件名写的是 {name_year} 年，但报表中的报告年度是 {year} 年。请核对是否用错了年度的模板。",
                              en="The file name says {name_year}, but the workbook is for {year}. Check you used the right year's template.")
FILENAME_AGENCY_MISMATCH = Code("filename-agency-mismatch", WARNING,
                                zh="文件名中是“{name_agency}”，但报表的填报单位是“{agency}”。请核对是否用错了其他单位的模板。",
                                en="The file name names {name_agency}, but the workbook is for {agency}. Check it is your own template.")


_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")      # a year in a file name: 2024, not 12024 or 20245


def annotate_across_files(results: list[FileResult]) -> None:
    """What only shows across files: the same return twice, a newer return, a file named for
    another year or agency. Adds findings to the run report (not to the per-file JSON)."""
    for copies in _groups(results, lambda r: r.sha256 if r.status != SKIPPED and r.sha256 else None):
        first = min(copies, key=lambda r: (r.mtime, r.path))  # the one received first is the one used
        for r in copies:
            if r is not first:
                r.findings.append(DUPLICATE_CONTENT.at(other=first.path))
                r.superseded_by = first.path
    _supersede(results)
    named_in = _AgencyNames({r.agency for r in results if r.agency})
    for r in results:
        if not r.agency or r.status == SKIPPED:
            continue
        name = r.path.rpartition("/")[2]     # report paths use / whatever the system (relative_name)
        years = {int(y) for y in _YEAR.findall(name)}
        if r.year and years and r.year not in years:
            r.findings.append(FILENAME_YEAR_MISMATCH.at(name_year=min(years), year=r.year))
        named = named_in(name)
        others = [a for a in named if a != r.agency and a not in r.agency]
        if others:
            r.findings.append(FILENAME_AGENCY_MISMATCH.at(name_agency=max(sorted(others), key=len), agency=r.agency))


class _AgencyNames:
    """Finds the agencies whose names occur in a file name. Substrings of `name` are looked up in
    the set of names, so the cost per file does not grow with the number of agencies (thousands);
    and only where the shortest name's length of characters starts some agency's name, so a
    re-run of 10,000 returns spends 50 ms here rather than 120."""

    def __init__(self, agencies: set[str]):
        self.agencies = agencies
        self.lengths = sorted({len(a) for a in agencies})
        self.shortest = self.lengths[0] if self.lengths else 0
        self.starts = {a[:self.shortest] for a in agencies}

    def __call__(self, name: str) -> set[str]:
        found: set[str] = set()
        if not self.shortest:
            return found
        end = len(name)
        for i in range(end - self.shortest + 1):
            if name[i:i + self.shortest] not in self.starts:
                continue
            for n in self.lengths:
                if i + n > end:
                    break
                if name[i:i + n] in self.agencies:
                    found.add(name[i:i + n])
        return found


def _supersede(results: list[FileResult]) -> None:
    """Per agency and year, the newest accepted return is the one in use. Only an accepted return
    supersedes: a newer rejected one (or one naming another agency by mistake and rejected) leaves
    the accepted one counting. When an accepted return is superseded, both say so."""
    def agency_and_year(r: FileResult) -> tuple[str, int] | None:
        if r.agency and r.year and r.superseded_by is None and r.status != SKIPPED:
            return r.agency, r.year
        return None

    for group in _groups(results, agency_and_year):
        agency, year = group[0].agency, group[0].year
        accepted = [r for r in group if r.status == ACCEPTED]
        if not accepted:
            continue
        newest = max(accepted, key=_received)
        for r in group:
            if r is newest:
                continue
            if _received(r) > _received(newest):   # newer but rejected: it does not replace the accepted one
                r.findings.append(NEWER_REJECTED.at(used=newest.path))
                continue
            r.superseded_by = newest.path
            if r.status == ACCEPTED:
                r.findings.append(SUPERSEDED_ACCEPTED.at(newer=newest.path, agency=agency, year=year))
                newest.findings.append(SUPERSEDES.at(older=r.path, agency=agency, year=year))
            else:
                r.findings.append(SUPERSEDED.at(newer=newest.path))


def _groups(results: list[FileResult], key: Callable[[FileResult], Hashable | None]) -> Iterator[list[FileResult]]:
    """The results that share a key (not None), two or more, each group in the results' order. A
    list is made only for a key seen twice: thousands of results have keys of their own."""
    first: dict[Hashable, FileResult] = {}
    shared: dict[Hashable, list[FileResult]] = {}
    for r in results:
        k = key(r)
        if k is None:
            continue
        seen = first.setdefault(k, r)
        if seen is not r:
            shared.setdefault(k, [seen]).append(r)
    return iter(shared.values())


def _received(r: FileResult) -> tuple:
    return (r.mtime, r.path)


def annotate_previous_year(results: list[FileResult], out: Path, previous: Path) -> list[Finding]:
    """The cross-year warnings of each report, against its agency's report of the year before.
    Returns the warnings about last year's files that could not be used (for the run report)."""

    earlier, notices = previous_reports(previous)
    for r in results:
        if r.status == SKIPPED or not (r.agency and r.year and r.form and r.json):
            continue
        prev = earlier.get((r.agency, r.year - 1))
        if prev is None:
            continue
        try:
            doc = loads((out / r.json).read_text(encoding="utf-8"))   # our own output, written by this tool
        except (OSError, ValueError):
            continue
        if doc.get("values"):
            r.findings.extend(check_against_previous(get_spec(r.form), doc["values"], prev))
    return notices
