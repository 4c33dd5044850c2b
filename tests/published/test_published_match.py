"""The spec-anchored matcher on small variations of the seed text: layouts, unreadable cells, forms."""

from __future__ import annotations

from xltool.form.forms import get_spec
from xltool.published.grid import Cell, Grid, Published
from xltool.published.importer import import_file
from xltool.published.match import (
    CELL_NOT_NUMBER,
    HEADER_UNRECOGNISED,
    MERGED_ROW,
    MERGED_ROW_ZERO,
    detect_form,
    match,
)
from xltool.published.text import parse_text

from conftest import DATA

SEED = DATA / "published-raw" / "leshan-jiguan-shiwu-2020.txt"


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def imported(tmp_path, text: str, name: str = "r.txt") -> dict:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_file(path).document


def test_tab_separated_rows_read_as_the_one_cell_per_line_copy(tmp_path):
    pub = parse_text(seed_text())
    lines = []
    for line in pub.lines:                      # running text stays; each table row becomes one line
        lines.append(line.text)
    rows = ["\t".join(c.text.replace("\n", "") for c in row) for g in pub.grids for row in g.rows]
    body = seed_text().split("二、主动公开政府信息情况")[0] + "二、主动公开政府信息情况\n" + "\n".join(rows) + \
        "\n五、存在的主要问题及改进情况\n" + seed_text().split("五、存在的主要问题及改进情况")[1]
    doc, seed = imported(tmp_path, body), import_file(SEED).document
    for cid, v in seed["values"].items():
        if not cid.startswith("text."):
            assert doc["values"][cid] == v, cid
    assert doc["status"] == "accepted", doc["findings"]


def test_text_in_a_number_cell_is_flagged_with_what_it_looks_like(tmp_path):
    text = seed_text().replace("\t14.495万元", "\t251000元").replace("\t其他对外管理服务事项\n\t0\n\t0\n",
                                                                  "\t其他对外管理服务事项\n\t0\n\t减4\n")
    doc = imported(tmp_path, text)
    flagged = {f["ids"][0]: f for f in doc["findings"] if f["code"] == CELL_NOT_NUMBER.code}
    assert set(flagged) == {"t2_9.central_procurement.amount", "t2_5.other_services.change"}
    assert doc["values"]["t2_9.central_procurement.amount"] is None
    assert "251000" in flagged["t2_9.central_procurement.amount"]["message"]
    assert flagged["t2_5.other_services.change"]["args"]["guess"] == "-4"
    assert doc["values"]["t2_5.other_services.prior_items"] == 0 and doc["values"]["t2_5.other_services.decisions"] == 0


def test_an_unrecognised_header_leaves_its_table_unread(tmp_path):
    doc = imported(tmp_path, seed_text().replace("\t行政复议\n", "\t复议情况\n"))
    f = next(f for f in doc["findings"] if f["code"] == HEADER_UNRECOGNISED.code)
    assert len(f["ids"]) == 15 and all(i.startswith("t4.") for i in f["ids"])
    assert all(doc["values"][i] is None for i in f["ids"])
    assert doc["values"]["t3.new.total"] == 0


def _grid(rows: list[list[str]]) -> Grid:
    return Grid([[Cell(t, {"line": r + 1}, 0, c) for c, t in enumerate(row)] for r, row in enumerate(rows)],
                positional=False)


def test_other_handling_printed_as_one_row_in_a_2021_table():
    spec = get_spec("govinfo-annual-2021")
    header = [["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
              ["自然人", "法人或其他组织", "总计"], ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]]
    zero = _grid(header + [["（六）其他处理", "0", "0", "0", "0", "0", "0", "0"]])
    m = match(spec, Published("text", [zero]))
    assert m.values["t3.other_fee_unpaid.research"] == 0
    assert MERGED_ROW_ZERO.code in [f.code for f in m.findings]
    some = _grid(header + [["（六）其他处理", "3", "0", "0", "0", "0", "0", "3"]])
    m = match(spec, Published("text", [some]))
    split = [f for f in m.findings if f.code == MERGED_ROW.code]
    assert [f.args["column"] for f in split] == ["自然人", "总计"]
    assert m.values["t3.other_misc.natural_person"] is None and m.values["t3.other_misc.business"] == 0


def test_form_version_from_the_labels():
    assert detect_form(parse_text(seed_text())).id == "govinfo-annual-2019"
    assert detect_form(Published("text", [_grid([["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]])])).id == \
        "govinfo-annual-2021"
    assert detect_form(Published("text", [_grid([["总计", "自然人"]])])) is None
