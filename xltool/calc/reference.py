"""Recalculation: the template's own formulas, compiled once per form version with `formulas`.

Formulas come from the spec's layout, never from a returned file (a file's formulas are
untrusted, and `formulas` would follow references to other workbooks on disk). Each computed
cell's formula and each side of a live check is compiled once; a file is then evaluated by
feeding its typed values in dependency order. Blank inputs count as 0, as in Excel.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from xltool.calc.result import CheckResult
from xltool.cells import parse_a1
from xltool.form.layout import CheckCell, Layout

_SHEET_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!(.+)$")


class _Compiled:
    """One compiled expression and how to feed it: for each input, the cell ids it covers."""

    def __init__(self, expr: str, sheet: str, at: dict[tuple[str, int, int], str]):
        import formulas  # heavy (numpy, schedula): only when something is recalculated

        self.fn = formulas.Parser().ast("=" + expr.lstrip("="))[1].compile()
        self.feeds: list[tuple[list[list[str | None]], bool]] = []
        for name in self.fn.inputs:
            m = _SHEET_REF.match(name)
            sheet_name, ref = (((m.group(1) or "").replace("''", "'") or m.group(2)), m.group(3)) if m else (sheet, name)
            first, _, last = ref.partition(":")
            r1, c1 = parse_a1(first)
            r2, c2 = parse_a1(last) if last else (r1, c1)
            grid = [[at.get((_norm(sheet_name), r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
            self.feeds.append((grid, bool(last)))

    def __call__(self, values: dict[str, Any]) -> Any:
        import numpy as np

        args = []
        for grid, is_range in self.feeds:
            if is_range:
                args.append(np.array([[_num(values.get(i)) for i in row] for row in grid], dtype=object))
            else:
                args.append(_num(values.get(grid[0][0])))
        out = self.fn(*args)
        return out.item() if hasattr(out, "item") else out


def _norm(sheet: str) -> str:
    return sheet.upper()  # `formulas` upper-cases sheet names in its input names


def _num(v: Any) -> Any:
    if v is None:
        return 0
    if isinstance(v, Decimal):
        return float(v)
    return v


class Model:
    """The compiled formulas of one form version."""

    def __init__(self, layout: Layout):
        self.layout = layout
        at = {(_norm(c.sheet), c.row, c.col): c.id for c in layout.cells.values()}
        self.order = layout.computed()
        self.formulas: dict[str, _Compiled] = {c.id: _Compiled(c.formula, c.sheet, at) for c in self.order}
        self.checks: list[tuple[CheckCell, _Compiled, _Compiled]] = [
            (ch, _Compiled(ch.lhs, ch.sheet, at), _Compiled(ch.rhs, ch.sheet, at)) for ch in layout.checks()]

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, int | Decimal]:
        """The computed cells' values for these inputs (blank = 0)."""
        values = dict(inputs)
        out: dict[str, int | Decimal] = {}
        for cell in self.order:
            result = exact(self.formulas[cell.id](values), cell.type.kind)
            values[cell.id] = out[cell.id] = result
        return out

    def run_checks(self, values: dict[str, Any]) -> list[CheckResult]:
        return [CheckResult(ch, exact(lhs(values), "decimal"), exact(rhs(values), "decimal"))
                for ch, lhs, rhs in self.checks]


def exact(x: Any, kind: str) -> int | Decimal:
    """A formula result as an exact number: integers stay integers, decimals lose float noise."""
    if isinstance(x, str):  # an Excel error such as #VALUE!
        raise ValueError(x)
    f = float(x)
    if kind == "integer" or f == int(f):
        return int(round(f))
    return Decimal(repr(round(f, 9))).normalize()
