"""xltool ingest / validate: exit codes, the inbox is never written, specific findings for wrong workbooks."""

import hashlib
import json
import random
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.form.layout import META_SHEET
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.pipeline import process_file

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def filled(tmp_path, form="govinfo-annual-2021", year=2024, name="a.xlsx", seed=1):
    spec = get_spec(form)
    path = tmp_path / name
    write_workbook(spec, path, Agency("测试局", year), WriteOptions(values=random_inputs(spec.layout, random.Random(seed))))
    return path


def codes(path):
    r = process_file(path, path.parent)
    return r, {(f.code, f.cell) for f in r.findings}


def test_exit_codes_and_json_report(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    filled(good)
    res = runner.invoke(app, ["ingest", str(good), "--out", str(tmp_path / "o1"), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["stats"]["accepted"] == 1 and report["files"][0]["status"] == "accepted"
    assert (tmp_path / "o1" / report["files"][0]["json"]).is_file()
    res = runner.invoke(app, ["ingest", str(ROOT / "samples" / "inbox"), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 1 and "退回" in res.output
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing")]).exit_code == 2


def test_the_inbox_is_never_written(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "samples" / "inbox", inbox)
    before = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in inbox.rglob("*") if p.is_file()}
    runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    after = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in inbox.rglob("*") if p.is_file()}
    assert before == after
    assert runner.invoke(app, ["ingest", str(inbox), "--out", str(inbox / "out")]).exit_code == 2


def test_a_workbook_not_made_from_a_template(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "2024年政府信息公开统计"
    wb.active["B2"] = 12
    wb.save(tmp_path / "own.xlsx")
    r, found = codes(tmp_path / "own.xlsx")
    assert r.status == "rejected" and found == {("unknown-workbook", None)}
    assert "下发的模板" in r.findings[0].message


def test_an_older_edition_of_the_template(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "fingerprint":
            row[1].value = "0123456789abcdef"
    wb.save(path)
    r, found = codes(path)
    assert r.status == "rejected" and found == {("template-outdated", None)}
    assert r.form == "govinfo-annual-2021" and r.agency == "测试局"


def test_hidden_sheet_removed_is_recognised_by_its_labels(tmp_path):
    path = filled(tmp_path, form="govinfo-annual-2019", year=2020)
    wb = openpyxl.load_workbook(path)
    del wb[META_SHEET]
    wb.save(path)
    r, found = codes(path)
    assert r.form == "govinfo-annual-2019" and r.status == "accepted" and found == {("metadata-missing", None)}


def test_rows_inserted_into_table_three(tmp_path):
    path = filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["三、依申请公开"]
    ws.protection.sheet = False
    ws.insert_rows(8)
    wb.save(path)
    r, found = codes(path)
    assert r.status == "rejected"
    assert ("layout-shifted", "A8") in {(c, cell) for c, cell in found} or any(c == "layout-shifted" for c, _ in found)
    shifted = next(f for f in r.findings if f.code == "layout-shifted")
    assert shifted.sheet == "三、依申请公开" and shifted.args["found"] != shifted.args["expected"]


def test_template_for_the_wrong_report_year(tmp_path):
    path = filled(tmp_path, form="govinfo-annual-2021", year=2020)
    r, found = codes(path)
    assert r.status == "rejected" and ("year-not-in-version", "B4") in found


def test_validate_command(tmp_path):
    path = filled(tmp_path)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0 and "通过" in res.output
    res = runner.invoke(app, ["validate", str(ROOT / "samples" / "inbox" / "平潭综合实验区_2020.xlsx"), "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert {f["code"] for f in doc["findings"]} >= {"T3-A"}


@pytest.mark.parametrize("form,year", [("govinfo-annual-2019", 2020), ("govinfo-annual-2021", 2024)])
def test_random_valid_fills_are_accepted_with_every_number_back(tmp_path, form, year):
    spec = get_spec(form)
    for seed in range(5):
        values = random_inputs(spec.layout, random.Random(seed))
        path = tmp_path / f"{seed}.xlsx"
        write_workbook(spec, path, Agency("测试局", year), WriteOptions(values=values))
        r = process_file(path, tmp_path)
        assert r.status == "accepted", [f.message for f in r.findings]
        for cid, v in values.items():
            assert r.document["values"][cid] == v


def test_a_large_run_lists_only_the_returns_to_send_back(tmp_path):
    import io

    from rich.console import Console

    from xltool.ingest.run import ingest
    from xltool.outputs.terminal import print_run
    report = ingest(ROOT / "samples" / "inbox", tmp_path / "out", jobs=1)
    text = io.StringIO()
    print_run(report, Console(file=text, width=200), max_rows=3)
    shown = text.getvalue()
    assert "平潭" in shown and "某某区司法局" in shown         # rejected ones, by agency, 3 at most
    assert "某某区教育局" not in shown                         # the fourth rejected one
    assert "乐山市机关事务管理局" not in shown                  # accepted ones are in report.html
    assert "report.html" in shown and "只列出 3 个退回的文件" in shown


def test_text_typed_by_an_agency_is_never_terminal_markup(tmp_path):
    """A clerk who types "[red]" or "[/]" into a cell must not restyle or break the summary."""
    spec = get_spec("govinfo-annual-2021")
    path = tmp_path / "[bold]局_2024.xlsx"
    write_workbook(spec, path, Agency("[bold]局", 2024),
                   WriteOptions(values=random_inputs(spec.layout, random.Random(3)),
                                raw={"t3.new.business": "[/][red]12"}))
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 1 and "[/][red]12" in res.output and "[bold]局" in res.output
    res = runner.invoke(app, ["ingest", str(tmp_path), "--out", str(tmp_path.parent / "out-markup")])
    assert res.exit_code == 1 and "[/][red]12" in res.output


def test_a_blank_report_year_is_reported_as_missing_not_as_year_0(tmp_path):
    spec = get_spec("govinfo-annual-2021")
    path = tmp_path / "no_year.xlsx"
    write_workbook(spec, path, Agency("测试局"), WriteOptions(values=random_inputs(spec.layout, random.Random(2))))
    r, found = codes(path)
    year = spec.layout.cells["meta.year"]
    assert r.status == "rejected" and found == {("field-required", year.a1)}
    assert r.document["year"] is None and "报告年度" in r.findings[0].message


def test_a_rerun_with_nothing_changed_copies_the_entries_but_a_new_roster_is_seen(tmp_path, monkeypatch):
    """Nothing checked again: the entries of run.json and the sections of report.html are not made
    again (thousands of them cost most of a re-run) but copied from the last run's files, around
    counts written anew. Their inputs are the files, their mtimes, the ledger's verdicts and the
    roster: a roster with one more agency makes them again."""
    from xltool.collection.status import load_roster
    from xltool.form.forms import get_spec as spec_of
    from xltool.generate.writer import Agency as Issued
    from xltool.generate.writer import WriteOptions as Options
    from xltool.generate.writer import write_workbook as write
    from xltool.ingest import run as run_module
    from xltool.outputs import packed_result, report_html, run_report

    # an entry is encoded in the worker and the page drawn in a forked child: both counted in files
    lines, sections = tmp_path / "entries-encoded", tmp_path / "sections-drawn"
    real_line, real_section = run_report.entry_line, report_html._file_section

    def count(file):
        with open(file, "a") as fh:
            fh.write("x")

    def counted_section(*a):
        count(sections)
        return real_section(*a)

    def counted_line(e):
        if "findings" in e:   # an entry (its head, which the ledger keeps beside it, has none: not counted)
            count(lines)
        return real_line(e)

    def drawn():
        return sections.read_text() if sections.exists() else ""

    def encoded():
        return lines.read_text() if lines.exists() else ""

    monkeypatch.setattr(run_report, "entry_line", counted_line)
    monkeypatch.setattr(packed_result, "entry_line", counted_line)
    monkeypatch.setattr(report_html, "_file_section", counted_section)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    write(spec_of("govinfo-annual-2021"), inbox / "甲局.xlsx", Issued("甲局", 2024), Options())
    roster = tmp_path / "r.csv"
    roster.write_text("单位名称\n甲局\n", encoding="utf-8")
    runs = [run_module.ingest(inbox, out, jobs=1, roster=load_roster(roster)) for _ in range(3)]  # checked; reused; reused
    assert [r.stats()["unchanged"] for r in runs] == [0, 1, 1] and len(encoded()) == len(drawn()) == 1
    second = (out / "run.json").read_bytes(), (out / "report.html").read_bytes()
    assert json.loads(second[0])["stats"]["unchanged"] == 1 and "与上次相同未重新校验 1" in second[1].decode()
    assert [e for e in json.loads(second[0])["files"]] == [r.entry() for r in runs[0].files]
    roster.write_text("单位名称\n甲局\n乙局\n", encoding="utf-8")
    run_module.ingest(inbox, out, jobs=1, roster=load_roster(roster))
    # the page is drawn again; run.json's entry is its stored line (nothing was added to it)
    assert len(drawn()) == 2 and len(encoded()) == 1 and (out / "run.json").read_bytes() != second[0]
    counts = json.loads((out / "run.json").read_text(encoding="utf-8"))["roster"]["counts"]
    assert counts["agencies"] == 2 and counts["missing"] == 1


def test_outputs_edited_by_hand_are_made_again_not_copied(tmp_path):
    """The entries are copied only from a run.json (and report.html) exactly as xltool wrote it."""
    from xltool.form.forms import get_spec as spec_of
    from xltool.generate.writer import Agency as Issued
    from xltool.generate.writer import WriteOptions as Options
    from xltool.generate.writer import write_workbook as write
    from xltool.ingest.run import ingest as run_ingest

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    write(spec_of("govinfo-annual-2021"), inbox / "甲局.xlsx", Issued("甲局", 2024), Options())
    run_ingest(inbox, out, jobs=1)
    for name in ("run.json", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        (out / name).write_text(text.replace("甲局", "乙局"), encoding="utf-8")
    report = run_ingest(inbox, out, jobs=1)
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["files"] == [r.entry() for r in report.files]
    assert "乙局" not in (out / "run.json").read_text(encoding="utf-8")
    assert "乙局" not in (out / "report.html").read_text(encoding="utf-8")
