"""What people get opens cleanly everywhere: every workbook xltool writes (templates, both kinds of
feedback workbook, summary.xlsx) passes the Open XML validator openxml-audit (a port of the Open XML
SDK's validation: what Excel would repair or refuse)."""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

runner = CliRunner()
T3 = "三、依申请公开"


def errors(path: Path) -> list[str]:
    result = OpenXmlValidator().validate(str(path))
    return [f"{e.part_uri} {e.path}: {e.description}" for e in result.errors
            if e.severity == ValidationSeverity.ERROR]


@pytest.mark.parametrize("form", ["govinfo-annual-2019", "govinfo-annual-2021"])
def test_generated_templates_are_valid(tmp_path, form):
    year = 2020 if form.endswith("2019") else 2024
    out = tmp_path / "t.xlsx"
    res = runner.invoke(app, ["generate", form, "-o", str(out), "--agency", "某某区人民政府办公室", "--year", str(year)])
    assert res.exit_code == 0, res.output
    assert errors(out) == []


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """An inbox with good returns (for summary.xlsx), one rejected for text in a number cell (its
    feedback is redrawn from the template) and one with rows inserted (its feedback is an openpyxl copy)."""
    root = tmp_path_factory.mktemp("valid")
    inbox = root / "inbox"
    inbox.mkdir()
    for form, year in (("govinfo-annual-2021", 2024), ("govinfo-annual-2019", 2020)):
        spec = get_spec(form)
        for i in range(2):
            write_workbook(spec, inbox / f"good_{year}_{i}.xlsx", Agency(f"正常{i}局", year),
                           WriteOptions(values=random_inputs(spec.layout, random.Random(i))))
    spec = get_spec("govinfo-annual-2021")
    values = random_inputs(spec.layout, random.Random(7))
    write_workbook(spec, inbox / "text_in_numbers.xlsx", Agency("文字局", 2024),
                   WriteOptions(values=values, raw={"t3.new.business": "12件", "t2_8.admin_fees.fee_amount": "14.495万元"}))
    shifted = inbox / "rows_inserted.xlsx"
    write_workbook(spec, shifted, Agency("插行局", 2024), WriteOptions(values=values))
    wb = openpyxl.load_workbook(shifted)
    wb[T3].protection.sheet = False
    wb[T3].insert_rows(8)
    wb.save(shifted)
    out = root / "out"
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out), "--jobs", "1"])
    assert res.exit_code == 1, res.output
    return out


def test_feedback_redrawn_from_the_template_is_valid(ingested):
    path = ingested / "feedback" / "text_in_numbers.xlsx"
    assert path.is_file() and errors(path) == []


def test_feedback_copied_with_openpyxl_is_valid(ingested):
    path = ingested / "feedback" / "rows_inserted.xlsx"
    assert path.is_file() and errors(path) == []


def test_summary_is_valid(ingested):
    assert errors(ingested / "summary.xlsx") == []
