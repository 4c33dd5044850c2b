"""The bundled samples: exact verdicts, findings (code and cell) and values in their JSON."""

from decimal import Decimal

import pytest

from scripts.make_samples import published_values
from xltool.form.canonical import loads
from xltool.form.forms import get_spec

from conftest import ROOT, published

EXPECTED = {
    "乐山市机关事务管理局_2020.xlsx": ("accepted", set()),
    "淮安市人民政府_2024.xlsx": ("accepted", set()),
    "平潭综合实验区_2020.xlsx": ("rejected", {("T3-A", "D28"), ("T3-A", "J28"), ("blank-cells", "B5")}),
    "常见错误/某某区教育局_2024.xlsx": ("rejected", {("T3-B", "J28"), ("protection-removed", None)}),
    "常见错误/某某区卫生健康委员会_2020.xlsx": ("rejected", {
        ("not-a-number", "D5"), ("not-a-number", "C8"), ("not-a-number", "C19"), ("not-a-number", "A5")}),
    "常见错误/某某区司法局_2024.xlsx": ("rejected", {("table-blank", "A5"), ("blank-cells", "F16")}),
}


def _doc(out, entry):
    return loads((out / entry["json"]).read_text(encoding="utf-8"))


def test_every_sample_has_its_verdict_and_exact_findings(samples_run):
    report, out = samples_run
    entries = {e["path"]: e for e in report.to_dict()["files"]}
    assert set(entries) == set(EXPECTED)
    for path, (status, findings) in EXPECTED.items():
        e = entries[path]
        assert e["status"] == status, (path, e["findings"])
        assert {(f["code"], f["cell"]) for f in e["findings"]} == findings, path
        doc = _doc(out, e)
        assert doc["status"] == status
        assert {(f["code"], f["cell"]) for f in doc["findings"]} == findings


@pytest.mark.parametrize("name,file,form", [
    ("2020_leshan_jiguan_shiwu_guanliju", "乐山市机关事务管理局_2020.xlsx", "govinfo-annual-2019"),
    ("2024_huaian_shi_renmin_zhengfu", "淮安市人民政府_2024.xlsx", "govinfo-annual-2021"),
    ("2020_pingtan_zonghe_shiyanqu", "平潭综合实验区_2020.xlsx", "govinfo-annual-2019"),
])
def test_published_numbers_come_back_exactly(samples_run, name, file, form):
    report, out = samples_run
    pub = published(name)
    spec = get_spec(form)
    entry = next(e for e in report.to_dict()["files"] if e["path"] == file)
    doc = _doc(out, entry)
    assert doc["form"]["id"] == form and doc["agency"] == pub["agency"] and doc["year"] == pub["report_year"]
    typed = published_values(spec, pub)
    for cell in spec.layout.inputs():
        if cell.table is None:
            continue
        want = typed.get(cell.id, 0)  # blank reads as 0
        assert doc["values"][cell.id] == (Decimal(str(want)) if isinstance(want, float) else want), cell.id
    # totals recalculated from the template's formulas equal the published totals where those add up
    t3 = pub["table3"]
    for row, cols in t3.items():
        row_id = next(c.row_id for c in spec.layout.cells.values() if c.table == "t3" and " > ".join(c.label_path) == row)
        assert doc["values"][f"t3.{row_id}.total"] == cols["总计"] or name.endswith("pingtan_zonghe_shiyanqu"), row
    for group, cols in pub["table4"].items():
        col = next(c for c in spec.layout.cells.values() if c.table == "t4" and " > ".join(c.column_path) == f"{group} > 总计")
        assert doc["values"][col.id] == cols["总计"]


def test_pingtan_results_total_is_the_sum_of_its_parts_not_the_published_21(samples_run):
    report, out = samples_run
    doc = _doc(out, next(e for e in report.to_dict()["files"] if e["path"] == "平潭综合实验区_2020.xlsx"))
    assert doc["values"]["t3.results_total.total"] == 27
    assert doc["values"]["t3.results_total.natural_person"] == 26
    t3a = {f["cell"]: f["args"] for f in doc["findings"] if f["code"] == "T3-A"}
    assert (t3a["D28"]["lhs"], t3a["D28"]["rhs"]) == (20, 26)
    assert (t3a["J28"]["lhs"], t3a["J28"]["rhs"]) == (21, 27)


def test_amounts_stay_exact_in_json_text(samples_run):
    report, out = samples_run
    entry = next(e for e in report.to_dict()["files"] if e["path"] == "乐山市机关事务管理局_2020.xlsx")
    text = (out / entry["json"]).read_text(encoding="utf-8")
    assert '"t2_9.central_procurement.amount": 14.495' in text
    assert loads(text)["values"]["t2_9.central_procurement.amount"] == Decimal("14.495")
    huaian = next(e for e in report.to_dict()["files"] if e["path"] == "淮安市人民政府_2024.xlsx")
    assert '"t2_8.admin_fees.fee_amount": 96171.6' in (out / huaian["json"]).read_text(encoding="utf-8")


def test_text_in_number_cells_says_what_was_found_and_what_is_expected(samples_run):
    report, _ = samples_run
    entry = next(e for e in report.to_dict()["files"] if e["path"] == "常见错误/某某区卫生健康委员会_2020.xlsx")
    by_cell = {f["cell"]: f for f in entry["findings"]}
    assert by_cell["C19"]["args"]["found"] == "14.495万元" and by_cell["C19"]["args"]["guess"] == "14.495"
    assert "万元" in by_cell["C19"]["message"] and "14.495" in by_cell["C19"]["message"]
    assert by_cell["C8"]["args"]["guess"] == "-4"
    assert by_cell["D5"]["args"]["guess"] == "12"      # full-width digits
    assert by_cell["A5"]["args"]["guess"] == "3"       # stray spaces
    for f in entry["findings"]:
        assert f["message"] and f["sheet"] and f["cell"] in f["message"]


def test_the_samples_are_what_the_script_builds():
    """samples/inbox is committed; the script that makes it must still describe it."""
    inbox = ROOT / "samples" / "inbox"
    names = {p.relative_to(inbox).as_posix() for p in inbox.rglob("*.xlsx")}
    assert names == set(EXPECTED)
