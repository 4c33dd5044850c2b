"""Cell types: every input read as its spec type says (a whole number, an amount, a text).

Fills `ctx.inputs` (by spec id), `ctx.blanks` (blank table cells, for the blanks unit) and
`ctx.bad_inputs` (cells that could not be read: later units do not repeat their findings). Text
typed into a number cell is never guessed into a value: the finding shows what it probably meant.
Numbers beyond their bounds and texts beyond their length are reported by the bounds unit's codes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from xltool.checks import bounds
from xltool.checks.context import Context
from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.layout import ValueCell
from xltool.form.spec import CellType
from xltool.xlsx.model import CellData

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

_UNITS = re.compile(r"(万元|元|万|件|个|项|次|份|人)$")
_BOUND_PROBLEMS = ("not-finite", "too-precise", "too-large")


_PLAIN_LIMIT = 10 ** bounds.MAX_DIGITS      # a whole number below this in magnitude is within every bound


def parse_number(ctype: CellType, raw: Any) -> tuple[int | Decimal | None, dict[str, Any] | None]:
    """A cell's value as the type wants it, or (None, what was wrong) for the finding."""
    whole = _plain_whole(raw)
    if whole is not None and (ctype.min is None or whole >= ctype.min) and (ctype.max is None or whole <= ctype.max):
        return whole, None     # the common case, what the general path below gives it, without Decimals
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None, {"problem": "text", "found": bounds.clip(str(raw))}
    if isinstance(raw, str):
        return None, {"problem": "text", "found": bounds.clip(raw), **_suggest(raw)}
    beyond = bounds.number_problem(ctype, raw)
    if beyond is not None:
        return None, beyond
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


def _plain_whole(raw: Any) -> int | None:
    """`raw` as an int when it is a whole number of at most 15 digits (12, 12.0), else None."""
    kind = type(raw)
    if kind is int:
        return raw if -_PLAIN_LIMIT < raw < _PLAIN_LIMIT else None
    if kind is float and raw.is_integer() and -_PLAIN_LIMIT < raw < _PLAIN_LIMIT:
        return int(raw)
    return None


def _suggest(text: str) -> dict[str, Any]:
    """What a clerk probably meant by text in a number cell (shown, never used as the value)."""
    if len(text) > 100:      # nobody types a number that long: nothing to suggest, nothing to parse
        return {}
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
    if not guess.is_finite() or len(guess.as_tuple().digits) > bounds.MAX_DIGITS:
        return {}
    shown = format(guess.normalize(), "f") if guess != guess.to_integral_value() else str(int(guess))
    return {"guess": shown}


def check(ctx: Context) -> Iterator[Finding]:
    for cell in ctx.input_cells():
        sheet = ctx.data.sheets.get(cell.sheet)
        if sheet is None or cell.sheet in ctx.broken_sheets:
            ctx.inputs[cell.id] = None
            continue
        raw = sheet.get(cell.row, cell.col) or CellData(None)
        if raw.formula is not None:
            ctx.inputs[cell.id] = None
            ctx.bad_inputs.add(cell.id)
            yield FORMULA_IN_INPUT.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=cell.title,
                                      formula=bounds.clip(raw.formula))
            continue
        v = raw.value
        if isinstance(v, str) and not v.strip():
            v = None
        if not cell.type.numeric:
            yield from _read_text(ctx, cell, v)
        elif v is None:
            _read_blank(ctx, cell)
        else:
            yield from _read_number(ctx, cell, v)


def _read_text(ctx: Context, cell: ValueCell, v: Any) -> Iterator[Finding]:
    text = _text(v)
    limit = bounds.max_length(cell.type)
    if text is not None and len(text) > limit:
        yield bounds.text_too_long(dict(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=cell.title), text, limit)
        text = text[:limit]     # cut in every output; the finding says so
    ctx.inputs[cell.id] = text


def _read_blank(ctx: Context, cell: ValueCell) -> None:
    if cell.table is None:      # a field (报告年度): blank stays blank, `required` decides
        ctx.inputs[cell.id] = None
        return
    ctx.inputs[cell.id] = 0     # a table cell: the spec's blank policy (read as 0, reported per table)
    ctx.blanks.setdefault(cell.sheet, []).append(cell)


def _read_number(ctx: Context, cell: ValueCell, v: Any) -> Iterator[Finding]:
    value, problem = parse_number(cell.type, v)
    if problem is not None:
        ctx.inputs[cell.id] = None
        ctx.bad_inputs.add(cell.id)
        yield _input_finding(cell, problem)
        return
    ctx.inputs[cell.id] = value
    if cell.type.max_decimals is not None and isinstance(value, Decimal):
        decimals = -value.as_tuple().exponent
        if decimals > cell.type.max_decimals:
            yield TOO_MANY_DECIMALS.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=cell.title,
                                       decimals=decimals, max=cell.type.max_decimals, unit=cell.type.unit or "")


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
    if problem["problem"] in _BOUND_PROBLEMS:
        return bounds.number_finding(common, t, problem)
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
