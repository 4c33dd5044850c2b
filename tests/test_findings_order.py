"""The order findings are listed in (the canonical JSON, report.html, the feedback's 问题清单):
errors first, then by sheet, then by place on the sheet, row before column, columns as Excel
counts them. The JSON of a return must not change from one run to the next."""

from xltool.checks.blanks import FIELD_REQUIRED as PLACE
from xltool.findings import ERROR, WARNING, sort_key


def test_findings_are_ordered_by_severity_sheet_row_then_column():
    found = [
        PLACE.at(sheet="表一", cell="AA2"),
        PLACE.at(sheet="表一", cell="B10"),
        PLACE.at(sheet="表一", cell="Z2"),
        PLACE.at(sheet="表一", cell="C2", severity=WARNING),
        PLACE.at(sheet="表一", cell="$b$2"),
        PLACE.at(sheet="表〇", cell="ZZ99"),
        PLACE.at(),
    ]
    ordered = [(f.severity, f.sheet, f.cell) for f in sorted(found, key=sort_key)]
    assert ordered == [
        (ERROR, None, None),
        (ERROR, "表〇", "ZZ99"),
        (ERROR, "表一", "$b$2"),
        (ERROR, "表一", "Z2"),
        (ERROR, "表一", "AA2"),
        (ERROR, "表一", "B10"),
        (WARNING, "表一", "C2"),
    ]
