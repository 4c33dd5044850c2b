"""The cell-types unit (xltool/checks/cell_types.py): every input read as its spec type says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from xltool.checks import cell_types
from xltool.checks.cell_types import parse_number

from returns import SPEC, T3, L, context, edited, filled, run, where

COUNT, AMOUNT = SPEC.types["count"], SPEC.types["amount"]


@pytest.mark.parametrize("raw, value", [(12, 12), (12.0, 12), (14.494999999999999, Decimal("14.495")),
                                        (24252.311082, Decimal("24252.311082")), (3.0, 3)])
def test_numbers_are_read_exactly_as_typed(raw, value):
    ctype = COUNT if isinstance(value, int) else AMOUNT
    assert parse_number(ctype, raw) == (value, None)


@pytest.mark.parametrize("raw, expected", [
    (10 ** 9, (10 ** 9, None)), (float(10 ** 9), (10 ** 9, None)), (-0.0, (0, None)),
    (10 ** 9 + 1, "too-large"), (1e9 + 1, "too-large"), (-1, "range"), (-1.0, "range")])
def test_whole_numbers_at_a_counts_bounds(raw, expected):
    """Whole numbers take a quicker path than amounts: at the bounds they are judged the same."""
    value, problem = parse_number(COUNT, raw)
    if isinstance(expected, tuple):
        assert (value, problem) == expected and type(value) is int
    else:
        assert value is None and problem["problem"] == expected


@pytest.mark.parametrize("raw, expected", [(10 ** 15 - 1, 10 ** 15 - 1), (-(10 ** 15 - 1), -(10 ** 15 - 1)),
                                           (10 ** 15, "too-large"), (1e15, "too-large"),
                                           (1234567890123456, "too-precise"), (2 ** 63, "too-precise")])
def test_whole_numbers_at_the_fifteen_digit_bound(raw, expected):
    from xltool.form.spec import CellType
    value, problem = parse_number(CellType(kind="integer"), raw)
    if isinstance(expected, int):
        assert (value, problem) == (expected, None)
    else:
        assert value is None and problem["problem"] == expected


@pytest.mark.parametrize("raw, problem, guess", [("12件", "text", "12"), ("１２", "text", "12"), ("约10", "text", None),
                                                 (2.5, "integer", None), (-3, "range", None), (True, "text", None)])
def test_what_is_not_a_count_says_what_was_wrong(raw, problem, guess):
    value, found = parse_number(COUNT, raw)
    assert value is None and found["problem"] == problem and found.get("guess") == guess


def test_inputs_are_read_by_type_and_blanks_recorded(tmp_path):
    d5, e5 = L.cells["t3.new.natural_person"], L.cells["t3.new.business"]
    code, fee = L.cells["meta.code"], L.cells["t2_8.admin_fees.fee_amount"]
    path = filled(tmp_path / "a.xlsx", raw={d5.id: "12件", e5.id: None, code.id: "00123", fee.id: 1.23456789})
    ctx = context(path)
    found = where(run(cell_types.check, ctx))
    assert ("not-a-number", d5.a1) in found and ("too-many-decimals", fee.a1) in found
    assert ctx.inputs[d5.id] is None and d5.id in ctx.bad_inputs
    assert ctx.inputs[e5.id] == 0 and e5 in ctx.blanks[T3]          # blank table cell: 0, reported by blanks
    assert ctx.inputs[code.id] == "00123"                            # text stays text, leading zeros kept
    assert ctx.inputs[fee.id] == Decimal("1.23456789")


def test_a_formula_or_a_date_in_an_input_is_not_a_value(tmp_path):
    d6, a5 = L.cells["t3.carried_over.natural_person"], L.cells["t4.cases.review_upheld"]

    def edit(wb):
        wb[T3][d6.a1].value = "=3+4"
        wb[a5.sheet][a5.a1].value = dt.date(2024, 3, 1)
    ctx = context(edited(filled(tmp_path / "a.xlsx"), edit))
    found = where(run(cell_types.check, ctx))
    assert ("formula-in-input", d6.a1) in found and ("not-a-number", a5.a1) in found
    assert {d6.id, a5.id} <= ctx.bad_inputs
