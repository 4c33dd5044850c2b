"""The checks on a returned workbook of a known form, run unit by unit over one Context.

Each unit is its own module with its own finding codes (frictionless style):
structure.py (sheets, protection, labels), cell_types.py (each input read as its type),
bounds.py (numbers, texts and findings per check bounded), blanks.py, metadata.py (role fields
against the hidden sheet), formulas.py (totals recalculated from the template), identities.py
(the spec's check rules). `check_workbook` runs them in order and returns the values (by spec
id: inputs as typed, computed cells recalculated) with every finding; no unit reports more than
bounds.MAX_FINDINGS_PER_CODE findings of one code.

`rule_code` and `parse_number` are re-exported here for their importers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xltool.checks import blanks, cell_types, formulas, identities, metadata, structure
from xltool.checks.bounds import capped
from xltool.checks.cell_types import parse_number
from xltool.checks.context import Context
from xltool.checks.identities import rule_code
from xltool.findings import Finding
from xltool.form.spec import FormSpec
from xltool.xlsx.model import WorkbookData

__all__ = ["Checked", "check_workbook", "parse_number", "rule_code", "UNITS"]

# In this order: each reads what the ones before recorded on the context.
UNITS = (structure.check, cell_types.check, blanks.check, metadata.check, formulas.check, identities.check)


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)   # every value cell by id (None = unreadable)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def check_workbook(spec: FormSpec, data: WorkbookData) -> Checked:
    ctx = Context(spec, data)
    out = Checked()
    for unit in UNITS:
        out.findings.extend(capped(unit(ctx)))
    values = ctx.values()
    out.values = {cid: values.get(cid) for cid in spec.layout.cells}
    return out
