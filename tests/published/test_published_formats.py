"""xltool import of HTML and DOCX built from the transcriptions, with the label variants of real
publications; render --docx and back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from scripts.make_samples import published_values
from xltool.cli import app
from xltool.form.canonical import document
from xltool.form.forms import get_spec
from xltool.outputs.render import render_report_html
from xltool.published.docx_writer import write_report_docx
from xltool.published.importer import import_file

from conftest import DATA, published

TRANSCRIPTIONS = ["2020_leshan_jiguan_shiwu_guanliju", "2020_pingtan_zonghe_shiyanqu", "2024_huaian_shi_renmin_zhengfu"]

# what published copies do to the official labels: 1、 for 1., half-width brackets, spaces and
# line breaks inside labels, a typo
VARIANTS = {
    "1.属于国家秘密": "1、属于国家秘密",
    "3.补正后申请内容仍不明确": "3、补正后申请内容仍不明确",
    "（一）予以公开": "(一)予以公开",
    "第二十条第（一）项": "第二十条 第(一)项",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": "（二）部分公开(区分处理的，只计这一情\n形，不计其他情形)",
    "商业企业": "商业\n企业",
    "一、本年新收政府信息公开申请数量": "一、本年新收政府信息 公开申请数量",
    "2.其他法律行政法规禁止公开": "2.其他法律行政止公开",
    "5.要求行政机关确认或重新出具已获取信息": "5.要求行政机关确认或重新出\n具已获取信息",
}


def transcription_doc(name: str) -> dict:
    """A canonical document holding a transcription's values, totals as printed."""
    tr = published(name)
    spec = get_spec(f"govinfo-annual-{tr['format_version']}")
    values = {k: Decimal(repr(v)) if isinstance(v, float) else v
              for k, v in published_values(spec, tr, totals=True).items()}
    values.update({"meta.agency": tr["agency"], "meta.year": tr["report_year"],
                   "text.overview": "总体情况第一段。\n总体情况第二段。", "text.problems": "存在的问题。",
                   "text.other_matters": "无"})
    return document(spec=spec, values=values, findings=[], file_name=name, sha256="0" * 64, status="accepted")


def assert_same_values(doc: dict, expected: dict) -> None:
    spec = get_spec(expected["form"]["id"])
    assert doc["form"]["id"] == spec.id
    for cell in spec.layout.cells.values():
        if cell.table:
            assert doc["values"][cell.id] == expected["values"][cell.id], cell.id


def html_variant(page: str) -> str:
    for official, printed in VARIANTS.items():
        page = page.replace(f">{official}<", ">" + printed.replace("\n", "<br>") + "<")
    return page


@pytest.mark.parametrize("name", TRANSCRIPTIONS)
def test_html_with_label_variants_imports_exactly(tmp_path, name):
    expected = transcription_doc(name)
    page = html_variant(render_report_html(expected))
    assert "2.其他法律行政止公开" in page and "商业<br>企业" in page and 'rowspan="' in page and 'colspan="' in page
    path = tmp_path / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    doc = import_file(path).document
    assert_same_values(doc, expected)
    assert doc["agency"] == expected["agency"] and doc["year"] == expected["year"]
    assert doc["values"]["text.overview"] == "总体情况第一段。\n总体情况第二段。"
    assert set(doc["provenance"]["t4.cases.review_total"]) == {"table", "row", "column", "text"}
    if name.startswith("2020_pingtan"):
        # its published （七）总计 (21) is not the sum of its result rows (27): T3-C, as ingest says it
        t3c = {f["ids"][0]: f for f in doc["findings"] if f["code"] == "T3-C"}
        assert set(t3c) == {"t3.results_total.natural_person", "t3.results_total.total"}
        assert (t3c["t3.results_total.total"]["args"]["found"], t3c["t3.results_total.total"]["args"]["expected"]) == (21, 27)
        assert "published-blank" in {f["code"] for f in doc["findings"]}      # unknown cells stay empty
    else:
        assert doc["status"] == "accepted", doc["findings"]
        assert not [f for f in doc["findings"] if f["severity"] != "info"]


def docx_variant(path) -> None:
    """Edit the labels of a written DOCX as publishers do (line breaks become <w:br/>)."""
    import docx

    word = docx.Document(str(path))
    for table in word.tables:
        for row in table.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    if p.text in VARIANTS and p.runs:
                        p.runs[0].text = VARIANTS[p.text]
    word.save(str(path))


@pytest.mark.parametrize("name", TRANSCRIPTIONS)
def test_docx_with_merged_cells_and_label_variants_imports_exactly(tmp_path, name):
    expected = transcription_doc(name)
    path = write_report_docx(expected, tmp_path / f"{name}.docx")
    docx_variant(path)
    xml = _document_xml(path)
    assert "w:gridSpan" in xml and "w:vMerge" in xml and "<w:br/>" in xml and "止公开" in xml
    doc = import_file(path).document
    assert_same_values(doc, expected)
    assert doc["values"]["text.problems"] == "存在的问题。"
    if not name.startswith("2020_pingtan"):
        assert doc["status"] == "accepted", doc["findings"]


def _document_xml(path) -> str:
    import zipfile
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


def test_render_docx_round_trip(tmp_path):
    runner = CliRunner()
    seed = DATA / "published-raw" / "leshan-jiguan-shiwu-2020.txt"
    assert runner.invoke(app, ["import", str(seed), "-o", str(tmp_path)]).exit_code == 0
    out = tmp_path / "report.docx"
    result = runner.invoke(app, ["render", str(tmp_path / f"{seed.name}.json"), "--docx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    first, again = import_file(seed).document, import_file(out).document
    assert again["values"] == first["values"]          # every table value, the title and the text parts
    assert again["status"] == "accepted"
    xml = _document_xml(out)
    assert "宋体" in xml and "仿宋" in xml
    bad = runner.invoke(app, ["render", str(tmp_path / f"{seed.name}.json"), "--docx"])
    assert bad.exit_code == 2


def test_html_page_as_portals_publish_it(tmp_path):
    """Title in a div, paragraphs in divs and spans, cells wrapping their text in <p>."""
    expected = transcription_doc("2024_huaian_shi_renmin_zhengfu")
    page = render_report_html(expected)
    body = page[page.index("<article"):page.index("</article>")]
    body = body.replace("<h1>", '<div class="title"><span>').replace("</h1>", "</span></div>")
    body = body.replace("<p>", "<div><span>").replace("</p>", "</span></div>")
    body = body.replace('<td class="num">', '<td class="num"><p>').replace("</td>", "</td>")
    page = f"<html><body><div class='main'><div class='content'>{body}</article></div></div></body></html>"
    path = tmp_path / "portal.htm"
    path.write_text(page, encoding="utf-8")
    doc = import_file(path).document
    assert_same_values(doc, expected)
    assert (doc["agency"], doc["year"]) == (expected["agency"], 2024)
    assert doc["values"]["text.overview"] == "总体情况第一段。\n总体情况第二段。"
