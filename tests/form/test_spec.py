"""Form specs: the bundled forms load; a bad spec is refused with file, line and place."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec, load_spec
from xltool.form.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "docs" / "example-form.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("form,t2,t3,t4", [("govinfo-annual-2019", 22, 161, 15), ("govinfo-annual-2021", 10, 175, 15)])
def test_bundled_forms_have_the_official_cell_counts(form, t2, t3, t4):
    cells = get_spec(form).layout.cells.values()
    assert sum(c.table is not None and c.table.startswith("t2") for c in cells) == t2
    assert sum(c.table == "t3" for c in cells) == t3
    assert sum(c.table == "t4" for c in cells) == t4


def test_ids_are_ascii_and_unique_and_titles_are_label_paths():
    layout = get_spec("govinfo-annual-2019").layout
    assert all(cid.isascii() for cid in layout.cells)
    assert layout.cells["t3.withheld_three_safeties.total"].title == "三、本年度办理结果 > （三）不予公开 > 3.危及“三安全一稳定” | 总计"
    assert layout.cells["t2_5.licensing.change"].type_name == "delta"


def _bad(tmp_path, text):
    p = tmp_path / "form.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_spec(p)
    return e.value


def test_unknown_key_names_file_line_and_place(tmp_path):
    err = _bad(tmp_path, GOOD.replace("corner: 项目", "corner: 项目\n        colour: red"))
    assert err.file.endswith("form.yaml") and err.place == "sheets[1].tables[0].colour"
    assert err.line == GOOD.splitlines().index("        corner: 项目") + 2
    assert "unknown key" in str(err)


def test_duplicate_id(tmp_path):
    err = _bad(tmp_path, GOOD.replace("{id: pending,", "{id: done,"))
    assert "duplicate id 'done'" in str(err) and err.place == "sheets[1].tables[0].rows[2].id"


def test_formula_naming_an_unknown_cell(tmp_path):
    err = _bad(tmp_path, GOOD.replace('formula: "q1 + q2"', 'formula: "q1 + q3"'))
    assert "'q3' is not a column id" in str(err) and err.place.endswith(".formula")


def test_check_naming_an_unknown_row(tmp_path):
    err = _bad(tmp_path, GOOD.replace('assert: "received = done + pending"', 'assert: "received = done + waiting"'))
    assert "'waiting'" in str(err) and err.place == "rules[1].assert"


def test_formula_without_its_rule(tmp_path):
    err = _bad(tmp_path, GOOD.replace(', rule: V-SUM}', '}'))
    assert "names the rule" in str(err)


def test_bad_sheet_name_and_yaml_syntax(tmp_path):
    assert "sheet name" in str(_bad(tmp_path, GOOD.replace("name: 接待情况", "name: 接待/情况")))
    err = _bad(tmp_path, GOOD.replace("rules:", "rules: ["))
    assert "not valid YAML" in str(err) and err.line


def test_check_template_command(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["check-template", str(ROOT / "docs" / "example-form.yaml")])
    assert ok.exit_code == 0 and "service-hall-2025" in ok.output
    p = tmp_path / "bad.yaml"
    p.write_text(GOOD.replace("type: count\n        columns", "type: cnt\n        columns"), encoding="utf-8")
    bad = runner.invoke(app, ["check-template", str(p)])
    assert bad.exit_code == 1 and "unknown type 'cnt'" in bad.output
