"""A form of one's own, with no code change: docs/example-form.yaml in a folder named by
$XLTOOL_TEMPLATES is listed, generated, filled and ingested like the national forms."""

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import TEMPLATES_ENV, get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.run import ingest

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def own_forms(tmp_path, monkeypatch):
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "service-hall.yaml").write_text((ROOT / "docs" / "example-form.yaml").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    (folder / "broken.yaml").write_text("id: [unclosed", encoding="utf-8")  # listed nowhere, breaks nothing
    monkeypatch.setenv(TEMPLATES_ENV, str(folder))
    return get_spec("service-hall-2025")


def test_an_own_form_is_listed_generated_and_ingested(own_forms, tmp_path):
    spec = own_forms
    assert "service-hall-2025" in runner.invoke(app, ["forms"]).output
    assert "govinfo-annual-2021" in runner.invoke(app, ["forms"]).output
    inbox = tmp_path / "inbox"
    res = runner.invoke(app, ["generate", "service-hall-2025", "-o", str(inbox / "blank.xlsx"), "--agency", "某中心",
                              "--year", "2025"])
    assert res.exit_code == 0, res.output
    (inbox / "blank.xlsx").unlink()
    good = random_inputs(spec.layout, random.Random(1))
    write_workbook(spec, inbox / "甲中心.xlsx", Agency("甲中心", 2025), WriteOptions(values=good))
    bad = dict(good, **{"visits.received.q1": good["visits.received.q1"] + 5})
    write_workbook(spec, inbox / "乙中心.xlsx", Agency("乙中心", 2025), WriteOptions(values=bad))
    report = ingest(inbox, tmp_path / "out", jobs=1)
    by_path = {r.path: r for r in report.files}
    assert by_path["甲中心.xlsx"].status == "accepted" and by_path["甲中心.xlsx"].form == "service-hall-2025"
    rejected = by_path["乙中心.xlsx"]
    assert rejected.status == "rejected"
    checks = {ch.key: ch.a1 for ch in spec.layout.checks()}
    # 一季度 no longer balances, and so neither does 合计, which adds it up
    assert {(f.code, f.cell) for f in rejected.findings} == {("V-BAL", checks["q1"]), ("V-BAL", checks["total"])}
    assert (tmp_path / "out" / "feedback" / "乙中心.xlsx").is_file()
    from xltool.form.canonical import loads
    doc = loads((tmp_path / "out" / by_path["甲中心.xlsx"].json).read_text(encoding="utf-8"))
    assert doc["values"]["visits.received.total"] == good["visits.received.q1"] + good["visits.received.q2"]
