"""The blanks unit (xltool/checks/blanks.py): blank number cells by the spec's policy."""

from __future__ import annotations

import random

from xltool.checks import blanks, cell_types
from xltool.generate.synth import random_inputs

from returns import T3, L, context, filled, run


def blank_findings(path):
    ctx = context(path)
    run(cell_types.check, ctx)      # records the blank cells
    return run(blanks.check, ctx)


def test_a_few_blank_cells_are_one_warning_per_table_read_as_zero(tmp_path):
    values = random_inputs(L, random.Random(2))
    left = ["t3.withheld_inquiry.research", "t3.declined_repeated.legal_service"]
    for cid in left:
        values.pop(cid)
    [f] = blank_findings(filled(tmp_path / "a.xlsx", values=values))
    assert f.code == "blank-cells" and f.severity == "warning" and f.sheet == T3
    assert f.args["count"] == 2 and sorted(f.args["all_cells"]) == sorted(L.cells[c].a1 for c in left)


def test_many_blank_cells_are_listed_briefly_and_counted(tmp_path):
    values = random_inputs(L, random.Random(2))
    t3 = [c.id for c in L.inputs() if c.table == "t3"]
    for cid in t3[:-1]:
        values.pop(cid)
    [f] = blank_findings(filled(tmp_path / "a.xlsx", values=values))
    assert f.code == "blank-cells" and f.args["count"] == len(t3) - 1
    assert len(f.args["cells"]) == blanks.CELLS_SHOWN + 1 and f"共 {len(t3) - 1} 个" in f.message


def test_a_table_left_blank_is_an_error(tmp_path):
    values = {k: v for k, v in random_inputs(L, random.Random(2)).items() if not k.startswith("t4.")}
    [f] = blank_findings(filled(tmp_path / "a.xlsx", values=values))
    assert f.code == "table-blank" and f.severity == "error" and f.sheet == "四、复议诉讼"
