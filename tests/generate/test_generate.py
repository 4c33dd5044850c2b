"""xltool generate: one workbook, a roster batch, roster errors with line numbers."""

from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.form.layout import META_SHEET
from xltool.generate.roster import RosterError, read_roster, safe_filename

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_forms_lists_both_versions():
    out = runner.invoke(app, ["forms"]).output
    assert "govinfo-annual-2019" in out and "govinfo-annual-2021" in out


@pytest.mark.parametrize("form", ["govinfo-annual-2019", "govinfo-annual-2021"])
def test_generated_workbook_is_locked_identified_and_has_cached_totals(tmp_path, form):
    target = tmp_path / "a.xlsx"
    res = runner.invoke(app, ["generate", form, "-o", str(target), "--agency", "测试局", "--year",
                              "2020" if form.endswith("2019") else "2024", "--password", "s3cret"])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(target)
    layout = get_spec(form).layout
    meta = {r[0].value: r[1].value for r in wb[META_SHEET].iter_rows()}
    assert meta["form_id"] == form and meta["fingerprint"] == layout.fingerprint and meta["agency"] == "测试局"
    assert wb[META_SHEET].sheet_state == "veryHidden"
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
    for cell in layout.cells.values():
        c = wb[cell.sheet][cell.a1]
        if cell.role in ("agency", "year"):
            assert c.protection.locked and c.value in ("测试局", 2020, 2024)
        elif cell.computed:
            assert c.protection.locked and c.value == cell.formula
        else:
            assert c.protection.locked is False, cell.id
            assert f"in_{cell.id.replace('.', '_')}" in wb.defined_names
    cached = openpyxl.load_workbook(target, data_only=True)
    total = layout.cells["t3.results_total.total"]
    assert cached[total.sheet][total.a1].value == 0  # a cached result is stored, not left empty
    check = layout.checks()[0]
    assert cached[check.sheet][check.a1].value == "✓"


def test_cached_totals_are_correct_for_filled_values(tmp_path):
    from xltool.generate.writer import Agency, WriteOptions, write_workbook
    spec = get_spec("govinfo-annual-2021")
    values = {c.id: 2 for c in spec.layout.inputs() if c.table == "t3"}
    write_workbook(spec, tmp_path / "f.xlsx", Agency("x", 2024), WriteOptions(values=values))
    ws = openpyxl.load_workbook(tmp_path / "f.xlsx", data_only=True)["三、依申请公开"]
    cells = spec.layout.cells
    assert ws[cells["t3.new.total"].a1].value == 12                      # six columns of 2
    assert ws[cells["t3.results_total.natural_person"].a1].value == 42   # 21 result rows of 2
    assert ws[cells["t3.results_total.total"].a1].value == 252


def test_roster_batch_writes_one_workbook_per_row(tmp_path):
    out = tmp_path / "gen"
    res = runner.invoke(app, ["generate", "govinfo-annual-2021", "--roster", str(ROOT / "samples" / "roster.csv"),
                              "--year", "2024", "-o", str(out)])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert "pingtan.xlsx" in names and "乐山市机关事务管理局_2024.xlsx" in names and len(names) == 8
    wb = openpyxl.load_workbook(out / "淮安市人民政府_2024.xlsx")
    meta = {r[0].value: r[1].value for r in wb[META_SHEET].iter_rows()}
    assert meta["code"] == "11320800014160998K" and meta["region"] == "江苏省淮安市" and meta["year"] == 2024


def test_roster_problems_are_reported_with_line_numbers_and_nothing_is_written(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("单位名称,年度\n甲局,2024\n,2024\n乙局,24\n甲局,2024\n", encoding="utf-8")
    out = tmp_path / "gen"
    res = runner.invoke(app, ["generate", "govinfo-annual-2021", "--roster", str(roster), "-o", str(out)])
    assert res.exit_code == 2
    with pytest.raises(RosterError) as e:
        read_roster(roster)
    assert [line for line, _ in e.value.problems] == [3, 4, 5]
    assert not out.exists() or not any(out.iterdir())


def test_roster_in_gb18030_as_excel_saves_it(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_bytes("单位名称,地区\n某某局,某某市\n".encode("gb18030"))
    rows = read_roster(roster, default_year=2024)
    assert rows[0].agency.name == "某某局" and rows[0].agency.region == "某某市" and rows[0].file == "某某局_2024.xlsx"


@pytest.mark.parametrize("name,safe", [("a/b:c*?", "a_b_c__"), ("CON", "_CON"), ("局. ", "局"), ("aux.xlsx", "_aux.xlsx")])
def test_file_names_are_safe_on_windows(name, safe):
    assert safe_filename(name) == safe


def test_unknown_form_is_a_usage_error(tmp_path):
    res = runner.invoke(app, ["generate", "no-such-form", "-o", str(tmp_path / "x.xlsx")])
    assert res.exit_code == 2 and "govinfo-annual-2021" in res.output


def test_roster_in_two_processes_writes_the_same_workbooks(tmp_path):
    """--jobs 2 splits the roster between processes; every workbook is the one --jobs 1 writes
    (all parts equal but docProps/core.xml, which holds the time of writing)."""
    import zipfile

    roster = tmp_path / "r.csv"
    roster.write_text("单位名称,所属地区\n" + "".join(f"测试{i:03d}局,某区\n" for i in range(60)), encoding="utf-8")
    for jobs in ("1", "2"):
        res = CliRunner().invoke(app, ["generate", "govinfo-annual-2021", "--roster", str(roster), "--year", "2024",
                                       "-o", str(tmp_path / f"j{jobs}"), "--jobs", jobs])
        assert res.exit_code == 0, res.output
    one, two = sorted((tmp_path / "j1").iterdir()), sorted((tmp_path / "j2").iterdir())
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 60
    for a, b in zip(one, two):
        with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
            names = [n for n in za.namelist() if n != "docProps/core.xml"]
            assert names == [n for n in zb.namelist() if n != "docProps/core.xml"]
            assert all(za.read(n) == zb.read(n) for n in names), a.name
    agencies = set()
    for b in two:
        meta = {k: v for k, v in openpyxl.load_workbook(b)[META_SHEET].iter_rows(values_only=True)}
        agencies.add(meta["agency"])
    assert agencies == {f"测试{i:03d}局" for i in range(60)}   # each row written once, none twice
