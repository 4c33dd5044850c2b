"""Synthetic returns: random fills of a form that satisfy its check rules.

For samples, property tests and the benchmark. Spec-driven: every numeric input gets a random
value within its type; then each check rule `a + b = c + d` is balanced by adjusting the first
input on its left side (the side must be a plain sum, as T3-A's is). A check over computed
cells only (the 总计 column) balances once the columns it adds up do.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from xltool.calc.model import model_for
from xltool.form.layout import Layout


def random_inputs(layout: Layout, rng: random.Random, high: int = 50, balanced: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for cell in layout.inputs():
        t = cell.type
        if not t.numeric or cell.role:
            continue
        lo = int(t.min) if t.min is not None else -high
        hi = min(int(t.max), high) if t.max is not None else high
        if t.kind == "integer":
            values[cell.id] = rng.randint(lo, hi)
        else:
            values[cell.id] = Decimal(rng.randint(lo * 1000, hi * 1000)) / 1000
    if balanced:
        balance(layout, values)
    return values


def balance(layout: Layout, values: dict[str, Any]) -> None:
    """Make every check hold by adjusting one input per check (in place)."""
    model = model_for(layout)
    for _ in range(3):  # a change can affect a later check's totals; a few passes settle it
        changed = False
        for result in model.run_checks({**values, **model.evaluate(values)}):
            if result.ok:
                continue
            ch = result.check
            inputs = [i for i in ch.lhs_ids if not layout.cells[i].computed]
            if not inputs:  # a column of totals: it balances once the columns it adds up do
                continue
            target, *others = inputs
            rest = sum((values.get(i) or 0) for i in others)
            need = result.rhs - rest
            if need < 0:  # lower the other left-side inputs instead of going negative
                for i in others:
                    values[i] = 0
                need = result.rhs
            values[target] = need
            changed = True
        if not changed:
            return
