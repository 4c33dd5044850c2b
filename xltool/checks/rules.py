"""The checks on a returned workbook of a known form: structure, types, blanks, formulas, identities.

Each check is a small function that yields findings; `check_workbook` runs them in order and
returns the values (by spec id: inputs as typed, computed cells recalculated from the
template's formulas) with every finding. Rule findings (T3-A, T3-B, ...) carry the rule id
from the spec as their code.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from xltool.calc.model import model_for
from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.layout import META_SHEET, Layout, ValueCell
from xltool.form.spec import CellType, FormSpec
from xltool.xlsx.model import CellData, SheetData, WorkbookData

# --- codes -----------------------------------------------------------------------------------

SHEET_MISSING = Code("sheet-missing", ERROR,
                     zh="缺少工作表“{sheet}”（可能被删除或改名）。请使用下发的原模板填写。",
                     en="Sheet {sheet} is missing (deleted or renamed). Use the issued template.")
LAYOUT_SHIFTED = Code("layout-shifted", ERROR,
                      zh="表格被插入或删除了行/列：标签“{label}”应在 {expected}，现在在 {found}。数字可能错位，请在原模板中重新填写，不要增删行列。",
                      en="Rows or columns were inserted or deleted: label {label} belongs at {expected} but is at {found}. "
                         "Numbers may be misplaced; refill the original template without adding or removing rows/columns.")
LABEL_CHANGED = Code("label-changed", WARNING,
                     zh="标签被改动：应为“{expected}”，现为“{found}”。请不要修改表格标签。",
                     en="A label was edited: expected {expected}, found {found}. Do not change the table labels.")
PROTECTION_REMOVED = Code("protection-removed", WARNING,
                          zh="工作表“{sheet}”的保护被撤销了。数字已照常读取；请确认没有改动表格结构和公式。",
                          en="Protection was removed from sheet {sheet}. Values were read; make sure no structure or formula was changed.")
NOT_A_NUMBER = Code("not-a-number", ERROR,
                    zh="{label}（{cell}）填的是“{found}”，这里应填{expected}，例如 {example}。{suggestion}",
                    en="{label} ({cell}) holds “{found}”; expected {expected_en}, e.g. {example}. {suggestion_en}")
NOT_AN_INTEGER = Code("not-an-integer", ERROR,
                      zh="{label}（{cell}）填的是 {found}，这里应为整数（件数不能有小数）。",
                      en="{label} ({cell}) is {found}; it must be a whole number.")
OUT_OF_RANGE = Code("out-of-range", ERROR,
                    zh="{label}（{cell}）填的是 {found}，应为{expected}。",
                    en="{label} ({cell}) is {found}; expected {expected_en}.")
TOO_MANY_DECIMALS = Code("too-many-decimals", WARNING,
                         zh="{label}（{cell}）有 {decimals} 位小数，超过 {max} 位；请核对单位（应为{unit}）。",
                         en="{label} ({cell}) has {decimals} decimals, more than {max}; check the unit ({unit}).")
FORMULA_IN_INPUT = Code("formula-in-input", ERROR,
                        zh="{label}（{cell}）填的是公式“{formula}”。系统不会计算文件中的公式，请直接填写数字。",
                        en="{label} ({cell}) holds the formula {formula}. Formulas from returned files are never evaluated; type the number.")
BLANK_CELLS = Code("blank-cells", WARNING,
                   zh="“{table}”有 {count} 个格子未填写，已按 0 计：{cells}。如确为 0，请填 0。",
                   en="{table}: {count} cell(s) left blank were read as 0: {cells}. If they are 0, type 0.")
TABLE_BLANK = Code("table-blank", ERROR,
                   zh="“{table}”整张表都没有填写。请填写该表（没有发生的填 0）。",
                   en="{table} was left entirely blank. Fill it in (type 0 where nothing happened).")
FIELD_REQUIRED = Code("field-required", ERROR,
                      zh="“{label}”（{cell}）必须填写。",
                      en="{label} ({cell}) is required.")
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
YEAR_NOT_IN_VERSION = Code("year-not-in-version", ERROR,
                           zh="报告年度为 {year}，但本模板（{version}版）用于 {years} 年度。请使用对应年度的模板。",
                           en="The report year is {year}, but this template ({version} version) is for {years}. Use the template for that year.")
METADATA_MISMATCH = Code("metadata-mismatch", WARNING,
                         zh="“{label}”填写为“{found}”，与下发模板中的“{expected}”不一致。请核对是否用错了其他单位或年度的模板。",
                         en="{label} reads {found}, but the issued template says {expected}. Check that this is your own template.")

# Rule findings: the code is the spec's rule id; the message templates are shared by kind.
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


# --- results ---------------------------------------------------------------------------------

@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)   # every value cell by id (None = unreadable)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


def check_workbook(spec: FormSpec, data: WorkbookData) -> Checked:
    layout = spec.layout
    out = Checked()
    broken_sheets: set[str] = set()
    for f in _structure(layout, data):
        out.findings.append(f)
        if f.code in (SHEET_MISSING.code, LAYOUT_SHIFTED.code):
            broken_sheets.add(f.sheet or "")
    inputs, input_findings, blanks, bad_inputs = _read_inputs(layout, data, broken_sheets)
    out.findings.extend(input_findings)
    out.findings.extend(_blanks(spec, layout, blanks, broken_sheets))
    out.findings.extend(_metadata(spec, layout, data, inputs))
    computed = model_for(layout).evaluate({k: (v if not isinstance(v, str) else None) for k, v in inputs.items()})
    out.findings.extend(_formulas(spec, layout, data, computed, broken_sheets, bad_inputs))
    values = {**inputs, **computed}
    out.findings.extend(_checks(spec, layout, values, broken_sheets, _tainted(layout, bad_inputs)))
    out.values = {cid: values.get(cid) for cid in layout.cells}
    return out


# --- structure -------------------------------------------------------------------------------

def _structure(layout: Layout, data: WorkbookData) -> Iterator[Finding]:
    for sl in layout.sheets:
        sheet = data.sheets.get(sl.name)
        if sheet is None:
            yield SHEET_MISSING.at(sheet=sl.name)
            continue
        if not sheet.protected:
            yield PROTECTION_REMOVED.at(sheet=sl.name)
        shifted = False
        for lab in sl.labels:
            found = sheet.text(lab.row, lab.col).strip()
            if found == lab.text:
                continue
            moved = _find_label(sheet, lab.text)
            if moved is not None and not shifted:
                shifted = True
                from xltool.form.layout import a1
                yield LAYOUT_SHIFTED.at(sheet=sl.name, cell=a1(lab.row, lab.col), label=lab.text,
                                        expected=a1(lab.row, lab.col), found=a1(*moved))
            elif moved is None:
                from xltool.form.layout import a1
                yield LABEL_CHANGED.at(sheet=sl.name, cell=a1(lab.row, lab.col), expected=lab.text, found=found or "（空）")


def _find_label(sheet: SheetData, text: str) -> tuple[int, int] | None:
    for (r, c), cell in sheet.cells.items():
        if isinstance(cell.value, str) and cell.value.strip() == text:
            return r, c
    return None


# --- inputs ----------------------------------------------------------------------------------

_UNITS = re.compile(r"(万元|元|万|件|个|项|次|份|人)$")


def parse_number(ctype: CellType, raw: Any) -> tuple[int | Decimal | None, dict[str, Any] | None]:
    """A cell's value as the type wants it, or (None, what was wrong) for the finding."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None, {"problem": "text", "found": str(raw)}
    if isinstance(raw, str):
        return None, {"problem": "text", "found": raw, **_suggest(raw)}
    if isinstance(raw, float) and not math.isfinite(raw):   # <v>1e999</v>, <v>NaN</v>: no program writes these
        return None, {"problem": "text", "found": str(raw)}
    number = Decimal(format(raw, ".15g")) if isinstance(raw, float) else Decimal(raw)
    if ctype.kind == "integer":
        if number != number.to_integral_value():
            return None, {"problem": "integer", "found": format(number, "f")}
        value: int | Decimal = int(number)
    else:
        value = number.normalize() if number != number.to_integral_value() else Decimal(int(number))
        if value == value.to_integral_value():
            value = int(value)
    if (ctype.min is not None and value < ctype.min) or (ctype.max is not None and value > ctype.max):
        return None, {"problem": "range", "found": str(value)}
    return value, None


def _suggest(text: str) -> dict[str, Any]:
    """What a clerk probably meant by text in a number cell (shown, never used as the value)."""
    t = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "")
    sign = ""
    if t.startswith("减"):
        sign, t = "-", t[1:]
    elif t.startswith("增"):
        t = t[1:]
    t = _UNITS.sub("", t)
    try:
        guess = Decimal(sign + t)
    except InvalidOperation:
        return {}
    shown = format(guess.normalize(), "f") if guess != guess.to_integral_value() else str(int(guess))
    return {"guess": shown}


def _read_inputs(layout: Layout, data: WorkbookData, broken: set[str]):
    values: dict[str, Any] = {}
    findings: list[Finding] = []
    blanks: dict[str, list[ValueCell]] = {}
    bad: set[str] = set()
    for cell in layout.inputs():
        sheet = data.sheets.get(cell.sheet)
        if sheet is None or cell.sheet in broken:
            values[cell.id] = None
            continue
        raw = sheet.get(cell.row, cell.col) or CellData(None)
        label = cell.title
        if raw.formula is not None:
            findings.append(FORMULA_IN_INPUT.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=label,
                                                formula=raw.formula))
            values[cell.id] = None
            bad.add(cell.id)
            continue
        v = raw.value
        if isinstance(v, str) and not v.strip():
            v = None
        if not cell.type.numeric:
            values[cell.id] = _text(v)
            continue
        if v is None:
            if cell.table is None:  # a field (报告年度): blank stays blank, `required` decides
                values[cell.id] = None
                continue
            values[cell.id] = 0     # a table cell: the spec's blank policy (read as 0, reported per table)
            blanks.setdefault(cell.sheet, []).append(cell)
            continue
        value, problem = parse_number(cell.type, v)
        if problem is None:
            values[cell.id] = value
            if cell.type.max_decimals is not None and isinstance(value, Decimal):
                decimals = -value.as_tuple().exponent
                if decimals > cell.type.max_decimals:
                    findings.append(TOO_MANY_DECIMALS.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=label,
                                                         decimals=decimals, max=cell.type.max_decimals,
                                                         unit=cell.type.unit or ""))
            continue
        values[cell.id] = None
        bad.add(cell.id)
        findings.append(_input_finding(cell, problem))
    return values, findings, blanks, bad


def _text(v: Any) -> str | None:
    """A text cell's value: stripped, a whole number typed into it without a stray ".0"."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip() or None


def _input_finding(cell: ValueCell, problem: dict[str, Any]) -> Finding:
    t = cell.type
    unit = f"（单位：{t.unit}）" if t.unit and t.unit not in t.label else ""
    common = dict(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=cell.title, found=problem["found"])
    if problem["problem"] == "integer":
        return NOT_AN_INTEGER.at(**common)
    if problem["problem"] == "range":
        return OUT_OF_RANGE.at(**common, expected=t.label + unit, expected_en=t.label_en)
    guess = problem.get("guess")
    return NOT_A_NUMBER.at(**common, expected=t.label + unit, expected_en=t.label_en, example=t.example or "0",
                           guess=guess,
                           suggestion=f"看起来应为 {guess}：请只填数字，不要带单位或文字。" if guess else "请只填数字。",
                           suggestion_en=f"It looks like {guess}: type the number only, without units or words." if guess
                           else "Type a number only.")


def _blanks(spec: FormSpec, layout: Layout, blanks: dict[str, list[ValueCell]], broken: set[str]) -> Iterator[Finding]:
    for sl, sheet_spec in zip(layout.sheets, spec.sheets):
        if sl.is_fields or sl.name in broken:
            continue
        numeric = [c for c in sl.cells if not c.computed and c.type.numeric]
        empty = blanks.get(sl.name, [])
        if not empty:
            continue
        table = sheet_spec.title or sl.name
        cells = [c.a1 for c in empty]
        if len(empty) == len(numeric):
            yield TABLE_BLANK.at(sheet=sl.name, cell=cells[0], ids=[c.id for c in empty], table=table)
        elif spec.blank == "error":
            for c in empty:
                yield FIELD_REQUIRED.at(sheet=sl.name, cell=c.a1, ids=[c.id], label=c.title)
        else:
            shown = cells if len(cells) <= 12 else cells[:12] + [f"…（共 {len(cells)} 个）"]
            yield BLANK_CELLS.at(sheet=sl.name, cell=cells[0], ids=[c.id for c in empty], table=table,
                                 count=len(cells), cells=shown, all_cells=cells)


def _metadata(spec: FormSpec, layout: Layout, data: WorkbookData, inputs: dict[str, Any]) -> Iterator[Finding]:
    meta = data.key_values(META_SHEET) or {}
    for sheet in spec.sheets:
        for f in sheet.fields:
            cell = layout.cells[f"{sheet.id}.{f.id}"]
            value = inputs.get(cell.id)
            if f.required and value in (None, ""):
                yield FIELD_REQUIRED.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=f.label)
                continue
            issued = meta.get(f.role or "", "")
            if f.role and issued and value not in (None, "") and str(value) != issued:
                yield METADATA_MISMATCH.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=f.label,
                                           found=value, expected=issued)
            if f.role == "year" and isinstance(value, int) and value not in spec.years:
                years = f"{spec.years.first}–{spec.years.last}" if spec.years.last else f"{spec.years.first} 年及以后"
                yield YEAR_NOT_IN_VERSION.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], year=value,
                                             version=spec.version, years=years)


# --- formulas and identities -----------------------------------------------------------------

def _norm_formula(f: str) -> str:
    return f.replace("$", "").replace(" ", "").upper().lstrip("=")


def _formulas(spec: FormSpec, layout: Layout, data: WorkbookData, computed: dict[str, Any],
              broken: set[str], bad_inputs: set[str]) -> Iterator[Finding]:
    for cell in layout.computed():
        sheet = data.sheets.get(cell.sheet)
        if sheet is None or cell.sheet in broken:
            continue
        raw = sheet.get(cell.row, cell.col) or CellData(None)
        expected = computed[cell.id]
        common = dict(sheet=cell.sheet, cell=cell.a1, ids=[cell.id, *cell.depends], label=cell.title)
        rule = spec.rule(cell.rule) if cell.rule else None
        rule_args = dict(rule_title=rule.title if rule else "", rule_title_en=rule.title_en if rule else "")
        if raw.formula is None:  # typed over
            found = raw.value
            number, _ = parse_number(cell.type, found) if found is not None else (None, None)
            if number is not None and number == expected:
                yield FORMULA_REPLACED.at(**common, found=number)
            else:
                yield rule_code(spec, cell.rule).at(
                    **common, **rule_args, found="（空）" if found is None else found, expected=expected,
                    formula_replaced=True,
                    fix="合计应由公式自动计算：请使用原模板（不要手填合计），并核对各分项。",
                    fix_en="Totals are computed by formula: use the original template (do not type totals) and check the parts.")
            continue
        if _norm_formula(raw.formula) != _norm_formula(cell.formula or ""):
            cached, _ = parse_number(cell.type, raw.cached) if raw.cached is not None else (None, None)
            if cached is not None and cached != expected:
                yield rule_code(spec, cell.rule).at(
                    **common, **rule_args, found=cached, expected=expected, formula_found=raw.formula,
                    fix=f"公式被改成了“{raw.formula}”：请使用原模板，不要修改公式。",
                    fix_en=f"The formula was changed to {raw.formula}: use the original template.")
            elif cached is None:    # no result saved, or #REF!/text: nothing to say it agrees
                yield FORMULA_CHANGED_UNVERIFIED.at(**common, found=raw.formula, expected=cell.formula,
                                                    shown="（无）" if raw.cached is None else raw.cached, computed=expected)
            else:
                yield FORMULA_CHANGED.at(**common, found=raw.formula, expected=cell.formula)
            continue
        if raw.cached is not None and not bad_inputs:
            cached, _ = parse_number(cell.type, raw.cached)
            if cached is not None and cached != expected:
                yield STALE_CACHED.at(**common, found=cached, expected=expected)


def _tainted(layout: Layout, bad_inputs: set[str]) -> set[str]:
    """Unreadable inputs and every computed cell that reads one: checks over them would only
    repeat the input's own finding."""
    tainted = set(bad_inputs)
    for cell in layout.computed():
        if tainted.intersection(cell.depends):
            tainted.add(cell.id)
    return tainted


def _checks(spec: FormSpec, layout: Layout, values: dict[str, Any], broken: set[str],
            tainted: set[str]) -> Iterator[Finding]:
    numeric = {k: (v if isinstance(v, (int, Decimal)) else None) for k, v in values.items()}
    for result in model_for(layout).run_checks(numeric):
        ch = result.check
        if result.ok or ch.sheet in broken or tainted.intersection(ch.lhs_ids + ch.rhs_ids):
            continue
        rule = spec.rule(ch.rule)
        yield rule_code(spec, ch.rule).at(
            sheet=ch.sheet, cell=ch.a1, ids=[*ch.lhs_ids, *ch.rhs_ids], column=ch.key_label,
            axis="列" if rule.for_each == "column" else "行",
            lhs=result.lhs, rhs=result.rhs, lhs_label=_side_label(layout, ch.lhs_ids),
            rhs_label=_side_label(layout, ch.rhs_ids), rule_title=rule.title, rule_title_en=rule.title_en)


def _side_label(layout: Layout, ids: tuple[str, ...]) -> str:
    """'一、本年新收… + 二、上年结转…' from the cells of one side of a check."""
    return " + ".join(layout.cells[i].label_path[-1] for i in ids)
