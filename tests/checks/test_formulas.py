"""The formulas unit (xltool/checks/formulas.py): totals recalculated from the template's formulas."""

from __future__ import annotations

import re
import zipfile

from xltool.checks import cell_types, formulas

from returns import T3, T3_PART, L, context, edited, filled, run, set_cell_xml, where

J5 = L.cells["t3.new.total"]


def formula_findings(path):
    ctx = context(path)
    run(cell_types.check, ctx)
    return run(formulas.check, ctx)


def cached_j5(path) -> int:
    with zipfile.ZipFile(path) as z:
        sheet = z.read(T3_PART).decode()
    return int(re.search(r'<c r="J5"[^>]*>.*?<v>([^<]*)</v>', sheet).group(1))


def test_a_return_as_issued_has_no_formula_finding(tmp_path):
    assert formula_findings(filled(tmp_path / "a.xlsx")) == []


def test_a_total_typed_over(tmp_path):
    path = filled(tmp_path / "right.xlsx")
    right = cached_j5(path)

    def typed(value):
        def edit(wb):
            wb[T3][J5.a1].value = value
        return edit
    assert where(formula_findings(edited(path, typed(right), unprotect=(T3,)))) == {("formula-replaced", J5.a1)}
    wrong = edited(filled(tmp_path / "wrong.xlsx"), typed(99999), unprotect=(T3,))
    [f] = formula_findings(wrong)
    assert (f.code, f.cell, f.args["found"], f.args["expected"]) == ("T3-B", J5.a1, 99999, right)


def test_a_changed_formula_and_a_stale_result(tmp_path):
    path = filled(tmp_path / "same.xlsx")
    total = cached_j5(path)
    set_cell_xml(path, J5.a1, f"<f>D5+E5+F5+G5+H5+I5</f><v>{total}</v>")
    assert where(formula_findings(path)) == {("formula-changed", J5.a1)}
    stale = set_cell_xml(filled(tmp_path / "stale.xlsx"), J5.a1, f"<f>SUM(D5:I5)</f><v>{total + 7}</v>")
    [f] = formula_findings(stale)
    assert (f.code, f.args["found"], f.args["expected"]) == ("stale-cached-value", total + 7, total)
    broken = set_cell_xml(filled(tmp_path / "ref.xlsx"), J5.a1, "<f>SUM(D5:#REF!)</f><v>#REF!</v>", t="e")
    assert where(formula_findings(broken)) == {("formula-changed-unverified", J5.a1)}
