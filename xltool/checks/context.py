"""What the check units share for one returned workbook: the form, the parsed workbook, and what the
earlier units found out (sheets too broken to read, the inputs as read, blank cells, unreadable cells).

`check_workbook` (rules.py) makes one Context and runs the units over it in order; each unit is a
module with its own finding codes and a `check(ctx)` that yields findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xltool.calc.model import model_for
from xltool.form.layout import Layout, ValueCell
from xltool.form.spec import FormSpec
from xltool.xlsx.model import WorkbookData


@dataclass
class Context:
    spec: FormSpec
    data: WorkbookData
    broken_sheets: set[str] = field(default_factory=set)          # missing or shifted: not read
    inputs: dict[str, Any] = field(default_factory=dict)          # input cells by id (None = unreadable)
    bad_inputs: set[str] = field(default_factory=set)             # inputs that could not be read as their type
    blanks: dict[str, list[ValueCell]] = field(default_factory=dict)   # blank table cells by sheet name
    _computed: dict[str, Any] | None = None

    @property
    def layout(self) -> Layout:
        return self.spec.layout

    @property
    def computed(self) -> dict[str, Any]:
        """The computed cells, recalculated from the template's formulas over the inputs (once)."""
        if self._computed is None:
            numbers = {k: (v if not isinstance(v, str) else None) for k, v in self.inputs.items()}
            self._computed = model_for(self.layout).evaluate(numbers)
        return self._computed

    def values(self) -> dict[str, Any]:
        return {**self.inputs, **self.computed}

    def input_cells(self) -> list[ValueCell]:
        return _orders(self.layout)[0]

    def formula_cells(self) -> list[ValueCell]:
        """layout.computed(): each formula cell after the cells it reads."""
        return formula_cells(self.layout)

    def numeric_values(self) -> dict[str, Any]:
        return {k: (v if isinstance(v, (int, Decimal)) else None) for k, v in self.values().items()}


_ORDERS: dict[int, tuple[Layout, list[ValueCell], list[ValueCell]]] = {}


def _orders(layout: Layout) -> tuple[list[ValueCell], list[ValueCell]]:
    """(inputs, formula cells in evaluation order) of a layout, worked out once per process and form
    (a form's layout never changes once loaded), not once per returned file."""
    got = _ORDERS.get(id(layout))
    if got is None or got[0] is not layout:
        got = _ORDERS[id(layout)] = (layout, layout.inputs(), layout.computed())
    return got[1], got[2]


def formula_cells(layout: Layout) -> list[ValueCell]:
    return _orders(layout)[1]
