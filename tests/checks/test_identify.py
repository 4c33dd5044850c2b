"""Identification (xltool/checks/identify.py): which form and edition a returned workbook is."""

from __future__ import annotations

import openpyxl

from xltool.checks.identify import identify
from xltool.form.layout import META_SHEET
from xltool.xlsx.read import read_workbook

from returns import SPEC, filled


def _meta_edit(path, key: str, value: str):
    wb = openpyxl.load_workbook(path)
    for row in wb[META_SHEET].iter_rows():
        if row[0].value == key:
            row[1].value = value
    wb.save(path)
    return path


def test_a_generated_workbook_names_its_form_and_agency(tmp_path):
    ident = identify(read_workbook(filled(tmp_path / "a.xlsx", agency="某某区教育局")))
    assert ident.spec is SPEC and ident.findings == []
    assert ident.meta["agency"] == "某某区教育局" and ident.meta["year"] == "2024"


def test_another_edition_of_the_template_is_outdated(tmp_path):
    path = _meta_edit(filled(tmp_path / "a.xlsx"), "fingerprint", "0000000000000000")
    [f] = identify(read_workbook(path)).findings
    assert (f.code, f.severity, f.args["found"], f.args["expected"]) == (
        "template-outdated", "error", "0000000000000000", SPEC.layout.fingerprint)


def test_a_form_id_xltool_does_not_know(tmp_path):
    path = _meta_edit(filled(tmp_path / "a.xlsx"), "form_id", "some-other-form")
    ident = identify(read_workbook(path))
    assert ident.spec is None and [f.code for f in ident.findings] == ["unknown-form"]


def test_without_the_hidden_sheet_the_labels_decide(tmp_path):
    path = filled(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    del wb[META_SHEET]
    wb.save(path)
    ident = identify(read_workbook(path))
    assert ident.spec is SPEC and [f.code for f in ident.findings] == ["metadata-missing"]


def test_a_workbook_of_something_else_is_unknown(tmp_path):
    path = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "部门预算表"
    wb.save(path)
    ident = identify(read_workbook(path))
    assert ident.spec is None and [f.code for f in ident.findings] == ["unknown-workbook"]
