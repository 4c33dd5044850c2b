"""What a recalculation says about a live check: its two sides, and whether they balance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from xltool.form.layout import CheckCell


@dataclass(frozen=True)
class CheckResult:
    check: CheckCell
    lhs: int | Decimal
    rhs: int | Decimal

    @property
    def ok(self) -> bool:
        return self.lhs == self.rhs
