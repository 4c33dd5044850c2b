"""What only shows across files of one run: the same return twice, a newer return of the same
agency and year, a file named for another year or agency, and (with --previous) the cross-year
warnings against last year's reports. These findings go to the run report, not to the per-file
JSON, which depends on the file's content alone."""

from __future__ import annotations

import re
from pathlib import Path

from xltool.findings import ACCEPTED, INFO, SKIPPED, WARNING, Code, Finding
from xltool.form.canonical import loads
from xltool.outputs.run_files import RunFiles, as_run_files
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


def annotate_across_files(results: RunFiles | list[FileResult]) -> None:
    """What only shows across files: the same return twice, a newer return, a file named for
    another year or agency. Adds findings to the run report (not to the per-file JSON). Reads a
    few fields of every file, and the whole of only those a finding is added to."""
    files = as_run_files(results)
    for group in files.groups("sha256"):
        copies = [files[i] for i in group]
        first = min(copies, key=_received)  # the one received first is the one used
        for i, r in zip(group, copies):
            if r is not first:
                r.findings.append(DUPLICATE_CONTENT.at(other=first.path))
                r.superseded_by = first.path
                files.save(i, r)
    _supersede(files)
    agencies = _AgencyNames(files)
    for i, path, agency, year, status in files.fields("path", "agency", "year", "status"):
        if not agency or status == SKIPPED:
            continue
        name = path.rpartition("/")[2]     # report paths use / whatever the system (relative_name)
        years = {int(y) for y in _YEAR.findall(name)}
        added = []
        if year and years and year not in years:
            added.append(FILENAME_YEAR_MISMATCH.at(name_year=min(years), year=year))
        others = agencies.others(name, agency)
        if others:
            added.append(FILENAME_AGENCY_MISMATCH.at(name_agency=max(sorted(others), key=len), agency=agency))
        if added:
            r = files[i]
            r.findings.extend(added)
            files.save(i, r)


class _AgencyNames:
    """Finds the other agencies of the run whose names occur in a file name. Substrings of the
    name are looked up only where they may start an agency's name (of the shortest name's length),
    so the cost per file does not grow with the number of agencies. The names themselves are not
    held (a run may have as many agencies as files): each is marked in two tables of bits by its
    hash (a few bytes an agency), a substring marked in both is asked of the run's files (one
    query, and rare: a name is marked by chance about one time in seventy), and one that is, or is
    inside, the file's own agency is never asked about."""

    def __init__(self, files: RunFiles):
        self.files = files
        count, lengths = 0, set()
        for _, agency in files.fields("agency"):
            if agency:
                count += 1
                lengths.add(len(agency))
        self.lengths = sorted(lengths)
        self.shortest = self.lengths[0] if self.lengths else 0
        size = 1 << max(6, (16 * count).bit_length())     # 16 slots or more an agency
        self.mask = size - 1
        self.starts, self.names = bytearray(size), bytearray(size)
        for _, agency in files.fields("agency"):
            if agency:
                self.starts[hash(agency[:self.shortest]) & self.mask] = 1
                h = hash(agency)
                self.names[h & self.mask] = self.names[(h >> 32) & self.mask] = 1

    def others(self, name: str, own: str) -> set[str]:
        """The agencies other than `own` (and not inside its name) whose names occur in `name`."""
        found: set[str] = set()
        if not self.shortest:
            return found
        end, shortest, mask, starts, names = len(name), self.shortest, self.mask, self.starts, self.names
        for i in range(end - shortest + 1):
            if not starts[hash(name[i:i + shortest]) & mask]:
                continue
            for n in self.lengths:
                if i + n > end:
                    break
                part = name[i:i + n]
                h = hash(part)
                if (names[h & mask] and names[(h >> 32) & mask] and part != own and part not in own
                        and part not in found and self.files.any_with("agency", part)):
                    found.add(part)
        return found


def _supersede(files: RunFiles) -> None:
    """Per agency and year, the newest accepted return is the one in use. Only an accepted return
    supersedes: a newer rejected one (or one naming another agency by mistake and rejected) leaves
    the accepted one counting. When an accepted return is superseded, both say so."""
    for places in files.groups("agency", "year", in_use=True):
        group = [files[i] for i in places]
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
        for i, r in zip(places, group):
            files.save(i, r)


def _received(r: FileResult) -> tuple:
    return (r.mtime, r.path)


def annotate_previous_year(results: RunFiles | list[FileResult], out: Path, previous: Path) -> list[Finding]:
    """The cross-year warnings of each report, against its agency's report of the year before.
    Returns the warnings about last year's files that could not be used (for the run report)."""

    # with --previous only: the checks load the forms
    from xltool.checks.previous_year import check_against_previous, previous_reports
    from xltool.form.forms import get_spec

    earlier, notices = previous_reports(previous)
    files = as_run_files(results)
    for i, status, agency, year, form, json_name in files.fields("status", "agency", "year", "form", "json"):
        if status == SKIPPED or not (agency and year and form and json_name):
            continue
        prev = earlier.get((agency, year - 1))
        if prev is None:
            continue
        try:
            doc = loads((out / json_name).read_text(encoding="utf-8"))   # our own output, written by this tool
        except (OSError, ValueError):
            continue
        if doc.get("values"):
            r = files[i]
            r.findings.extend(check_against_previous(get_spec(form), doc["values"], prev))
            files.save(i, r)
    return notices
