"""ingest --previous: the cross-year warnings of FORMAT.md, matched by agency."""

import random
from pathlib import Path

from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.run import ingest


def _return(folder: Path, form: str, agency: str, year: int, values: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(get_spec(form), folder / f"{agency}_{year}.xlsx", Agency(agency, year), WriteOptions(values=values))


def _warnings(report, path):
    r = next(r for r in report.files if r.path == path)
    return {(f.code, f.cell, f.args.get("found"), f.args.get("expected")) for f in r.findings if f.severity == "warning"}


def test_carried_over_and_in_force_roll_forward_2021(tmp_path):
    layout = get_spec("govinfo-annual-2021").layout
    last = random_inputs(layout, random.Random(1))
    _return(tmp_path / "in2023", "govinfo-annual-2021", "甲局", 2023, last)
    _return(tmp_path / "in2023", "govinfo-annual-2021", "乙局", 2023, last)
    ingest(tmp_path / "in2023", tmp_path / "out2023", jobs=1)

    now = random_inputs(layout, random.Random(2), balanced=False)
    for col in ("natural_person", "business", "research", "public_interest", "legal_service", "other_org"):
        now[f"t3.carried_over.{col}"] = last[f"t3.carried_forward.{col}"]
    for row in ("rules", "normative_docs"):
        now[f"t2_1.{row}.in_force"] = last[f"t2_1.{row}.in_force"] + now[f"t2_1.{row}.issued"] - now[f"t2_1.{row}.repealed"]
    from xltool.generate.synth import balance
    balance(layout, now)
    assert all(now[f"t3.carried_over.{c}"] == last[f"t3.carried_forward.{c}"] for c in ("business", "research"))
    _return(tmp_path / "in2024", "govinfo-annual-2021", "甲局", 2024, now)
    wrong = dict(now)
    wrong["t3.carried_over.research"] = now["t3.carried_over.research"] + 2
    wrong["t3.new.research"] = now["t3.new.research"] - 2 if now["t3.new.research"] >= 2 else 0
    wrong["t2_1.rules.in_force"] = now["t2_1.rules.in_force"] + 1
    _return(tmp_path / "in2024", "govinfo-annual-2021", "乙局", 2024, wrong)
    report = ingest(tmp_path / "in2024", tmp_path / "out2024", jobs=1, previous=tmp_path / "out2023")

    assert not {w for w in _warnings(report, "甲局_2024.xlsx") if w[0].startswith("Y-")}
    cells = layout.cells
    got = {w for w in _warnings(report, "乙局_2024.xlsx") if w[0].startswith("Y-")}
    assert ("Y-CARRY", cells["t3.carried_over.research"].a1, wrong["t3.carried_over.research"],
            last["t3.carried_forward.research"]) in got
    assert ("Y-IN-FORCE", cells["t2_1.rules.in_force"].a1, wrong["t2_1.rules.in_force"],
            now["t2_1.rules.in_force"]) in got
    msg = next(f for r in report.files for f in r.findings if f.code == "Y-IN-FORCE").message
    assert "2023" in msg and "现行有效件数" in msg


def test_2019_prior_items_and_no_previous_report(tmp_path):
    layout = get_spec("govinfo-annual-2019").layout
    last = random_inputs(layout, random.Random(3))
    _return(tmp_path / "in2019", "govinfo-annual-2019", "丙局", 2019, last)
    ingest(tmp_path / "in2019", tmp_path / "out2019", jobs=1)
    now = random_inputs(layout, random.Random(4))
    now["t2_5.licensing.prior_items"] = last["t2_5.licensing.prior_items"] + last["t2_5.licensing.change"] + 5
    _return(tmp_path / "in2020", "govinfo-annual-2019", "丙局", 2020, now)
    _return(tmp_path / "in2020", "govinfo-annual-2019", "丁局", 2020, now)   # no 2019 report: no cross-year finding
    report = ingest(tmp_path / "in2020", tmp_path / "out2020", jobs=1, previous=tmp_path / "out2019" / "json")
    codes = {w[0] for w in _warnings(report, "丙局_2020.xlsx")}
    assert "Y-ITEMS-5" in codes
    assert not {w for w in _warnings(report, "丁局_2020.xlsx") if w[0].startswith("Y-")}
