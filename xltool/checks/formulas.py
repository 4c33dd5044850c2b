"""Formulas: every computed cell still holds the template's formula, and what the file shows agrees
with the recalculation (from the template's formulas, never the file's).

A total typed over with the right number, or a formula rewritten with the same result, is a warning;
one that disagrees breaks the rule the formula implements (its finding carries the rule id); a
stored result that disagrees with an unchanged formula was saved without recalculation.
"""

from __future__ import annotations

from collections.abc import Iterator

from xltool.checks.bounds import clip
from xltool.checks.cell_types import parse_number
from xltool.checks.context import Context
from xltool.checks.identities import rule_code
from xltool.findings import WARNING, Code, Finding
from xltool.xlsx.model import CellData

FORMULA_REPLACED = Code("formula-replaced", WARNING,
                        zh="{label}（{cell}）原为自动计算的公式，被改成了手填的数字 {found}（与计算结果一致）。请使用原模板，不要覆盖合计公式。",
                        en="{label} ({cell}) was a formula and now holds a typed {found} (it matches the computed total). Do not type over totals.")
FORMULA_CHANGED = Code("formula-changed", WARNING,
                       zh="{label}（{cell}）的公式被改为“{found}”（模板为“{expected}”），结果仍一致。系统按模板公式计算。",
                       en="The formula of {label} ({cell}) was changed to {found} (template: {expected}); the result still agrees. "
                          "xltool computes with the template's formula.")
FORMULA_CHANGED_UNVERIFIED = Code(
    "formula-changed-unverified", WARNING,
    zh="{label}（{cell}）的公式被改为“{found}”（模板为“{expected}”），文件中显示的结果为“{shown}”，无法核对。"
       "系统按模板公式计算为 {computed}；请使用原模板，不要修改公式。",
    en="The formula of {label} ({cell}) was changed to {found} (template: {expected}) and the file shows {shown}, "
       "which cannot be checked. xltool computes {computed} with the template's formula; use the original template.")
STALE_CACHED = Code("stale-cached-value", WARNING,
                    zh="{label}（{cell}）文件中显示为 {found}，按模板公式重算为 {expected}。文件可能未重新计算就保存了；系统采用重算结果。",
                    en="{label} ({cell}) shows {found} in the file; recalculated with the template's formula it is {expected}. "
                       "The file was probably saved without recalculation; the recalculated value is used.")


def _norm_formula(f: str) -> str:
    return f.replace("$", "").replace(" ", "").upper().lstrip("=")


def _shown(v):
    """A value from the file as a message quotes it: long text clipped."""
    return clip(v) if isinstance(v, str) else v


def check(ctx: Context) -> Iterator[Finding]:
    spec = ctx.spec
    computed = ctx.computed
    for cell in ctx.formula_cells():
        sheet = ctx.data.sheets.get(cell.sheet)
        if sheet is None or cell.sheet in ctx.broken_sheets:
            continue
        raw = sheet.get(cell.row, cell.col) or _EMPTY
        expected = computed[cell.id]
        if raw.formula is not None and _norm_formula(raw.formula) == _template_formula(cell.formula):
            # the template's formula, as in most returns: only its stored result can disagree
            if raw.cached is not None and not ctx.bad_inputs:
                cached, _ = parse_number(cell.type, raw.cached)
                if cached is not None and cached != expected:
                    yield STALE_CACHED.at(**_where(cell), found=cached, expected=expected)
            continue
        common = _where(cell)
        rule = spec.rule(cell.rule) if cell.rule else None
        rule_args = dict(rule_title=rule.title if rule else "", rule_title_en=rule.title_en if rule else "")
        if raw.formula is None:  # typed over
            found = raw.value
            number, _ = parse_number(cell.type, found) if found is not None else (None, None)
            if number is not None and number == expected:
                yield FORMULA_REPLACED.at(**common, found=number)
            else:
                yield rule_code(spec, cell.rule).at(
                    **common, **rule_args, found="（空）" if found is None else _shown(found), expected=expected,
                    formula_replaced=True,
                    fix="合计应由公式自动计算：请使用原模板（不要手填合计），并核对各分项。",
                    fix_en="Totals are computed by formula: use the original template (do not type totals) and check the parts.")
            continue
        formula = clip(raw.formula)     # a formula other than the template's
        cached, _ = parse_number(cell.type, raw.cached) if raw.cached is not None else (None, None)
        if cached is not None and cached != expected:
            yield rule_code(spec, cell.rule).at(
                **common, **rule_args, found=cached, expected=expected, formula_found=formula,
                fix=f"公式被改成了“{formula}”：请使用原模板，不要修改公式。",
                fix_en=f"The formula was changed to {formula}: use the original template.")
        elif cached is None:    # no result saved, or #REF!/text: nothing to say it agrees
            yield FORMULA_CHANGED_UNVERIFIED.at(**common, found=formula, expected=cell.formula,
                                                shown="（无）" if raw.cached is None else _shown(raw.cached),
                                                computed=expected)
        else:
            yield FORMULA_CHANGED.at(**common, found=formula, expected=cell.formula)


_EMPTY = CellData(None)
_TEMPLATE_FORMULAS: dict[str | None, str] = {}      # the forms' formulas, normalized: a few hundred


def _template_formula(formula: str | None) -> str:
    normalized = _TEMPLATE_FORMULAS.get(formula)
    if normalized is None:
        normalized = _TEMPLATE_FORMULAS[formula] = _norm_formula(formula or "")
    return normalized


def _where(cell) -> dict:
    """Where a finding on a formula cell points: its cell, and the ids it is computed from."""
    return dict(sheet=cell.sheet, cell=cell.a1, ids=[cell.id, *cell.depends], label=cell.title)
