"""The recalculation a caller uses: the fast exact evaluator wherever it answers, the `formulas`
reference model otherwise, one per form version (compiled once, shared by every file)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xltool.calc.fastcalc import FastCalcUnsupported, FastModel, OutsideExactRange
from xltool.calc.reference import Model
from xltool.calc.result import CheckResult
from xltool.form.layout import Layout


class FastFirst:
    """fastcalc.FastModel wherever it answers exactly; the `formulas` Model (built on first
    need) otherwise. `formulas` defines the results: the property tests hold FastModel to it."""

    def __init__(self, layout: Layout):
        self.layout, self._reference = layout, None
        try:
            self.fast: Any = FastModel(layout)
        except FastCalcUnsupported:
            self.fast = None

    @property
    def reference(self) -> Model:
        if self._reference is None:
            self._reference = Model(self.layout)
        return self._reference

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, int | Decimal]:
        return self._answer("evaluate", inputs)

    def run_checks(self, values: dict[str, Any]) -> list[CheckResult]:
        return self._answer("run_checks", values)

    def _answer(self, method: str, values: dict[str, Any]) -> Any:
        if self.fast is not None:
            try:
                return getattr(self.fast, method)(values)
            except (FastCalcUnsupported, OutsideExactRange):
                pass  # not exactly answerable on the fast path: the reference answers
        return getattr(self.reference, method)(values)


_models: dict[str, FastFirst] = {}


def model_for(layout: Layout) -> FastFirst:
    key = f"{layout.form_id}:{layout.fingerprint}"
    if key not in _models:
        _models[key] = FastFirst(layout)
    return _models[key]


def evaluate(layout: Layout, inputs: dict[str, Any]) -> dict[str, int | Decimal]:
    return model_for(layout).evaluate(inputs)

