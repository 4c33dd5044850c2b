"""`xltool import` of a folder gives the same report.html and summary.xlsx as ingest: the accepted
sample returns, published as Word documents by `render --docx` and imported back, add up to the
very sums ingest's summary.xlsx has for them."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from xltool.cli import app
from xltool.findings import ACCEPTED
from xltool.form.canonical import loads
from xltool.published.docx_writer import write_report_docx

SUMS = ("主动公开", "依申请公开", "复议诉讼")    # the summed tables' sheets (not the per-agency rows: file names differ)


def sums(path: Path) -> dict[str, list[list[object]]]:
    wb = openpyxl.load_workbook(path)
    return {name: [list(r) for r in wb[name].iter_rows(values_only=True)]
            for name in wb.sheetnames if any(s in name for s in SUMS)}


def test_imported_reports_add_up_to_ingests_summary(samples_run, tmp_path):
    report, out = samples_run
    published = tmp_path / "published"
    published.mkdir()
    accepted = [r for r in report.files if r.status == ACCEPTED and r.superseded_by is None]
    assert len(accepted) >= 2
    for i, r in enumerate(accepted):
        write_report_docx(loads((out / r.json).read_text(encoding="utf-8")), published / f"report-{i}.docx")
    imported = tmp_path / "imported"
    res = CliRunner().invoke(app, ["import", str(published), "-o", str(imported)])
    assert res.exit_code == 0, res.output
    assert sums(imported / "summary.xlsx") == sums(out / "summary.xlsx")
    run = json.loads((imported / "run.json").read_text(encoding="utf-8"))
    assert run["stats"]["accepted"] == len(accepted) and (imported / "values.csv").is_file()
    page = (imported / "report.html").read_text(encoding="utf-8")
    assert all(f"report-{i}.docx" in page for i in range(len(accepted)))
