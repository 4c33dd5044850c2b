"""Cross-year checks: a report against the same agency's report of the year before.

The spec declares them as `previous-year` rules (`carried_over = prev.carried_forward`, per
column or row of a table); names prefixed `prev.` are last year's values. Sides are sums and
differences of names. Reports are matched by agency name and year; a previous report of another
form version is compared where both have the cells. The severity is the rule's; the national
forms declare these as warnings, since real reports break them after clean-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.checks.rules import rule_code
from xltool.findings import Finding
from xltool.form.canonical import loads
from xltool.form.spec import FormSpec, Rule, leaves

_TERM = re.compile(r"\s*([+-]?)\s*((?:prev\.)?[a-z][a-z0-9_]*)\s*")


def previous_reports(folder: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """(agency, year) -> canonical document, from a previous run's output folder or a folder of JSON."""
    folder = Path(folder)
    root = folder / "json" if (folder / "json").is_dir() else folder
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted(root.rglob("*.json")):
        try:
            doc = loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("agency") and isinstance(doc.get("year"), int) and doc.get("values"):
            key = (doc["agency"], doc["year"])
            if key not in found or doc.get("status") == "accepted":  # prefer an accepted one
                found[key] = doc
    return found


def _terms(side: str) -> list[tuple[int, str]]:
    """'prev.a + b - c' -> [(+1, 'prev.a'), (+1, 'b'), (-1, 'c')]."""
    out, pos = [], 0
    while pos < len(side):
        m = _TERM.match(side, pos)
        if not m or m.end() == pos:
            raise ValueError(f"previous-year rules add and subtract names only: {side!r}")
        out.append((-1 if m.group(1) == "-" else 1, m.group(2)))
        pos = m.end()
    return out


def check_against_previous(spec: FormSpec, values: dict[str, Any], prev: dict[str, Any]) -> list[Finding]:
    prev_values = prev.get("values") or {}
    findings = []
    for rule in spec.rules:
        if rule.kind == "previous-year":
            findings.extend(_rule_findings(spec, rule, values, prev_values, prev))
    return findings


def _rule_findings(spec: FormSpec, rule: Rule, values, prev_values, prev) -> Iterable[Finding]:
    table = spec.table(rule.table or "")
    layout = spec.layout
    lhs, rhs = (_terms(side) for side in rule.sides)
    code = rule_code(spec, rule.id)
    axis = leaves(table.columns) if rule.for_each == "column" else leaves(table.rows)
    for key in (n.id for n in axis):
        def cell_id(name: str) -> str:
            row, col = (name, key) if rule.for_each == "column" else (key, name)
            return f"{table.id}.{row}.{col}"

        def total(terms) -> Decimal | int | None:
            acc: Decimal | int = 0
            for sign, name in terms:
                source, name = (prev_values, name[5:]) if name.startswith("prev.") else (values, name)
                v = source.get(cell_id(name))
                if not isinstance(v, (int, Decimal)) or isinstance(v, bool):
                    return None  # a cell missing in either report (another version, unreadable): no verdict
                acc += sign * v
            return acc

        found, expected = total(lhs), total(rhs)
        if found is None or expected is None or found == expected:
            continue
        target = layout.cells[cell_id(lhs[0][1])]
        yield code.at(sheet=target.sheet, cell=target.a1, ids=[target.id], label=target.title, found=found,
                      expected=expected, prev_year=prev.get("year"), prev_file=(prev.get("source") or {}).get("file"),
                      rule_title=rule.title, rule_title_en=rule.title_en)
