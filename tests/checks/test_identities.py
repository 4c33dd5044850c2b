"""The identities unit (xltool/checks/identities.py): the spec's check rules over the typed values."""

from __future__ import annotations

import random

from xltool.checks import cell_types, identities
from xltool.checks.identities import rule_code
from xltool.generate.synth import random_inputs

from returns import SPEC, L, context, filled, run


def identity_findings(path):
    ctx = context(path)
    run(cell_types.check, ctx)
    return run(identities.check, ctx)


def test_a_balanced_return_breaks_no_rule(tmp_path):
    assert identity_findings(filled(tmp_path / "a.xlsx")) == []


def test_a_column_that_does_not_balance_breaks_t3_a_with_both_sides(tmp_path):
    values = random_inputs(L, random.Random(4))
    values["t3.new.natural_person"] += 5
    found = identity_findings(filled(tmp_path / "a.xlsx", values=values))
    # the 自然人 column and the 总计 column (which adds it) both break it
    assert {(f.code, f.args["column"]) for f in found} == {("T3-A", "自然人"), ("T3-A", "总计")}
    f = next(f for f in found if f.args["column"] == "自然人")
    assert f.severity == "error" and f.args["lhs"] - f.args["rhs"] == 5 and f.cell == "D30"
    assert "t3.new.natural_person" in f.ids and "自然人" in f.message


def test_an_unreadable_input_does_not_also_break_the_rule(tmp_path):
    values = random_inputs(L, random.Random(4))
    values["t3.new.natural_person"] += 5
    found = identity_findings(filled(tmp_path / "a.xlsx", values=values, raw={"t3.new.natural_person": "12件"}))
    assert found == []      # the not-a-number finding of cell_types says it all


def test_a_rules_code_is_its_id_with_its_severity():
    code = rule_code(SPEC, "T3-A")
    assert (code.code, code.severity) == ("T3-A", SPEC.rule("T3-A").severity)
    assert rule_code(SPEC, "T3-A") is code
