"""The metadata unit (xltool/checks/metadata.py): role fields against the hidden sheet, the year."""

from __future__ import annotations

from xltool.checks import cell_types, metadata
from xltool.form.layout import META_SHEET

from returns import L, context, edit_part, edited, filled, run, where

AGENCY, YEAR = L.cells["meta.agency"], L.cells["meta.year"]


def metadata_findings(path):
    ctx = context(path)
    run(cell_types.check, ctx)
    return run(metadata.check, ctx)


def test_a_return_as_issued_has_no_metadata_finding(tmp_path):
    assert metadata_findings(filled(tmp_path / "a.xlsx")) == []


def test_a_changed_year_disagrees_with_the_issued_template(tmp_path):
    def edit(wb):
        wb[YEAR.sheet][YEAR.a1].value = 2025
    [f] = metadata_findings(edited(filled(tmp_path / "a.xlsx"), edit, unprotect=(YEAR.sheet,)))
    assert (f.code, f.cell, f.args["found"], f.args["expected"]) == ("metadata-mismatch", YEAR.a1, 2025, "2024")


def test_a_year_outside_the_form_version_is_an_error(tmp_path):
    def edit(wb):
        wb[YEAR.sheet][YEAR.a1].value = 2020
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == "year":
                row[1].value = 2020
    found = where(metadata_findings(edited(filled(tmp_path / "a.xlsx"), edit, unprotect=(YEAR.sheet,))))
    assert ("year-not-in-version", YEAR.a1) in found


def test_a_blank_agency_is_required(tmp_path):
    def edit(wb):
        wb[AGENCY.sheet][AGENCY.a1].value = None
    found = where(metadata_findings(edited(filled(tmp_path / "a.xlsx"), edit, unprotect=(AGENCY.sheet,))))
    assert ("field-required", AGENCY.a1) in found


def test_the_hidden_sheets_agency_is_bounded_like_the_field(tmp_path):
    marker = "隐藏名称标记局"
    path = filled(tmp_path / "a.xlsx", agency=marker)
    # only the hidden sheet's copy (an inline or shared string): make the visible field another name
    edit_part(path, "xl/sharedStrings.xml", lambda d: d.replace(marker.encode(), ("长" * 500).encode()))
    found = metadata_findings(path)
    hidden = [f for f in found if f.code == "text-too-long" and f.sheet == META_SHEET]
    assert hidden and hidden[0].args["limit"] == 100 and hidden[0].args["length"] == 500


def test_another_agency_in_the_agency_cell_is_an_error(tmp_path):
    """The template was issued to one agency; its agency cell now names another (protection removed):
    counted as filed, the return would land on the wrong agency. An error, not a warning."""
    def edit(wb):
        wb[AGENCY.sheet][AGENCY.a1].value = "某某区司法局"
    path = edited(filled(tmp_path / "a.xlsx", agency="某某区（教育）局"), edit, unprotect=(AGENCY.sheet,))
    [f] = metadata_findings(path)
    assert (f.code, f.severity, f.cell) == ("agency-mismatch", "error", AGENCY.a1)
    assert f.args["found"] == "某某区司法局" and f.args["expected"] == "某某区（教育）局"


def test_the_same_agency_typed_with_other_brackets_is_only_a_warning(tmp_path):
    def edit(wb):
        wb[AGENCY.sheet][AGENCY.a1].value = "某某区(教育)局 "
    path = edited(filled(tmp_path / "a.xlsx", agency="某某区（教育）局"), edit, unprotect=(AGENCY.sheet,))
    [f] = metadata_findings(path)
    assert (f.code, f.severity) == ("metadata-mismatch", "warning")
