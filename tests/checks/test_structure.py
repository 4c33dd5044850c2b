"""The structure unit (xltool/checks/structure.py): sheets there, protected, labels in place."""

from __future__ import annotations

from xltool.checks import structure

from returns import T3, L, context, edited, filled, run, where


def test_a_return_as_issued_has_no_structure_finding(tmp_path):
    ctx = context(filled(tmp_path / "a.xlsx"))
    assert run(structure.check, ctx) == [] and ctx.broken_sheets == set()


def test_a_renamed_sheet_is_missing_and_not_read(tmp_path):
    path = edited(filled(tmp_path / "a.xlsx"), lambda wb: setattr(wb[T3], "title", "三、依申请公开(2)"))
    ctx = context(path)
    assert ("sheet-missing", None) in where(run(structure.check, ctx))
    assert ctx.broken_sheets == {T3}


def test_inserted_rows_shift_the_layout_once_per_sheet(tmp_path):
    path = edited(filled(tmp_path / "a.xlsx"), lambda wb: wb[T3].insert_rows(8), unprotect=(T3,))
    ctx = context(path)
    found = run(structure.check, ctx)
    shifted = [f for f in found if f.code == "layout-shifted"]
    assert len(shifted) == 1 and shifted[0].sheet == T3 and T3 in ctx.broken_sheets
    assert ("protection-removed", None) in where(found)


def test_an_edited_label_is_reported_with_what_it_says_now_clipped(tmp_path):
    label = next(lab for lab in L.sheet(T3).labels if lab.text == "一、本年新收政府信息公开申请数量")

    def edit(wb):
        wb[T3].cell(label.row + 1, label.col + 1).value = "改" * 5000
    found = run(structure.check, context(edited(filled(tmp_path / "a.xlsx"), edit, unprotect=(T3,))))
    [changed] = [f for f in found if f.code == "label-changed"]
    assert changed.args["expected"] == label.text and "5000" in changed.args["found"]
    assert len(changed.message) < 300
