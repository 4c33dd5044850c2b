"""fastcalc.FastModel against recalc.Model (the `formulas` engine, Excel's double arithmetic):
the same computed values and check results for random fills of both forms, the example
form and a form with decimals, products and divisions; outside the exact range it refuses
rather than answer differently."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltool.calc.fastcalc import FastCalcUnsupported, FastModel, OutsideExactRange, parse_formula
from xltool.calc.reference import Model
from xltool.form.forms import get_spec, load_spec
from xltool.generate.synth import random_inputs

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECIMAL_SPEC = """
id: decimal-test
form: decimal_test
version: "1"
title: 小数测试
title_en: decimals
description: decimals, products and divisions in formulas
years: {from: 2020}
blank: zero-with-warning
types:
  count: {kind: integer, label: 整数, label_en: integer}
  amount: {kind: decimal, max_decimals: 6, label: 金额, label_en: amount}
sheets:
  - id: s
    name: 表
    tables:
      - id: t
        corner: 项目
        type: amount
        columns:
          - {id: a, label: 甲}
          - {id: b, label: 乙}
          - {id: n, label: 件数, type: count}
          - {id: total, label: 合计, formula: "a + b - 0.5", rule: F-SUM}
          - {id: twice, label: 两倍, formula: "2 * (a + b) + n * 3", rule: F-SUM}
          - {id: half, label: 均分, formula: "n / 2", rule: F-SUM}
          - {id: scaled, label: 乘积, formula: "a * n", rule: F-SUM}
        rows:
          - {id: x, label: 一}
          - {id: y, label: 二}
          - {id: z, label: 合计, formula: "SUM(x:y)", rule: F-SUM}
rules:
  - {id: F-SUM, kind: formula, title: 合计, title_en: total}
  - {id: F-BAL, kind: check, table: t, for_each: column, assert: "z = x + y", title: 平衡, title_en: balance}
"""


_references: dict[str, Model] = {}


def model_for(layout) -> Model:
    """The reference: recalc.Model itself (recalc.model_for may hand out the fast path)."""
    key = f"{layout.form_id}:{layout.fingerprint}"
    if key not in _references:
        _references[key] = Model(layout)
    return _references[key]


def layouts():
    return [get_spec("govinfo-annual-2019").layout, get_spec("govinfo-annual-2021").layout,
            load_spec(ROOT / "docs" / "example-form.yaml").layout]


@pytest.fixture(scope="module")
def decimal_layout(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "decimal-test.yaml"
    path.write_text(DECIMAL_SPEC, encoding="utf-8")
    return load_spec(path).layout


def numeric_inputs(layout):
    return [c for c in layout.inputs() if c.type.numeric and not c.role]


def integer_value(cell, large: bool):
    """Blanks, zeros, small and (sometimes) large integers; negative only where the type allows."""
    low = int(cell.type.min) if cell.type.min is not None else None
    high = int(cell.type.max) if cell.type.max is not None else None
    top = 2 ** 40 if large else 10 ** 6
    values = st.integers(max(low, -top) if low is not None else -top, min(high, top) if high is not None else top)
    return st.one_of(st.none(), st.just(0), values, st.sampled_from([1, 9, 99, 12345]).filter(
        lambda v: (low is None or v >= low) and (high is None or v <= high)))


def decimal_value(cell):
    low = int(cell.type.min) if cell.type.min is not None else -10 ** 4
    high = int(cell.type.max) if cell.type.max is not None else 10 ** 4
    decimals = st.integers(low * 10 ** 6, high * 10 ** 6).map(lambda n: Decimal(n).scaleb(-6))
    return st.one_of(st.none(), st.just(Decimal(0)), decimals, st.integers(low, high))


@st.composite
def fills(draw, layout, large: bool = False):
    return {c.id: draw(decimal_value(c) if c.type.kind == "decimal" else integer_value(c, large))
            for c in numeric_inputs(layout)}


def agree(layout, inputs) -> bool:
    """FastModel equals recalc.Model on these inputs, or refuses them; True when it answered."""
    reference, fast = model_for(layout), FastModel(layout)
    try:
        got = fast.evaluate(inputs)
    except OutsideExactRange:
        return False
    expected = reference.evaluate(inputs)
    assert got == expected, {k: (got[k], expected[k]) for k in got if got[k] != expected[k]}
    values = {**inputs, **expected}
    try:
        fast_checks = fast.run_checks(values)
    except OutsideExactRange:
        return True
    ref_checks = reference.run_checks(values)
    assert [(r.check, r.lhs, r.rhs, r.ok) for r in fast_checks] == [(r.check, r.lhs, r.rhs, r.ok) for r in ref_checks]
    return True


@pytest.mark.parametrize("layout", layouts(), ids=lambda lay: lay.form_id)
def test_synthetic_fills(layout):
    for seed in range(20):
        assert agree(layout, random_inputs(layout, random.Random(seed), high=10 ** (seed % 9 + 1), balanced=seed % 3 != 0))


@pytest.mark.parametrize("layout", layouts(), ids=lambda lay: lay.form_id)
@SETTINGS
@given(data=st.data())
def test_random_fills_agree_with_the_formulas_engine(layout, data):
    assert agree(layout, data.draw(fills(layout)))      # never refused: these are ordinary numbers


@pytest.mark.parametrize("layout", layouts(), ids=lambda lay: lay.form_id)
@SETTINGS
@given(data=st.data())
def test_large_integers_agree_or_are_refused(layout, data):
    agree(layout, data.draw(fills(layout, large=True)))


@SETTINGS
@given(data=st.data())
def test_decimals_products_and_divisions(decimal_layout, data):
    agree(decimal_layout, data.draw(fills(decimal_layout)))


def test_beyond_double_precision_is_refused_not_answered():
    layout = get_spec("govinfo-annual-2021").layout
    first, second = FastModel(layout).inputs_read[:2]     # inputs some formula reads
    inputs = {first: 2 ** 53 + 1, second: 1}
    reference = model_for(layout).evaluate(inputs)
    exact = {k: v for k, v in reference.items() if v == 2 ** 53 + 2}
    assert not exact          # the double engine cannot even say 2**53 + 2
    with pytest.raises(OutsideExactRange):
        FastModel(layout).evaluate(inputs)


def test_divisions_that_are_not_exact_are_refused(decimal_layout):
    fast = FastModel(decimal_layout)
    assert fast.evaluate({"t.x.n": 4})["t.x.half"] == 2 == model_for(decimal_layout).evaluate({"t.x.n": 4})["t.x.half"]
    with pytest.raises(OutsideExactRange):
        fast.evaluate({"t.x.n": 3})


def test_text_and_booleans_go_to_the_reference():
    layout = get_spec("govinfo-annual-2019").layout
    cell = FastModel(layout).inputs_read[0]
    for bad in ("12", True):
        with pytest.raises(FastCalcUnsupported):
            FastModel(layout).evaluate({cell: bad})


def test_floats_are_read_as_the_decimals_they_print_as():
    layout = load_spec(ROOT / "docs" / "example-form.yaml").layout
    cells = numeric_inputs(layout)
    inputs = {cells[0].id: 3.0, cells[1].id: 4}
    assert FastModel(layout).evaluate(inputs) == model_for(layout).evaluate(inputs)


@pytest.mark.parametrize("formula", ["=MAX(A1,B1)", "=A1&B1", "=A1^2", "=A1 B1", '="x"', "=A1>1", "=A1%", "=SUM(A1:B2",
                                      "=Sheet2!A1:Sheet2!B2", "=A1+"])
def test_formulas_outside_the_subset_are_refused(formula):
    with pytest.raises(FastCalcUnsupported):
        parse_formula(formula, "S", {})


def test_references_and_precedence():
    at = {("S", 0, 0): "a", ("S", 0, 1): "b", ("T'S", 1, 2): "c"}
    assert parse_formula("=-A1*B1+'T''s'!$C$2", "S", at) == ("+", ("*", ("neg", ("cell", "a")), ("cell", "b")), ("cell", "c"))
    assert parse_formula("SUM(B1:A1,Z9,1.5)", "s", at) == ("sum", [("range", ["a", "b"]), ("cell", None), ("num", Decimal("1.5"))])


def test_a_layout_with_an_unsupported_formula_cannot_be_built(tmp_path):
    path = tmp_path / "max.yaml"
    path.write_text(DECIMAL_SPEC.replace('formula: "n / 2"', 'formula: "MAX(a, b)"'), encoding="utf-8")
    with pytest.raises(FastCalcUnsupported):
        FastModel(load_spec(path).layout)
    assert Model(load_spec(path).layout)       # the reference takes it


def test_the_model_is_built_once_per_form_version():
    from xltool.calc.model import model_for as shared_model_for

    layout = get_spec("govinfo-annual-2021").layout
    assert shared_model_for(layout) is shared_model_for(layout)
    assert isinstance(shared_model_for(layout).fast, FastModel)


@given(st.integers(-(2 ** 60), 2 ** 60), st.integers(-(2 ** 60), 2 ** 60))
@settings(max_examples=60, deadline=None)
def test_two_large_inputs(a, b):
    layout = load_spec(ROOT / "docs" / "example-form.yaml").layout
    cells = numeric_inputs(layout)
    agree(layout, {cells[0].id: a, cells[1].id: b})
