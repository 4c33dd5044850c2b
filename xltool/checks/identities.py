"""Identities: the spec's rules. Their findings carry the rule id (T3-A, T3-B, ...) as their code,
with the severity the spec gives and the message templates of the rule's kind. `formula` rules are
reported by the formulas unit (a total that disagrees with its recalculation); `check` rules here,
over the typed values; `previous-year` rules by previous_year.py against last year's report."""

from __future__ import annotations

from collections.abc import Iterator

from xltool.calc.model import model_for
from xltool.calc.result import CheckResult
from xltool.checks.context import Context, formula_cells
from xltool.findings import Code, Finding
from xltool.form.layout import Layout
from xltool.form.spec import FormSpec

_RULE_FORMULA_ZH = ("{label}（{cell}）表中为 {found}，但按勾稽关系“{rule_title}”应为 {expected}。"
                    "{fix}")
_RULE_FORMULA_EN = "{label} ({cell}) holds {found}, but by the rule “{rule_title_en}” it must be {expected}. {fix_en}"
_RULE_CHECK_ZH = "“{column}”{axis}不平：应满足 {rule_title}，但左边为 {lhs}，右边为 {rhs}。请核对这些数字。"
_RULE_CHECK_EN = "{column} does not balance: {rule_title_en} should hold, but the left side is {lhs} and the right side {rhs}. Check these numbers."
_RULE_PREVIOUS_ZH = ("“{label}”为 {found}，但按上年（{prev_year}）报告应为 {expected}（{rule_title}）。"
                     "如因清理、调整等原因不一致，请在报告中说明。")
_RULE_PREVIOUS_EN = ("{label} is {found}, but last year's ({prev_year}) report gives {expected} ({rule_title_en}). "
                     "If a clean-up explains it, say so in the report.")
_RULE_TEMPLATES = {"formula": (_RULE_FORMULA_ZH, _RULE_FORMULA_EN), "check": (_RULE_CHECK_ZH, _RULE_CHECK_EN),
                   "previous-year": (_RULE_PREVIOUS_ZH, _RULE_PREVIOUS_EN)}
_rule_codes: dict[tuple[str, str, str], Code] = {}


def rule_code(spec: FormSpec, rule_id: str) -> Code:
    """The Code of a spec rule: its id, its severity, the message templates of its kind. Cached by
    all three, so two forms that use one rule id differently each get their own."""
    rule = spec.rule(rule_id)
    key = (rule.id, rule.kind, rule.severity)
    if key not in _rule_codes:
        zh, en = _RULE_TEMPLATES[rule.kind]
        _rule_codes[key] = Code(rule.id, rule.severity, zh=zh, en=en, rule_title=(rule.title, rule.title_en or rule.title))
    return _rule_codes[key]


def tainted(layout: Layout, bad_inputs: set[str]) -> set[str]:
    """Unreadable inputs and every computed cell that reads one: checks over them would only
    repeat the input's own finding."""
    out = set(bad_inputs)
    for cell in formula_cells(layout):
        if out.intersection(cell.depends):
            out.add(cell.id)
    return out


def check(ctx: Context) -> Iterator[Finding]:

    spec, layout = ctx.spec, ctx.layout
    skip = tainted(layout, ctx.bad_inputs)
    for result in model_for(layout).run_checks(ctx.numeric_values()):
        ch = result.check
        if result.ok or ch.sheet in ctx.broken_sheets or skip.intersection(ch.lhs_ids + ch.rhs_ids):
            continue
        yield unbalanced(spec, result)


def unbalanced(spec: FormSpec, result: CheckResult, cell: str | None = None) -> Finding:
    """The finding of a check that does not balance (T3-A): the rule, both sides and their labels, at
    the check's own cell or at `cell` (where a published report printed it)."""
    ch, layout = result.check, spec.layout
    rule = spec.rule(ch.rule)
    return rule_code(spec, ch.rule).at(
        sheet=ch.sheet, cell=ch.a1 if cell is None else cell, ids=[*ch.lhs_ids, *ch.rhs_ids], column=ch.key_label,
        axis="列" if rule.for_each == "column" else "行",
        lhs=result.lhs, rhs=result.rhs, lhs_label=side_label(layout, ch.lhs_ids),
        rhs_label=side_label(layout, ch.rhs_ids), rule_title=rule.title, rule_title_en=rule.title_en)


def side_label(layout: Layout, ids: tuple[str, ...]) -> str:
    """'一、本年新收… + 二、上年结转…' from the cells of one side of a check."""
    return " + ".join(layout.cells[i].label_path[-1] for i in ids)
