"""Bounds on what a return can make big (xltool/checks/bounds.py): numbers beyond any real figure,
texts longer than their field allows, and how many findings of one kind a file gets. Each test
builds a real workbook (the writer, then an edit of the sheet XML where no spreadsheet program
would write such a value) and ingests it as a clerk's return."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from xltool.checks.blanks import BLANK_CELLS
from xltool.checks.bounds import MAX_FINDINGS_PER_CODE, capped, clip, significant_digits
from xltool.checks.cell_types import NOT_A_NUMBER
from xltool.cli import app
from xltool.findings import ERROR, WARNING
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.pipeline import process_file

try:                        # rootdir-relative when pytest runs from the repository, package-style otherwise
    import returns
except ImportError:
    from tests import returns

SPEC, L = returns.SPEC, returns.L

runner = CliRunner()


def filled(path: Path, agency: str = "边界测试局", seed: int = 3, **options) -> Path:
    return returns.filled(path, agency=agency, seed=seed, **options)


def set_value(path: Path, cell: str, stored: str) -> Path:
    """Store `stored` as the number in `cell` of table 三, as the XML of a hostile file would."""
    return returns.set_cell_xml(path, cell, f"<v>{stored}</v>")


def ingest(inbox: Path, out: Path) -> dict:
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out), "--json", "--jobs", "1"])
    assert res.exit_code in (0, 1), res.output[-2000:]
    return json.loads(res.output)


D5 = L.cells["t3.new.natural_person"]


def test_a_count_of_400_nines_is_rejected_at_its_cell_and_every_output_is_written(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    set_value(filled(inbox / "nines.xlsx"), D5.a1, "9" * 400)
    filled(inbox / "good.xlsx", agency="正常局", seed=4)
    report = ingest(inbox, tmp_path / "out")
    entry = next(f for f in report["files"] if f["path"] == "nines.xlsx")
    assert entry["status"] == "rejected"
    [f] = [f for f in entry["findings"] if f["code"] == "number-too-precise"]
    assert (f["sheet"], f["cell"]) == (D5.sheet, D5.a1)
    assert "400" in f["message"] and "15" in f["message"] and "400" in f["message_en"]
    assert len(f["message"]) < 400      # the number is quoted clipped, not whole
    assert (tmp_path / "out" / "summary.xlsx").is_file()


def test_1e308_in_two_returns_is_rejected_and_the_summary_is_written(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(2):
        set_value(filled(inbox / f"huge{i}.xlsx", agency=f"大数{i}局", seed=5 + i), D5.a1, "1e308")
    report = ingest(inbox, tmp_path / "out")
    for entry in report["files"]:
        assert entry["status"] == "rejected"
        [f] = [f for f in entry["findings"] if f["code"] == "number-too-large"]
        assert f["cell"] == D5.a1 and "1000000000" in f["message"] and "1e+308" in f["message"]
    assert (tmp_path / "out" / "summary.xlsx").is_file()


def test_a_count_above_a_billion_is_rejected_and_one_at_it_is_accepted(tmp_path):
    total = L.cells["t3.new.total"]
    over = filled(tmp_path / "over.xlsx", raw={D5.id: 1_000_000_001})
    r = process_file(over, tmp_path)
    assert r.status == "rejected"
    assert ("number-too-large", D5.a1) in {(f.code, f.cell) for f in r.findings}
    assert not any(f.cell == total.a1 for f in r.findings)   # the total that reads it does not repeat it
    values = random_inputs(L, random.Random(3))
    values[D5.id] = 1_000_000_000
    at = tmp_path / "at.xlsx"
    write_workbook(SPEC, at, Agency("边界测试局", 2024), WriteOptions(values=values))
    r = process_file(at, tmp_path)
    assert not any(f.code.startswith("number-") for f in r.findings)


def test_an_amount_above_a_billion_wan_yuan_is_rejected(tmp_path):
    fee = L.cells["t2_8.admin_fees.fee_amount"]
    r = process_file(filled(tmp_path / "fee.xlsx", raw={fee.id: 2.5e9}), tmp_path)
    assert r.status == "rejected" and ("number-too-large", fee.a1) in {(f.code, f.cell) for f in r.findings}


def test_an_infinite_number_is_rejected_as_not_finite(tmp_path):
    r = process_file(set_value(filled(tmp_path / "inf.xlsx"), D5.a1, "1e999"), tmp_path)
    assert r.status == "rejected"
    assert ("number-not-finite", D5.a1) in {(f.code, f.cell) for f in r.findings}


def test_sixteen_significant_digits_are_rejected(tmp_path):
    r = process_file(set_value(filled(tmp_path / "digits.xlsx"), D5.a1, "1234567890123456"), tmp_path)
    assert ("number-too-precise", D5.a1) in {(f.code, f.cell) for f in r.findings}


def huge_agency(path: Path, name: str) -> Path:
    """Replace the agency name (a shared string: visible field and hidden sheet alike) by `name`."""
    marker = "超长名称标记局"
    write_workbook(SPEC, path, Agency(marker, 2024), WriteOptions(values=random_inputs(L, random.Random(8))))
    return returns.edit_part(path, "xl/sharedStrings.xml", lambda d: d.replace(marker.encode(), name.encode()))


def test_a_7mb_agency_name_is_rejected_and_cut_in_every_output(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # 7 MB of UTF-8 that compresses about 23:1, like text (a run of one character would be refused as a zip bomb)
    rng = random.Random(1)
    name = "".join(rng.choice(["某某市局", "人民政府", "办公室的", "信息公开"]) for _ in range(7 * 1024 * 1024 // 12))
    path = huge_agency(inbox / "long_name.xlsx", name)
    assert path.stat().st_size < 400_000
    out = tmp_path / "out"
    report = ingest(inbox, out)
    [entry] = report["files"]
    assert entry["status"] == "rejected"
    cut = [f for f in entry["findings"] if f["code"] == "text-too-long"]
    agency_cell = L.cells["meta.agency"]
    assert {(f["sheet"], f["cell"]) for f in cut} >= {(agency_cell.sheet, agency_cell.a1), ("_xltool", "B5")}
    assert all(str(len(name)) in f["message"] and "100" in f["message"] for f in cut)
    doc = json.loads((out / entry["json"]).read_text(encoding="utf-8"))
    assert doc["agency"] == name[:100] and doc["values"]["meta.agency"] == name[:100]
    assert len(entry["agency"] or "") <= 100
    for produced in out.rglob("*"):          # run.json, report.html, the document, the feedback workbook...
        if produced.is_file() and produced.suffix != ".sqlite":
            assert produced.stat().st_size < 1_000_000, produced


def test_a_text_part_longer_than_20000_characters_is_rejected_and_cut(tmp_path):
    overview = L.cells["text.overview"]
    r = process_file(filled(tmp_path / "essay.xlsx", raw={overview.id: "字" * 20_001}), tmp_path)
    assert r.status == "rejected"
    assert ("text-too-long", overview.a1) in {(f.code, f.cell) for f in r.findings}
    assert r.document["values"]["text.overview"] == "字" * 20_000
    ok = process_file(filled(tmp_path / "fine.xlsx", raw={overview.id: "字" * 20_000}), tmp_path)
    assert not any(f.code == "text-too-long" for f in ok.findings)


def test_a_code_longer_than_30_characters_is_rejected(tmp_path):
    code = L.cells["meta.code"]
    r = process_file(filled(tmp_path / "code.xlsx", raw={code.id: "9" * 31}), tmp_path)
    assert ("text-too-long", code.a1) in {(f.code, f.cell) for f in r.findings}


def test_findings_of_one_kind_are_capped_with_a_summary_that_still_rejects(tmp_path):
    raw = {c.id: "无" for c in L.inputs() if c.type.numeric and c.table}
    assert len(raw) > MAX_FINDINGS_PER_CODE
    r = process_file(filled(tmp_path / "words.xlsx", raw=raw), tmp_path)
    nan = [f for f in r.findings if f.code == "not-a-number"]
    [capped] = [f for f in r.findings if f.code == "findings-capped"]
    assert len(nan) == MAX_FINDINGS_PER_CODE
    assert capped.severity == "error" and capped.args["more"] == len(raw) - MAX_FINDINGS_PER_CODE
    assert str(len(raw) - MAX_FINDINGS_PER_CODE) in capped.message and r.status == "rejected"


def test_significant_digits_are_counted_exactly_however_long_the_number():
    from decimal import Decimal
    assert significant_digits(Decimal("9" * 400)) == 400          # normalize() would round to 28
    assert significant_digits(Decimal(10) ** 20) == 1
    assert significant_digits(Decimal("0.0012")) == 2 and significant_digits(Decimal(0)) == 1


def test_a_long_text_is_quoted_clipped_with_its_length():
    assert clip("短") == "短"
    shown = clip("字" * 10_000)
    assert len(shown) < 100 and "10000" in shown


def test_capping_keeps_the_worst_severity_of_what_it_leaves_out():
    w, e = BLANK_CELLS, NOT_A_NUMBER
    kept = capped([w.at(n=i) for i in range(3)] + [e.at(n=9)], limit=2)
    assert [f.code for f in kept] == ["blank-cells", "blank-cells", "not-a-number", "findings-capped"]
    assert kept[-1].severity == WARNING and kept[-1].args == {"code": "blank-cells", "more": 1, "limit": 2}
    mixed = capped([w.at(n=1), w.at(n=2), w.at(n=3, severity=ERROR)], limit=1)
    assert mixed[-1].code == "findings-capped" and mixed[-1].severity == ERROR and mixed[-1].args["more"] == 2


def test_a_long_text_in_a_return_copied_for_feedback_is_cut_to_what_a_cell_holds(tmp_path):
    import openpyxl

    inbox = tmp_path / "inbox"
    inbox.mkdir()

    def shift_and_stuff(wb):
        wb[returns.T3].insert_rows(8)          # the structure breaks: feedback is a copy of the file
        wb[returns.T3]["A40"].value = "LONGTEXTMARKER"
    path = returns.edited(filled(inbox / "stuffed.xlsx"), shift_and_stuff, unprotect=(returns.T3,))
    # openpyxl cuts what a program assigns; a hostile file stores more (openpyxl writes inline strings)
    returns.edit_part(path, returns.T3_PART, lambda d: d.replace(b"LONGTEXTMARKER", ("字" * 40_000).encode()))
    report = ingest(inbox, tmp_path / "out")
    [entry] = report["files"]
    assert entry["status"] == "rejected"
    wb = openpyxl.load_workbook(tmp_path / "out" / "feedback" / "stuffed.xlsx")
    longest = max(len(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                  if isinstance(c.value, str))
    assert longest == 32_767
