"""What the coordinator and the agencies get back: report.html, feedback workbooks, summary.xlsx,
values.csv and the rendered report, built from a real ingest run.

The inbox is samples/inbox plus a few generated returns that are accepted: two more agencies
for 2020 and 2024 (so the summary really adds up several returns, with decimal amounts and
negative 本年增/减), and agencies whose names look like spreadsheet formulas.
"""

from __future__ import annotations

import csv
import html
import io
import random
import shutil
import zipfile
import zlib
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from xltool.findings import ACCEPTED, ERROR, REJECTED, SKIPPED, WARNING, Finding
from xltool.form.canonical import loads
from xltool.form.forms import get_spec
from xltool.form.layout import META_SHEET
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.pipeline import process_file
from xltool.ingest.run import ingest
from xltool.outputs.feedback import write_feedback
from xltool.outputs.findings_sheet import FINDINGS_SHEET
from xltool.outputs.render import render_report_html
from xltool.outputs.report_html import render_run_report
from xltool.outputs.run_outputs import write_report_html
from xltool.outputs.summary import write_summary, write_values_csv

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "inbox"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PINGTAN = "平潭综合实验区_2020.xlsx"
HEALTH = "常见错误/某某区卫生健康委员会_2020.xlsx"
T3 = "三、依申请公开"
T2 = "二、主动公开"
FORMULA_AGENCIES = ('=HYPERLINK("http://x")', "+1", "@SUM(A1)")

# Generated returns: (file, form, agency, year, region, code, seed)
EXTRA_RETURNS = (
    ("附加/某某区财政局_2020.xlsx", "govinfo-annual-2019", "某某区财政局", 2020, "某某区", None, 1),
    ("附加/某某区交通运输局_2024.xlsx", "govinfo-annual-2021", "某某区交通运输局", 2024, "某某区", None, 2),
    ("附加/formula_agency_1.xlsx", "govinfo-annual-2019", FORMULA_AGENCIES[0], 2020, "-东区", "=1+1", 3),
    ("附加/formula_agency_2.xlsx", "govinfo-annual-2021", FORMULA_AGENCIES[1], 2024, None, "@123", 4),
    ("附加/formula_agency_3.xlsx", "govinfo-annual-2019", FORMULA_AGENCIES[2], 2020, None, None, 5),
)


# --- the run ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(report, inbox, out): the samples plus generated returns, ingested once."""
    base = tmp_path_factory.mktemp("outputs")
    inbox, out = base / "inbox", base / "out"
    shutil.copytree(SAMPLES, inbox)
    for rel, form, agency, year, region, code, seed in EXTRA_RETURNS:
        spec = get_spec(form)
        values = random_inputs(spec.layout, random.Random(seed))
        target = inbox / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_workbook(spec, target, Agency(agency, year, region, code), WriteOptions(values=values))
    return ingest(inbox, out), inbox, out


@pytest.fixture(scope="module")
def results(run):
    """The run's results, each with its canonical document as ingest wrote it to json/."""
    report, _, out = run
    by_path = {r.path: r for r in report.files}    # each read of report.files gives results anew
    for r in by_path.values():
        if r.json:
            r.document = loads((out / r.json).read_text(encoding="utf-8"))
    return by_path


@pytest.fixture(scope="module")
def json_docs(run):
    """The canonical documents as written to disk, read back independently of the run objects."""
    _, _, out = run
    return [loads(p.read_text(encoding="utf-8")) for p in sorted((out / "json").rglob("*.json"))]


@pytest.fixture(scope="module")
def accepted_json_docs(json_docs):
    return [d for d in json_docs if d["status"] == ACCEPTED]


def test_the_run_has_what_the_tests_need(results):
    assert results[PINGTAN].status == REJECTED and results[HEALTH].status == REJECTED
    for rel, *_ in EXTRA_RETURNS:
        assert results[rel].status == ACCEPTED, [f.message for f in results[rel].findings]
    assert {r.agency for r in results.values() if r.status == ACCEPTED} >= set(FORMULA_AGENCIES)


# --- helpers ---------------------------------------------------------------------------------

def sheet_xml(xlsx: Path) -> dict[str, ET.Element]:
    """Each sheet's XML root by sheet name, found through the workbook's relationships."""
    with zipfile.ZipFile(xlsx) as z:
        workbook = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        out = {}
        for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
            target = targets[sheet.get(f"{{{REL_NS}}}id")]
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            out[sheet.get("name")] = ET.fromstring(z.read(part))
        return out


def formula_elements(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{{{MAIN_NS}}}f"))


def cell_types(root: ET.Element) -> dict[str, str]:
    """A1 -> the cell's t attribute ('n' when absent)."""
    return {c.get("r"): c.get("t") or "n" for c in root.iter(f"{{{MAIN_NS}}}c")}


def fill_of(cell) -> str:
    return (cell.fill.fgColor.rgb or "")[-6:] if cell.fill is not None and cell.fill.fill_type == "solid" else ""


@pytest.fixture(scope="module")
def feedback_dir(run, results):
    """A feedback workbook for every rejected file that was read as a form."""
    _, inbox, out = run
    folder = out / "feedback"
    for r in results.values():
        if r.status == REJECTED and r.form is not None:
            write_feedback(inbox / r.path, r.findings, folder / Path(r.path).with_suffix(".xlsx"))
    return folder


# --- feedback workbooks ------------------------------------------------------------------------

def test_feedback_marks_the_pingtan_t3a_cells(feedback_dir, results):
    wb = openpyxl.load_workbook(feedback_dir / PINGTAN)
    ws = wb[T3]
    for ref in ("D28", "J28"):
        cell = ws[ref]
        assert cell.comment is not None, ref
        assert "T3-A" in cell.comment.text and "不平" in cell.comment.text
        assert fill_of(cell) == "FFC7CE"  # errors red
    assert ws["E28"].comment is None      # a balanced column is left alone
    blank = next(f for f in results[PINGTAN].findings if f.code == "blank-cells")
    for ref in blank.args["all_cells"]:   # every blank cell, not only the first
        assert fill_of(wb[T2][ref]) == "FFEB9C", ref  # warnings yellow
        assert wb[T2][ref].comment is not None


def test_feedback_keeps_what_the_agency_typed(feedback_dir):
    wb = openpyxl.load_workbook(feedback_dir / HEALTH)
    c19 = wb[T2]["C19"]
    assert c19.value == "14.495万元" and c19.data_type == "s"
    assert "not-a-number" in c19.comment.text and "14.495" in c19.comment.text
    assert fill_of(c19) == "FFC7CE"
    assert c19.protection.locked is False     # still an input the agency can correct
    assert wb[T3]["D5"].value == "１２"
    assert wb[T2]["C8"].value == "减4"


def test_feedback_keeps_protection_and_the_hidden_sheet(feedback_dir, run):
    _, inbox, _ = run
    original = openpyxl.load_workbook(inbox / PINGTAN)
    feedback = openpyxl.load_workbook(feedback_dir / PINGTAN)
    for ws in original.worksheets:
        copy = feedback[ws.title]
        assert copy.sheet_state == ws.sheet_state
        assert copy.protection.sheet == ws.protection.sheet
        assert copy.protection.password == ws.protection.password
        assert len(copy.data_validations.dataValidation) == len(ws.data_validations.dataValidation)
    assert feedback[META_SHEET].sheet_state == "veryHidden" and feedback[META_SHEET].protection.sheet
    assert feedback[FINDINGS_SHEET].protection.sheet
    assert feedback.active.title == FINDINGS_SHEET
    assert sum(ws.sheet_view.tabSelected for ws in feedback.worksheets) == 1  # no grouped sheets
    # the template's formulas are still formulas
    xml = sheet_xml(feedback_dir / PINGTAN)
    assert len(formula_elements(xml[T3])) == len(formula_elements(sheet_xml(inbox / PINGTAN)[T3]))


def test_feedback_findings_sheet_lists_every_finding(feedback_dir, results):
    ws = openpyxl.load_workbook(feedback_dir / PINGTAN)[FINDINGS_SHEET]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    findings = results[PINGTAN].findings
    assert len(rows) == len(findings)
    for row, f in zip(rows, findings):  # both in the findings' own order (errors first)
        assert row[2] == f"{f.title}\n({f.code})" and row[3] == f.sheet and row[4] == f.cell
        assert row[5] == f.message and row[6] == f.message_en
    assert formula_elements(sheet_xml(feedback_dir / PINGTAN)[FINDINGS_SHEET]) == []


def test_feedback_never_writes_agency_text_as_a_formula(run, tmp_path):
    _, inbox, _ = run
    nasty = ['=HYPERLINK("http://x","点我")', "+1+1", "-2", "@SUM(A1)", "\t=1", "bad\x07char"]
    findings = [Finding("not-a-number", ERROR, T2, f"B{4 + i}", message=text, message_en=text,
                        args={"found": text}) for i, text in enumerate(nasty)]
    findings.append(Finding("odd", WARNING, "不存在的表", "A1", message="=1", message_en="=1"))
    target = tmp_path / "fb.xlsx"
    write_feedback(inbox / PINGTAN, findings, target)
    xml = sheet_xml(target)
    assert formula_elements(xml[FINDINGS_SHEET]) == []
    assert all(t in ("s", "inlineStr") for ref, t in cell_types(xml[FINDINGS_SHEET]).items())
    ws = openpyxl.load_workbook(target)[FINDINGS_SHEET]
    messages = [row[5] for row in ws.iter_rows(min_row=5, values_only=True)]
    assert set(nasty[:5]) <= set(messages)
    assert "bad\ufffdchar" in messages      # a control character cannot break the file


def test_feedback_workbook_reads_like_the_original(feedback_dir, results, run):
    """The added sheet and the comments give ingest nothing new to complain about."""
    for rel in (PINGTAN, HEALTH):
        path = feedback_dir / rel
        again = process_file(path, feedback_dir)
        before = sorted((f.code, f.sheet, f.cell) for f in results[rel].findings)
        assert sorted((f.code, f.sheet, f.cell) for f in again.findings) == before
        written = loads((run[2] / results[rel].json).read_text(encoding="utf-8"))
        assert again.document["values"] == written["values"]


@pytest.mark.libreoffice
@pytest.mark.slow
def test_feedback_corrected_in_libreoffice_is_accepted(feedback_dir, results, tmp_path):
    """The openpyxl copy (a return whose structure is not the template's gets this one)."""
    _correct_in_libreoffice_and_ingest(feedback_dir, results, tmp_path)


def test_ingest_feedback_corrected_in_libreoffice_is_accepted(own_run, results, tmp_path):
    """The feedback ingest writes (drawn again from the template with the agency's values)."""
    _correct_in_libreoffice_and_ingest(own_run[0] / "feedback", results, tmp_path)


def _correct_in_libreoffice_and_ingest(feedback_dir, results, tmp_path):
    try:
        import libreoffice as lo
    except ImportError:
        from tests import libreoffice as lo

    lo.require_libreoffice()

    def balancing_new(doc, column):
        """一、本年新收 that makes T3-A hold in a column: new + carried_over = results_total + carried_forward."""
        v = doc["values"]
        return (v[f"t3.results_total.{column}"] + v[f"t3.carried_forward.{column}"]
                - v[f"t3.carried_over.{column}"])

    pingtan, health = results[PINGTAN].document, results[HEALTH].document
    fixes = {
        PINGTAN: {(T3, "D5"): balancing_new(pingtan, "natural_person")},
        # the clerk types the numbers they meant, and 一、本年新收 so that the column balances
        HEALTH: {(T3, "D5"): balancing_new(health, "natural_person"), (T2, "C8"): -4,
                 (T2, "C19"): Decimal("14.495"), ("四、复议诉讼", "A5"): 3},
    }
    assert all(v >= 0 for v in (fixes[PINGTAN][(T3, "D5")], fixes[HEALTH][(T3, "D5")]))
    jobs = [lo.fill_job(feedback_dir / rel, tmp_path / Path(rel).name, cells) for rel, cells in fixes.items()]
    for done in lo.run_jobs(jobs):
        assert done["ok"], done.get("error")
    for rel in fixes:
        fixed = tmp_path / Path(rel).name
        result = process_file(fixed, tmp_path)
        assert result.status == ACCEPTED, [(f.code, f.where(), f.message) for f in result.findings]
        assert not any(f.is_error for f in result.findings)
    health_fixed = process_file(tmp_path / Path(HEALTH).name, tmp_path).document["values"]
    assert health_fixed["t2_9.central_procurement.amount"] == Decimal("14.495")
    assert health_fixed["t2_5.licensing.change"] == -4


# --- summary.xlsx and values.csv ----------------------------------------------------------------

@pytest.fixture(scope="module")
def exports(run, results):
    """summary.xlsx and values.csv from the accepted documents of the run."""
    _, _, out = run
    docs = [r.document for r in results.values() if r.status == ACCEPTED]
    write_summary(docs, out / "summary.xlsx")
    write_values_csv(docs, out / "values.csv")
    return out / "summary.xlsx", out / "values.csv"


def test_values_csv_rows_hold_hostile_text_as_text(accepted_json_docs):
    """A return's rows of values.csv (made once per return, fields encoded once per document): an
    agency name with a comma, quotes, a line break and a leading = comes back whole, as text."""
    from xltool.outputs.summary_rows import summary_row

    doc = {**accepted_json_docs[0], "agency": '=HYPERLINK("x"),\n乙', "values": dict(accepted_json_docs[0]["values"])}
    cells = [c for c in get_spec(doc["form"]["id"]).layout.cells.values() if c.table is not None]
    doc["values"][cells[0].id] = Decimal("1.50")
    doc["values"][cells[1].id] = None
    rows = list(csv.reader(io.StringIO(zlib.decompress(summary_row(doc).csv_rows).decode("utf-8"))))
    assert len(rows) == len(cells)
    assert {r[0] for r in rows} == {"'" + doc["agency"]} and rows[0][5:] == [cells[0].col_id, cells[0].id, "1.50"]
    assert rows[1][7] == ""


def independent_sums(docs: list[dict]) -> dict[tuple[str, int], dict[str, Decimal]]:
    """(form id, year) -> spec id -> the sum of that value over the documents, as Decimal."""
    sums: dict[tuple[str, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for d in docs:
        for key, v in d["values"].items():
            if isinstance(v, (int, Decimal)) and not key.startswith("meta."):
                sums[(d["form"]["id"], d["year"])][key] += Decimal(v)
    return sums


def test_summary_tables_are_the_sums_of_the_accepted_jsons(exports, accepted_json_docs):
    summary, _ = exports
    wb = openpyxl.load_workbook(summary)
    sums = independent_sums(accepted_json_docs)
    assert len({k[1] for k in sums}) == len(sums)  # one form version per year here: sheet names are by year
    several = 0
    for (form_id, year), expected in sums.items():
        spec = get_spec(form_id)
        several += sum(1 for d in accepted_json_docs if d["year"] == year) > 1
        for cell in spec.layout.cells.values():
            if cell.table is None or not cell.type.numeric:
                continue
            ws = wb[f"{year}年{cell.sheet}"]
            shown = ws.cell(cell.row + 2, cell.col + 1).value  # one caption row above the official layout
            assert Decimal(repr(shown)) == expected[cell.id], (year, cell.id)
    assert several == 2  # 2020 and 2024 each add up more than one return


def test_summary_official_layout_labels(exports, accepted_json_docs):
    summary, _ = exports
    wb = openpyxl.load_workbook(summary)
    spec = get_spec("govinfo-annual-2019")
    ws = wb[f"2020年{T3}"]
    for lab in spec.layout.sheet(T3).labels:
        assert ws.cell(lab.row + 2, lab.col + 1).value == lab.text
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A3:C5" in merged  # the corner A1:C3 of the official table, one caption row lower


def test_summary_agency_sheet_has_a_row_per_agency(exports, accepted_json_docs):
    summary, _ = exports
    wb = openpyxl.load_workbook(summary)
    for version, form_id in (("2019", "govinfo-annual-2019"), ("2021", "govinfo-annual-2021")):
        ws = wb[f"各单位明细（{version}版）"]
        ids = [c.value for c in ws[1]]
        labels = [c.value for c in ws[2]]
        spec = get_spec(form_id)
        cell = spec.layout.cells["t3.new.natural_person"]
        assert cell.title in labels[ids.index(cell.id)]
        docs = [d for d in accepted_json_docs if d["form"]["id"] == form_id]
        rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
        assert set(rows) == {d["agency"] for d in docs}
        for d in docs:
            row = rows[d["agency"]]
            for i, key in enumerate(ids):
                if key in d["values"]:
                    assert Decimal(repr(row[i])) == d["values"][key], (d["agency"], key)


def test_values_csv_matches_the_accepted_jsons(exports, accepted_json_docs):
    _, values_csv = exports
    raw = values_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    with open(values_csv, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["agency", "year", "form", "table", "row", "column", "spec_id", "value"]
    expected = {}
    for d in accepted_json_docs:
        spec = get_spec(d["form"]["id"])
        for cell in spec.layout.cells.values():
            if cell.table is not None:
                v = d["values"][cell.id]
                agency = d["agency"]
                shown_agency = "'" + agency if agency[0] in "=+-@" else agency
                expected[(shown_agency, str(d["year"]), cell.id)] = (
                    format(v, "f") if isinstance(v, Decimal) else str(v), cell.table, cell.row_id, cell.col_id)
    got = {(r["agency"], r["year"], r["spec_id"]): (r["value"], r["table"], r["row"], r["column"]) for r in rows}
    assert len(rows) == len(expected) and got == expected
    assert "14.495" in {r["value"] for r in rows if r["spec_id"] == "t2_9.central_procurement.amount"}
    # a decrease is a number, not text: it keeps its minus sign, no apostrophe
    assert any(r["value"].startswith("-") for r in rows if r["column"] == "change")


def test_exports_never_start_a_formula(exports):
    summary, values_csv = exports
    for name, root in sheet_xml(summary).items():
        assert formula_elements(root) == [], name
    wb = openpyxl.load_workbook(summary)
    ws = wb["各单位明细（2019版）"]
    texts = [c for row in ws.iter_rows(min_row=3) for c in row[:5] if isinstance(c.value, str)]
    agencies = {c.value for c in texts}
    assert {FORMULA_AGENCIES[0], FORMULA_AGENCIES[2], "-东区", "=1+1"} <= agencies
    assert all(c.data_type == "s" for c in texts)
    with open(values_csv, encoding="utf-8-sig", newline="") as fh:
        agencies_csv = {r["agency"] for r in csv.DictReader(fh)}
    assert {"'" + a for a in FORMULA_AGENCIES} <= agencies_csv
    assert not any(a[:1] in "=+-@\t\r" for a in agencies_csv)


def test_crafted_documents_are_escaped(accepted_json_docs, tmp_path):
    base = next(d for d in accepted_json_docs if d["year"] == 2020)
    crafted = [{**base, "agency": a, "region": "\r=1"} for a in ('=HYPERLINK("http://x")', "+1", "@SUM(A1)", "\tx")]
    write_values_csv(crafted, tmp_path / "values.csv")
    write_summary(crafted, tmp_path / "summary.xlsx")
    with open(tmp_path / "values.csv", encoding="utf-8-sig", newline="") as fh:
        assert {r["agency"] for r in csv.DictReader(fh)} == {"'" + d["agency"] for d in crafted}
    xml = sheet_xml(tmp_path / "summary.xlsx")
    assert all(formula_elements(root) == [] for root in xml.values())
    detail = openpyxl.load_workbook(tmp_path / "summary.xlsx")["各单位明细（2019版）"]
    assert {r[0] for r in detail.iter_rows(min_row=3, values_only=True)} == {d["agency"] for d in crafted}
    # xlsxwriter stores the CR as _x000D_, which Excel reads back as a CR and openpyxl leaves as is
    assert {r[2] for r in detail.iter_rows(min_row=3, values_only=True)} <= {"\r=1", "_x000D_=1"}


def test_rejected_documents_are_left_out(json_docs, tmp_path):
    write_values_csv(json_docs, tmp_path / "values.csv")
    with open(tmp_path / "values.csv", encoding="utf-8-sig", newline="") as fh:
        agencies = {r["agency"] for r in csv.DictReader(fh)}
    assert "平潭综合实验区（管委会，全区汇总）" not in agencies and "乐山市机关事务管理局" in agencies


# --- report.html -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_report_html(run, feedback_dir):
    report, _, out = run
    links = {r.path: "feedback/" + Path(r.path).with_suffix(".xlsx").as_posix()
             for r in report.files if (feedback_dir / Path(r.path).with_suffix(".xlsx")).exists()}
    page = render_run_report(report.to_dict(), links)
    (out / "report.html").write_text(page, encoding="utf-8")
    return out / "report.html"


def test_report_html_written_section_by_section_is_the_rendered_page(run, tmp_path):
    """ingest writes report.html a file section at a time (memory flat in the number of files): the
    very page render_run_report makes of the whole run report, feedback links included."""
    report, _, _ = run
    links = {r.path: "feedback/" + Path(r.path).with_suffix(".xlsx").as_posix() for r in report.files
             if r.status == REJECTED}
    assert links and len(report.files) > len(links)
    write_report_html(report, links, tmp_path / "report.html")
    assert (tmp_path / "report.html").read_bytes() == render_run_report(report.to_dict(), links).encode("utf-8")


def test_run_report_shows_every_file_and_finding(run, run_report_html):
    report, _, _ = run
    page = run_report_html.read_text(encoding="utf-8")
    stats = report.stats()
    for key in ("files", "accepted", "rejected", "errors", "warnings"):
        assert f'<div class="total {key}"><div class="n">{stats[key]}</div>' in page
    for r in report.files:
        assert html.escape(r.agency) in page
        assert html.escape(r.path) in page
        assert f'data-status="{r.status}"' in page
        for f in r.findings:
            assert html.escape(f.message) in page and html.escape(f.message_en) in page
            if f.sheet and f.cell:
                assert html.escape(f"{f.sheet}!{f.cell}") in page
    assert "✗ 退回" in page and "✓ 通过" in page and "只看退回 / rejected only" in page
    assert "“14.495万元”" in page  # the typed value, as typed
    assert f'href="feedback/{quote("平潭综合实验区_2020.xlsx")}"' in page


def test_run_report_escapes_agency_text():
    entry = {"path": "x/<b>.xlsx", "status": REJECTED, "agency": "<script>alert(1)</script>", "year": 2024,
             "form": "govinfo-annual-2021", "errors": 1, "warnings": 0,
             "findings": [{"code": "not-a-number", "severity": ERROR, "sheet": "<i>", "cell": "A1",
                           "message": '"><img src=x onerror=alert(1)>', "message_en": "<svg onload=alert(1)>",
                           "args": {"found": "<u>x</u>"}}]}
    page = render_run_report({"stats": {"files": 1}, "files": [entry]})
    for raw in ("<script>alert", "<img", "<svg", "<u>", "<i>", "<b>.xlsx"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # only the page's own filter


def test_run_report_skipped_and_unidentified_files():
    skipped = {"path": "~$锁定.xlsx", "status": SKIPPED, "agency": None, "year": None, "form": None,
               "errors": 0, "warnings": 0, "findings": [{"code": "skipped-lock-file", "severity": "info", "sheet": None,
                                                          "cell": None, "message": "临时锁定文件", "message_en": "lock file",
                                                          "args": {}}]}
    page = render_run_report({"stats": {"files": 1, "skipped": 1}, "files": [skipped]})
    assert "– 跳过" in page and "（未识别单位）" in page and "临时锁定文件" in page and "年度未识别" in page


def test_run_report_marks_superseded_and_unchanged_files():
    older = {"path": "a/局_2024.xlsx", "status": ACCEPTED, "agency": "某局", "year": 2024, "form": "govinfo-annual-2021",
             "errors": 0, "warnings": 0, "findings": [], "superseded_by": "b/局_2024.xlsx",
             "checked_at": "2026-11-30T08:15:02+00:00"}
    page = render_run_report({"stats": {"files": 1, "accepted": 1, "superseded": 1, "unchanged": 1}, "files": [older]})
    assert "已由“b/局_2024.xlsx”取代，不计入汇总" in page and "校验于 2026-11-30 08:15 UTC" in page
    assert "被新文件取代 1" in page and "与上次相同未重新校验 1" in page


def test_run_report_is_self_contained(run_report_html):
    page = run_report_html.read_text(encoding="utf-8")
    assert "<link" not in page and " src=" not in page and "@import" not in page and "url(" not in page


# --- the rendered report -----------------------------------------------------------------------

class TableGrid(HTMLParser):
    """The cells of each <table> at their (row, col), following rowspan/colspan like a browser."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[tuple[int, int], tuple[str, str, int, int]]] = []
        self.taken: set[tuple[int, int]] = set()
        self.row = -1
        self.cell: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({})
            self.taken, self.row = set(), -1
        elif tag == "tr":
            self.row += 1
        elif tag in ("td", "th"):
            col = 0
            while (self.row, col) in self.taken:
                col += 1
            rs, cs = int(a.get("rowspan", 1)), int(a.get("colspan", 1))
            self.taken |= {(self.row + i, col + j) for i in range(rs) for j in range(cs)}
            self.cell = [tag, "", rs, cs, col]

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            kind, text, rs, cs, col = self.cell
            self.tables[-1][(self.row, col)] = (kind, text, rs, cs)
            self.cell = None


@pytest.mark.parametrize("name", ["乐山市机关事务管理局_2020.xlsx", "淮安市人民政府_2024.xlsx"])
def test_rendered_report_has_the_official_layout(results, name):
    doc = results[name].document
    spec = get_spec(doc["form"]["id"])
    page = render_report_html(doc)
    parser = TableGrid()
    parser.feed(page)
    table_sheets = [sl for sl in spec.layout.sheets if not sl.is_fields]
    assert len(parser.tables) == len(table_sheets)
    for sl, grid in zip(table_sheets, parser.tables):
        labels = [lab for lab in sl.labels if lab.role in ("block", "header", "corner", "row")]
        top = min(lab.row for lab in labels)
        for lab in labels:  # verbatim, where the layout puts it, merged as in the workbook
            kind, text, rs, cs = grid[(lab.row - top, lab.col)]
            assert text == lab.text
            assert (rs, cs) == (lab.end[0] - lab.row + 1, lab.end[1] - lab.col + 1), lab.text
            assert kind == ("td" if lab.role == "row" else "th")
        for cell in sl.cells:
            kind, text, _, cs = grid[(cell.row - top, cell.col)]
            v = doc["values"][cell.id]
            assert text.startswith(format(v, "f") if isinstance(v, Decimal) else str(v)), cell.id
            assert cs == (cell.last_col - cell.col + 1 if cell.last_col is not None else 1)
    assert "14.495万元" in page or name != "乐山市机关事务管理局_2020.xlsx"  # 2019: unit beside the amount


def test_rendered_report_text_parts(results):
    doc = results["乐山市机关事务管理局_2020.xlsx"].document
    page = render_report_html(doc)
    headings = ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项")
    positions = [page.index(f"<h2>{h}</h2>") for h in headings]
    assert positions == sorted(positions)  # 一 to 六 in order
    overview = doc["values"]["text.overview"]
    lines = [line.strip() for line in overview.splitlines() if line.strip()]
    assert len(lines) > 1
    for line in lines:
        assert f"<p>{html.escape(line)}</p>" in page
    assert "乐山市机关事务管理局2020年政府信息公开工作年度报告" in page


def test_rendered_report_escapes_text(results):
    doc = dict(results["乐山市机关事务管理局_2020.xlsx"].document)
    doc["values"] = {**doc["values"], "text.overview": "<script>x()</script>\n\n第二段 & “引号”"}
    doc["agency"] = "<b>局</b>"
    page = render_report_html(doc)
    assert "<script>" not in page and "<b>局" not in page
    assert "<p>&lt;script&gt;x()&lt;/script&gt;</p>\n<p>第二段 &amp; “引号”</p>" in page


# --- in a browser ------------------------------------------------------------------------------

def _browser():
    try:
        import browser
    except ImportError:
        from tests import browser
    return browser


@pytest.mark.chromium
def test_run_report_in_chromium(run, run_report_html, tmp_path):
    browser = _browser()
    browser.require_chromium()
    dump_dom, file_url, screenshot, visible_text = (browser.dump_dom, browser.file_url, browser.screenshot,
                                                    browser.visible_text)
    report, _, _ = run
    png = screenshot(file_url(run_report_html), tmp_path / "report.png")
    assert png.stat().st_size > 20_000
    text = visible_text(dump_dom(file_url(run_report_html)))
    for r in report.files:
        assert r.agency in text
        for f in r.findings:
            assert " ".join(f.message.split()) in text
    assert "✗ 退回" in text and "✓ 通过" in text
    # names long enough not to turn up inside another file's messages ("+1" could)
    accepted = {r.agency for r in report.files if r.status == ACCEPTED and len(r.agency) > 4}
    rejected = {r.agency for r in report.files if r.status == REJECTED}
    filtered = visible_text(dump_dom(file_url(run_report_html, "#rejected")))  # the filter switched on
    assert all(a in filtered for a in rejected)
    assert not any(a in filtered for a in accepted)


@pytest.mark.chromium
def test_rendered_report_in_chromium(results, tmp_path):
    browser = _browser()
    browser.require_chromium()
    dump_dom, file_url, screenshot, visible_text = (browser.dump_dom, browser.file_url, browser.screenshot,
                                                    browser.visible_text)
    doc = results["淮安市人民政府_2024.xlsx"].document
    page = tmp_path / "淮安.html"
    page.write_text(render_report_html(doc), encoding="utf-8")
    png = screenshot(file_url(page), tmp_path / "淮安.png", window=(1200, 2400))
    assert png.stat().st_size > 20_000
    text = visible_text(dump_dom(file_url(page)))
    assert "淮安市人民政府（全市汇总，市政府办公室编制）2024年政府信息公开工作年度报告" in text
    assert "三、本年度办理结果" in text and "（六）其他处理" in text and "3119" in text


# --- the feedback workbooks ingest itself writes (drawn again from the form's template) ---------

EDUCATION = "常见错误/某某区教育局_2024.xlsx"


def _conditional_fill_cells(ws) -> set[str]:
    return {str(rng.sqref) for rng in ws.conditional_formatting for rule in rng.rules if rule.formula == ["TRUE"]}


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    """The samples ingested into an output folder nothing else writes to: (out, results by path)."""
    out = tmp_path_factory.mktemp("feedback-run") / "out"
    report = ingest(SAMPLES, out, jobs=2)
    return out, {r.path: r for r in report.files}


def test_ingest_feedback_marks_the_exact_cells_and_keeps_what_was_typed(own_run):
    out, results = own_run
    health = openpyxl.load_workbook(out / "feedback" / HEALTH)
    assert FINDINGS_SHEET in health.sheetnames and health.active.title == FINDINGS_SHEET
    for ws in health.worksheets:
        assert ws.protection.sheet, ws.title
    t2 = health[T2]
    assert t2["C19"].value == "14.495万元" and t2["C8"].value == "减4"      # as the agency typed them
    assert "14.495万元" in t2["C19"].comment.text and "not-a-number" in t2["C19"].comment.text
    assert {"C8", "C19"} <= _conditional_fill_cells(t2)
    assert health["三、依申请公开"]["D5"].value == "１２"
    listed = [row[2] for row in health[FINDINGS_SHEET].iter_rows(min_row=5, values_only=True)]
    # each listed with its title first, the stable code after it
    assert sorted(listed) == sorted(f"{f.title}\n({f.code})" for f in results[HEALTH].findings)
    pingtan = openpyxl.load_workbook(out / "feedback" / PINGTAN)["三、依申请公开"]
    assert "T3-A" in pingtan["D28"].comment.text and "T3-A" in pingtan["J28"].comment.text
    assert pingtan["D5"].value == 20                                        # the typed numbers are kept
    # a return that is now accepted, or was never read as a form, gets no feedback
    assert not (out / "feedback" / "乐山市机关事务管理局_2020.xlsx").exists()


def test_ingest_feedback_reads_back_with_the_same_findings(own_run):
    out, results = own_run
    for rel in (PINGTAN, HEALTH):
        again = process_file(out / "feedback" / rel, out / "feedback")
        assert sorted((f.code, f.cell) for f in again.findings) == sorted((f.code, f.cell) for f in results[rel].findings)


def test_a_total_typed_over_comes_back_as_a_formula_with_a_note(own_run):
    out, results = own_run
    ws = openpyxl.load_workbook(out / "feedback" / EDUCATION)["三、依申请公开"]
    total = get_spec("govinfo-annual-2021").layout.cells["t3.results_total.total"]
    assert ws[total.a1].value == total.formula
    assert "120" in ws[total.a1].comment.text                               # what the agency had typed
    assert process_file(out / "feedback" / EDUCATION, out / "feedback").status == ACCEPTED


def test_the_page_drawn_in_a_child_is_drawn_here_when_the_child_fails(tmp_path):
    """report.html is drawn by a forked child beside the workbook; a child that fails (out of
    memory, a bug) leaves the work to this process, where its error would be raised."""
    import os

    from xltool.outputs.run_outputs import in_forked_child

    log, parent = tmp_path / "log", os.getpid()

    def work():
        with open(log, "a") as fh:
            fh.write("child " if os.getpid() != parent else "here ")

    in_forked_child(work)()
    assert log.read_text() == "child "

    def fails_in_the_child():
        if os.getpid() != parent:
            raise MemoryError
        work()

    in_forked_child(fails_in_the_child)()
    assert log.read_text() == "child here "


def test_a_run_in_a_thread_of_a_server_never_forks(tmp_path):
    import os
    import threading

    from xltool.outputs.run_outputs import in_forked_child

    log, parent = tmp_path / "log", os.getpid()

    def work():
        with open(log, "a") as fh:
            fh.write("child " if os.getpid() != parent else "here ")

    thread = threading.Thread(target=lambda: in_forked_child(work)())
    thread.start()
    thread.join()
    assert log.read_text() == "here "
