"""xltool ingest --roster: every agency's status, returns from outside the roster, missing.csv,
the progress in report.html and the terminal, and the sample demo."""

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.agency_names import near_misses, normal_name
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
SPEC = "govinfo-annual-2021"


def make_return(path: Path, agency: Agency | None = None, typed: dict | None = None, raw: dict | None = None, seed=1):
    """A filled return: from a template issued to `agency`, or from a blank template with the
    agency details typed by the clerk (`typed`); `raw` puts text where numbers belong."""
    spec = get_spec(SPEC)
    values = {**random_inputs(spec.layout, random.Random(seed)), **(typed or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(spec, path, agency or Agency(), WriteOptions(values=values, raw=raw or {}))
    return path


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collection")
    roster = tmp / "agencies.csv"
    roster.write_text(
        "单位名称,地区,代码\n"
        "甲市财政局,甲市,\n"
        "甲市民政局,甲市,11110108MB1234567X\n"
        "某某区（教育）局,某某区,\n"
        "甲市司法局,甲市,\n"
        "甲市审计局,甲市,\n"
        "某某区教育体育局,某某区,\n", encoding="utf-8")
    inbox = tmp / "inbox"
    make_return(inbox / "财政.xlsx", Agency("甲市财政局", 2024))
    # the code matches although the name differs: the code wins when both sides have one
    make_return(inbox / "民政.xlsx", Agency("甲市民政局（本级）", 2024, code="11110108MB1234567X"), seed=2)
    # a blank template, the agency typed by a clerk with half-width brackets and a trailing space
    make_return(inbox / "教育.xlsx", typed={"meta.agency": "某某区(教育)局 ", "meta.year": 2024}, seed=3)
    make_return(inbox / "司法.xlsx", Agency("甲市司法局", 2024), raw={"t3.new.natural_person": "１２"}, seed=4)
    # not on the roster: one close to a roster name, one not close to any
    make_return(inbox / "其他/某某区教育局.xlsx", Agency("某某区教育局", 2024), seed=5)
    make_return(inbox / "其他/乙县水利局.xlsx", Agency("乙县水利局", 2024), seed=6)
    out = tmp / "out"
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out), "--roster", str(roster)])
    return res, out, json.loads((out / "run.json").read_text(encoding="utf-8"))


def test_report_html_with_the_roster_is_the_rendered_page(collection):
    """report.html, written a file section at a time, is the page render_run_report makes of
    run.json, the roster's progress included."""
    from xltool.form.canonical import loads
    from xltool.outputs.report_html import render_run_report

    _, out, _ = collection
    report = loads((out / "run.json").read_text(encoding="utf-8"))
    links = {f["path"]: f["feedback"] for f in report["files"]
             if f["feedback"] and f["status"] == "rejected" and not f["superseded_by"]}
    assert report["roster"] and links
    assert (out / "report.html").read_bytes() == render_run_report(report, links).encode("utf-8")


def test_every_roster_agency_gets_its_status(collection):
    res, out, run = collection
    status = {a["agency"]: a["status"] for a in run["roster"]["agencies"]}
    assert status == {"甲市财政局": "accepted", "甲市民政局": "accepted", "某某区（教育）局": "accepted",
                      "甲市司法局": "rejected", "甲市审计局": "missing", "某某区教育体育局": "missing"}
    assert run["roster"]["counts"] == {"agencies": 6, "returned": 4, "accepted": 3, "rejected": 1, "missing": 2,
                                       "not_on_roster": 2, "unidentified": 0}
    files = {a["agency"]: a["files"] for a in run["roster"]["agencies"]}
    assert files["某某区（教育）局"] == ["教育.xlsx"] and files["甲市民政局"] == ["民政.xlsx"]
    assert files["甲市审计局"] == []


def test_a_near_miss_is_suggested_never_merged(collection):
    _, _, run = collection
    strangers = {s["agency"]: s["suggestions"] for s in run["roster"]["not_on_roster"]}
    assert set(strangers) == {"某某区教育局", "乙县水利局"}
    assert "某某区教育体育局" in strangers["某某区教育局"] and strangers["乙县水利局"] == []
    by_path = {f["path"]: f for f in run["files"]}
    warned = [f for f in by_path["其他/某某区教育局.xlsx"]["findings"] if f["code"] == "not-on-roster"]
    assert warned and warned[0]["severity"] == "warning" and "某某区教育体育局" in warned[0]["message"]
    assert not any(f["code"] == "not-on-roster" for f in by_path["财政.xlsx"]["findings"])
    sports = next(a for a in run["roster"]["agencies"] if a["agency"] == "某某区教育体育局")
    assert sports["status"] == "missing" and sports["suggestions"][0]["agency"] == "某某区教育局"


def test_missing_csv_is_the_list_to_chase(collection):
    _, out, _ = collection
    raw = (out / "missing.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # UTF-8 with BOM: Excel reads it right
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [(r["单位名称"], r["状态"]) for r in rows] == [("甲市审计局", "未报送"), ("某某区教育体育局", "未报送"),
                                                        ("甲市司法局", "退回待改")]
    assert "feedback/司法.xlsx" in rows[2]["需要做什么"]
    assert "某某区教育局" in rows[1]["需要做什么"]                # the near miss, to check by hand


def test_report_and_terminal_open_with_the_progress(collection):
    res, out, _ = collection
    page = (out / "report.html").read_text(encoding="utf-8")
    progress = page.index('id="progress"')
    assert progress < page.index('class="index"')
    section = page[progress:page.index("</section>", progress)]
    assert "已报送 <b>4</b>" in section and "4 of 6 agencies returned" in section
    assert "甲市审计局" in section and "某某区教育体育局" in section
    assert "报送进度" in res.output and "已通过 3" in res.output and "退回待改 1" in res.output
    assert "未报送 2" in res.output and "甲市审计局" in res.output


def test_missing_csv_is_safe_to_open_in_a_spreadsheet(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("单位名称\n=HYPERLINK(\"http://x\")局\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out"), "--roster", str(roster)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader((tmp_path / "out" / "missing.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1][0].startswith("'=")


def test_names_compare_after_width_spaces_and_brackets():
    assert normal_name("某某区(教育)局 ") == normal_name("某某区（教育）局")
    assert normal_name("某某区 【教育】局") == normal_name("某某区（教育）局")
    assert normal_name("某某区教育局") != normal_name("某某区教育体育局")
    assert near_misses("某某区教育局", ["某某区教育体育局", "某某区司法局"]) == ["某某区教育体育局"]
    import time
    start = time.perf_counter()
    near_misses("局" * 30000, ["某某区教育体育局"] * 500)     # hostile length: bounded, still quick
    assert time.perf_counter() - start < 2


def test_the_demo_roster_matches_the_sample_inbox(tmp_path):
    res = runner.invoke(app, ["ingest", str(ROOT / "samples" / "inbox"), "--out", str(tmp_path / "out"),
                              "--roster", str(ROOT / "samples" / "roster.csv")])
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    c = run["roster"]["counts"]
    assert c["accepted"] >= 1 and c["rejected"] >= 1 and c["missing"] >= 1 and c["not_on_roster"] == 0, c
    assert "报送进度" in res.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "xltool ingest samples/inbox --out out --roster samples/roster.csv" in readme


def test_a_malformed_roster_is_reported_with_line_numbers(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    quote = tmp_path / "quote.csv"
    quote.write_text('单位名称,地区\n甲局,甲市\n"未闭合,某市\n乙局,乙市\n', encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "o1"), "--roster", str(quote)])
    assert res.exit_code == 2 and "quote.csv:3:" in res.output and "引号" in res.output
    extra = tmp_path / "extra.csv"
    extra.write_text("单位名称,地区\n甲局,甲市\n乙局,乙市,多出来\n", encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "o2"), "--roster", str(extra)])
    assert res.exit_code == 2 and "extra.csv:3:" in res.output and "多出来" in res.output
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("单位名称,联系人\n甲局,张三\n", encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "o3"), "--roster", str(unknown)])
    assert res.exit_code == 0 and "联系人" in res.output         # an unused column is named, not an error


def test_a_missing_roster_says_so(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "o"), "--roster", str(tmp_path / "nosuch.csv")])
    assert res.exit_code == 2
    assert "nosuch.csv:0" not in res.output and "找不到名单文件" in res.output and "no such file" in res.output


@pytest.mark.chromium
def test_the_progress_shows_in_chromium(collection):
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    import browser

    browser.require_chromium()
    _, out, _ = collection
    text = browser.visible_text(browser.dump_dom(browser.file_url(out / "report.html")))
    head = text[:text.index("只看退回")]                       # before the per-file part of the page
    for shown in ("报送进度", "已报送 4", "4 of 6 agencies returned", "甲市审计局", "某某区教育体育局", "甲市司法局",
                  "乙县水利局", "missing.csv"):
        assert shown in head, shown


def test_a_run_without_the_roster_removes_an_old_missing_csv(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    roster = tmp_path / "r.csv"
    roster.write_text("单位名称\n甲局\n", encoding="utf-8")
    out = tmp_path / "out"
    runner.invoke(app, ["ingest", str(inbox), "--out", str(out), "--roster", str(roster)])
    assert "甲局" in (out / "missing.csv").read_text(encoding="utf-8-sig")
    runner.invoke(app, ["ingest", str(inbox), "--out", str(out)])
    assert not (out / "missing.csv").exists()
    assert "roster" not in json.loads((out / "run.json").read_text(encoding="utf-8"))
