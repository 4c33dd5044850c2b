"""xltool import: published reports (the seed text, the 淮安/洪泽 PDFs) against the transcriptions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from scripts.make_samples import published_values, seed_texts
from xltool.checks.previous_year import check_against_previous, previous_reports
from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.published.importer import import_file, import_reports
from xltool.published.match import ROW_COUNT, ROW_MISSING

from conftest import DATA, published

RAW = DATA / "published-raw"
SEED = RAW / "leshan-jiguan-shiwu-2020.txt"


@pytest.fixture(scope="module")
def imported():
    """Each raw report imported once."""
    return {p.name: import_file(p).document for p in sorted(RAW.iterdir())}


def transcribed(spec, transcription):
    """The transcription by spec id, totals included; decimals as exact Decimals (14.495)."""
    values = published_values(spec, transcription, totals=True)
    return {k: Decimal(repr(v)) if isinstance(v, float) else v for k, v in values.items()}


def table_ids(spec):
    return [c.id for c in spec.layout.cells.values() if c.table]


def assert_same_as_transcription(doc, transcription):
    spec = get_spec(doc["form"]["id"])
    expected = transcribed(spec, transcription)
    for cid in table_ids(spec):
        assert doc["values"][cid] == expected.get(cid), cid


def test_seed_text_reads_exactly(imported):
    doc = imported[SEED.name]
    assert doc["form"]["id"] == "govinfo-annual-2019"
    assert doc["status"] == "accepted" and doc["findings"] == []
    assert_same_as_transcription(doc, published("2020_leshan_jiguan_shiwu_guanliju"))
    assert doc["year"] == 2020 and doc["agency"] == "市机关事务管理局"      # as printed in the title
    # every value says where it was printed; 14.495万元 in a 万元 column is 14.495
    assert doc["provenance"]["t2_9.central_procurement.amount"] == {"line": 86, "text": "14.495万元"}
    assert all(cid in doc["provenance"] for cid in table_ids(get_spec("govinfo-annual-2019")))
    # the text parts, paragraph by paragraph
    for cid, text in seed_texts(SEED).items():
        assert doc["values"][cid] == "\n".join(line.strip() for line in text.splitlines() if line.strip())


def test_huaian_pdf_reads_exactly(imported):
    doc = imported["huaian-shi-2024.pdf"]
    assert doc["form"]["id"] == "govinfo-annual-2021"
    assert doc["status"] == "accepted" and doc["findings"] == []
    assert_same_as_transcription(doc, published("2024_huaian_shi_renmin_zhengfu"))
    assert (doc["agency"], doc["year"]) == ("淮安市人民政府", 2024)
    # a label broken over the page (（四）无 | 法提供) and 1、 for 1.: still the right rows
    assert doc["values"]["t3.unavailable_needs_creation.natural_person"] == 11
    assert doc["values"]["t3.other_no_correction.total"] == 71
    assert doc["provenance"]["t3.results_total.total"] == {"page": 5, "line": 20, "text": "3050"}
    assert "3940 元" in doc["values"]["text.other_matters"]


@pytest.mark.parametrize("name", ["huaian-hongze-2023.pdf", "huaian-hongze-2024.pdf"])
def test_hongze_pdfs_read_every_cell(imported, name):
    doc = imported[name]
    spec = get_spec("govinfo-annual-2021")
    assert all(doc["values"][cid] is not None for cid in table_ids(spec))
    # the typo 2.其他法律行政止公开 is still row 2 of （三）
    assert "t3.withheld_prohibited.total" in doc["provenance"]
    # （六）其他处理 printed as one row of zeros: its three parts read as 0, and said so
    codes = [f["code"] for f in doc["findings"]]
    assert "published-merged-row-zero" in codes
    assert doc["values"]["t3.other_misc.natural_person"] == 0


def test_hongze_2023_table_four_total_is_flagged(imported):
    doc = imported["huaian-hongze-2023.pdf"]
    assert doc["status"] == "rejected"
    errors = {(f["code"], f["ids"][0]): f for f in doc["findings"] if f["severity"] == "error"}
    assert set(errors) == {("T4", "t4.cases.review_total"), ("T4", "t4.cases.after_review_total")}
    f = errors[("T4", "t4.cases.review_total")]
    assert f["args"]["found"] == 0 and f["args"]["expected"] == 11
    assert f["message"].startswith("行政复议 > 总计（第4页第22行）表中为 0，但按勾稽关系")
    assert doc["values"]["t4.cases.review_total"] == 0          # the total as printed is the data
    assert imported["huaian-hongze-2024.pdf"]["status"] == "accepted"


def _without_row(text: str, label: str) -> str:
    """The seed text with the row labelled `label` (its block of cell lines) removed."""
    blocks = text.split("\n\n")
    kept = [b for b in blocks if label not in b]
    assert len(kept) == len(blocks) - 1
    return "\n\n".join(kept)


def test_missing_row_is_a_finding_on_its_cells_and_shifts_nothing(tmp_path):
    path = tmp_path / "missing.txt"
    path.write_text(_without_row(SEED.read_text(encoding="utf-8"), "4.保护第三方合法权益"), encoding="utf-8")
    doc = import_file(path).document
    spec = get_spec("govinfo-annual-2019")
    row_ids = [c.id for c in spec.layout.cells.values() if c.table == "t3" and c.row_id == "withheld_third_party"]
    missing = [f for f in doc["findings"] if f["code"] == ROW_MISSING.code]
    assert len(missing) == 1 and missing[0]["ids"] == row_ids and "4.保护第三方合法权益" in missing[0]["message"]
    assert all(doc["values"][i] is None for i in row_ids)
    expected = transcribed(spec, published("2020_leshan_jiguan_shiwu_guanliju"))
    for cid in table_ids(spec):
        if cid not in row_ids:
            assert doc["values"][cid] == expected[cid], cid
    # the neighbours kept their own places
    assert doc["provenance"]["t3.withheld_internal_affairs.total"]["line"] > doc["provenance"]["t3.withheld_three_safeties.total"]["line"]
    assert doc["status"] == "rejected"


def test_a_row_short_of_a_number_is_not_read_at_all(tmp_path):
    text = SEED.read_text(encoding="utf-8").replace("\t6.属于四类过程性信息\n\t0\n", "\t6.属于四类过程性信息\n\t5\n")
    lines = text.split("\n")
    at = lines.index("\t7.属于行政执法案卷")
    del lines[at + 1]                         # one number of the row left out: which one cannot be told
    path = tmp_path / "short.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    doc = import_file(path).document
    f = next(f for f in doc["findings"] if f["code"] == ROW_COUNT.code)
    assert [i.split(".")[1] for i in f["ids"]] == ["withheld_enforcement_files"] * 7
    assert all(doc["values"][i] is None for i in f["ids"])
    assert doc["values"]["t3.withheld_process_info.natural_person"] == 5
    # totals over an unread cell are not checked (their own finding says why); the others are:
    # row 6's printed 总计 (0) against its parts (5)
    errors = [x for x in doc["findings"] if x["severity"] == "error"]
    assert {(x["code"], x["ids"][0]) for x in errors} == {
        (ROW_COUNT.code, "t3.withheld_enforcement_files.natural_person"), ("T3-B", "t3.withheld_process_info.total")}


def test_cli_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["import", str(SEED), str(RAW / "huaian-shi-2024.pdf"), "-o", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "a" / "huaian-shi-2024.pdf.json").is_file()
    bad = runner.invoke(app, ["import", str(RAW), "-o", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "T4" in bad.output
    assert len([p for p in (tmp_path / "b").glob("*.json") if p.name != "run.json"]) == 4
    for args in (["import", str(tmp_path / "nope.pdf"), "-o", str(tmp_path / "c")],
                 ["import", str(DATA / "published" / "2020_pingtan_zonghe_shiyanqu.json"), "-o", str(tmp_path / "c")]):
        usage = runner.invoke(app, args)
        assert usage.exit_code == 2 and usage.exception is None or isinstance(usage.exception, SystemExit)
        assert "Traceback" not in usage.output


def test_imported_documents_serve_as_previous_year(tmp_path):
    results = import_reports([RAW / "huaian-hongze-2023.pdf", RAW / "huaian-hongze-2024.pdf"], tmp_path)
    found, unusable = previous_reports(tmp_path)
    assert unusable == []
    assert ("淮安市洪泽区人民政府", 2024) in found and ("洪泽区人民政府", 2023) in found
    spec = get_spec("govinfo-annual-2021")
    this, prev = results[1].document, results[0].document
    findings = check_against_previous(spec, this["values"], prev)
    # 现行有效件数 2024 (8) = 2023 (5) + issued 3 - repealed 0: holds; carried over 0 = 0: holds
    assert [f.code for f in findings] == []
    doc = json.loads(results[1].json.read_text(encoding="utf-8"))
    assert doc["status"] == "accepted" and doc["source"]["format"] == "pdf"


def test_imported_documents_fit_the_form_schema(tmp_path):
    import jsonschema

    from xltool.form.canonical import json_schema, loads
    for result in import_reports([RAW], tmp_path):
        doc = json.loads(result.json.read_text(encoding="utf-8"))     # as any JSON reader sees it
        jsonschema.validate(doc, json_schema(get_spec(doc["form"]["id"])))
        again = loads(result.json.read_text(encoding="utf-8"))
        assert again["provenance"] and set(again["provenance"]) <= set(again["values"])


def test_a_pdf_without_ruled_tables_is_read_only_where_unambiguous(monkeypatch):
    """Read from its words alone (as if no table had ruling lines): every value read is the
    transcription's, every other cell is named by a finding; nothing is guessed or shifted."""
    import pdfplumber.page
    monkeypatch.setattr(pdfplumber.page.Page, "find_tables", lambda self, *a, **k: [])
    result = import_file(RAW / "huaian-shi-2024.pdf")
    doc = result.document
    spec = get_spec("govinfo-annual-2021")
    expected = transcribed(spec, published("2024_huaian_shi_renmin_zhengfu"))
    named = {i for f in result.findings if f.severity == "error" for i in f.ids}
    read = [cid for cid in table_ids(spec) if doc["values"][cid] is not None]
    assert read and all(doc["values"][cid] == expected[cid] for cid in read)
    assert all(cid in named for cid in table_ids(spec) if doc["values"][cid] is None)
    assert doc["provenance"]["t2_1.rules.in_force"]["page"] == 3


def test_a_folder_import_reports_its_progress(tmp_path):
    """`xltool import` of a folder of hundreds of PDFs takes minutes: the command's progress bar is fed
    the count first, then one step per report read."""
    seen = []
    results = import_reports([RAW], tmp_path, on_start=lambda n: seen.append(("start", n)),
                             on_file=lambda r: seen.append(("file", r.path.name)))
    assert seen[0] == ("start", len(results)) and len(results) == 4
    assert [name for kind, name in seen[1:]] == [r.path.name for r in results]
