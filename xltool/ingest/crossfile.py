"""What only shows across files of one run: the same return twice, a newer return of the same
agency and year, a file named for another year or agency, and (with --previous) the cross-year
warnings against last year's reports. These findings go to the run report, not to the per-file
JSON, which depends on the file's content alone."""

from __future__ import annotations

import re
from pathlib import Path

from xltool.findings import INFO, SKIPPED, WARNING, Code
from xltool.outputs.run_report import FileResult

SUPERSEDED = Code("superseded", INFO,
                  zh="同一单位同一年度有更新的文件“{newer}”，以新文件为准；本文件保留在历史记录中。",
                  en="A newer return of the same agency and year, {newer}, supersedes this file; it stays in the history.")
DUPLICATE_CONTENT = Code("duplicate-content", WARNING,
                         zh="与“{other}”内容完全相同（重复提交），以“{other}”为准。",
                         en="Identical to {other} (sent twice); {other} is used.")
FILENAME_YEAR_MISMATCH = Code("filename-year-mismatch", WARNING,
                              zh="文件名写的是 {name_year} 年，但报表中的报告年度是 {year} 年。请核对是否用错了年度的模板。",
                              en="The file name says {name_year}, but the workbook is for {year}. Check you used the right year's template.")
FILENAME_AGENCY_MISMATCH = Code("filename-agency-mismatch", WARNING,
                                zh="文件名中是“{name_agency}”，但报表的填报单位是“{agency}”。请核对是否用错了其他单位的模板。",
                                en="The file name names {name_agency}, but the workbook is for {agency}. Check it is your own template.")


def annotate_across_files(results: list[FileResult]) -> None:
    """What only shows across files: the same return twice, a newer return, a file named for
    another year or agency. Adds findings to the run report (not to the per-file JSON)."""
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
    by_first_char: dict[str, set[str]] = {}  # agencies by first character: a name is checked
    for r in results:                           # against a few candidates, not all of them
        if r.agency:
            by_first_char.setdefault(r.agency[0], set()).add(r.agency)
    for r in results:
        if not r.agency or r.status == SKIPPED:
            continue
        name = Path(r.path).name
        years = {int(y) for y in re.findall(r"(?<!\d)(20\d\d)(?!\d)", name)}
        if r.year and years and r.year not in years:
            r.findings.append(FILENAME_YEAR_MISMATCH.at(name_year=min(years), year=r.year))
        named = {a for ch in set(name) for a in by_first_char.get(ch, ()) if a in name}
        others = [a for a in named if a != r.agency and a not in r.agency]
        if others:
            r.findings.append(FILENAME_AGENCY_MISMATCH.at(name_agency=max(sorted(others), key=len), agency=r.agency))


def annotate_previous_year(results: list[FileResult], out: Path, previous: Path) -> None:
    """The cross-year warnings of each report, against its agency's report of the year before."""
    from xltool.checks.previous_year import check_against_previous, previous_reports
    from xltool.form.canonical import loads
    from xltool.form.forms import get_spec

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
