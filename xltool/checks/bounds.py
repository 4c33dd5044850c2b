"""Bounds on everything a return can make big: numbers, texts, and how many findings one check reports.

A return is hostile input. A count of 400 nines or 1e308 would overflow every sum and output; a
7 MB agency name would be copied into every report. So:

- a number must be finite, have at most 15 significant digits (what a spreadsheet keeps), and stay
  within its type's `max` (the national forms state 10^9: no agency counts a billion of anything in
  a year) or, where the type states none, within ±(10^15 - 1);
- a text must stay within its type's `max_length`, or the default for its kind (text 1,000,
  longtext 20,000 characters); a longer one is an error and is cut to the limit in every output;
- one check reports at most MAX_FINDINGS_PER_CODE findings of one code per file, then one finding
  that says how many more there are.

docs/spec-format.md ("Bounds") documents the limits for those who write specs.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from xltool.findings import ERROR, SEVERITIES, WARNING, Code, Finding
from xltool.form.spec import CellType, FormSpec

MAX_DIGITS = 15                              # Excel keeps 15 significant digits
DEFAULT_MAX_NUMBER = Decimal(10) ** MAX_DIGITS - 1
DEFAULT_MAX_LENGTH = {"text": 1_000, "longtext": 20_000}
MAX_META_LENGTH = 1_000                      # any value on the hidden identification sheet
MAX_FINDINGS_PER_CODE = 50
SHOWN_CHARS = 60                             # how much of a long text a message quotes

NUMBER_NOT_FINITE = Code(
    "number-not-finite", ERROR,
    zh="{label}（{cell}）存的是“{found}”，不是一个有限的数字。请重新填写这个格子（只填数字）。",
    en="{label} ({cell}) stores {found}, which is not a finite number. Type the number again.")
NUMBER_TOO_PRECISE = Code(
    "number-too-precise", ERROR,
    zh="{label}（{cell}）填的是 {found}，有 {digits} 位有效数字，超过表格软件能保存的 {limit} 位。请核对这个数字。",
    en="{label} ({cell}) is {found}: {digits} significant digits, more than the {limit} a spreadsheet keeps. Check the number.")
NUMBER_TOO_LARGE = Code(
    "number-too-large", ERROR,
    zh="{label}（{cell}）填的是 {found}，超出了允许的范围 {low} 至 {high}（这里应填{expected}）。一个单位一年的数字"
       "不会这么大：请核对是否多打了数字或用错了单位。",
    en="{label} ({cell}) is {found}, outside the allowed {low} to {high} ({expected_en}). No agency's yearly figure "
       "is that large: check for extra digits or a wrong unit.")
TEXT_TOO_LONG = Code(
    "text-too-long", ERROR,
    zh="{label}（{cell}）有 {length} 个字，超过上限 {limit} 个字（开头为“{start}”）。只保留了前 {limit} 个字；请精简后重新填写。",
    en="{label} ({cell}) has {length} characters, more than the limit of {limit} (it begins “{start}”). Only the "
       "first {limit} were kept; shorten it and fill it in again.")
FINDINGS_CAPPED = Code(
    "findings-capped", WARNING,
    zh="另有 {more} 处同类问题（{code}）未逐一列出（每类最多列出 {limit} 处）。请按上面的说明一并修改。",
    en="{more} more findings of the kind {code} are not listed one by one (at most {limit} per kind). Fix them the same way.")


# --- numbers -----------------------------------------------------------------------------------

def significant_digits(number: Decimal) -> int:
    """1200 -> 2, 0.0012 -> 2, 12.34 -> 4."""
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")   # not normalize(): it rounds to 28 digits
    return len(digits) or 1


def number_limits(ctype: CellType) -> tuple[Decimal, Decimal]:
    """(lowest, highest) a number of this type may be: the spec's min/max, else ±DEFAULT_MAX_NUMBER."""
    low = ctype.min if ctype.min is not None else -DEFAULT_MAX_NUMBER
    high = ctype.max if ctype.max is not None else DEFAULT_MAX_NUMBER
    return low, high


def number_problem(ctype: CellType, raw: int | float) -> dict[str, Any] | None:
    """What makes a number that a cell stores impossible to take (not finite, too precise, above the
    type's maximum), as the problem dict parse_number reports; None when it is within bounds."""
    if isinstance(raw, float) and raw != raw or raw in (float("inf"), float("-inf")):
        return {"problem": "not-finite", "found": str(raw)}
    exact = Decimal(raw) if isinstance(raw, int) else Decimal(repr(raw))
    if isinstance(raw, int) and significant_digits(exact) > MAX_DIGITS:
        return {"problem": "too-precise", "found": clip(str(raw), SHOWN_CHARS), "digits": significant_digits(exact)}
    low, high = number_limits(ctype)
    # below the minimum is out-of-range (rules of the form: -3 applications); only a magnitude no
    # figure can have is a bound
    if exact > high or abs(exact) > DEFAULT_MAX_NUMBER:
        return {"problem": "too-large", "found": format(raw, ".15g") if isinstance(raw, float) else clip(str(raw))}
    return None


def number_finding(code_args: dict[str, Any], ctype: CellType, problem: dict[str, Any]) -> Finding:
    if problem["problem"] == "not-finite":
        return NUMBER_NOT_FINITE.at(**code_args)
    if problem["problem"] == "too-precise":
        return NUMBER_TOO_PRECISE.at(**code_args, digits=problem["digits"], limit=MAX_DIGITS)
    low, high = number_limits(ctype)
    return NUMBER_TOO_LARGE.at(**code_args, low=_plain(low), high=_plain(high), expected=ctype.label or "数字",
                               expected_en=ctype.label_en or "a number")


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f") if number != number.to_integral_value() else str(int(number))


# --- texts ------------------------------------------------------------------------------------

def max_length(ctype: CellType) -> int:
    return ctype.max_length or DEFAULT_MAX_LENGTH.get(ctype.kind, DEFAULT_MAX_LENGTH["text"])


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` as a message quotes it: at most `limit` characters, then an ellipsis and the length."""
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 字）"


def text_too_long(code_args: dict[str, Any], text: str, limit: int) -> Finding:
    return TEXT_TOO_LONG.at(**code_args, length=len(text), limit=limit, start=text[:SHOWN_CHARS // 3])


def bounded_meta(meta: dict[str, str]) -> dict[str, str]:
    """The hidden sheet's values cut to MAX_META_LENGTH (its agency, region and code to their fields'
    limits later, by the metadata check): what identify hands on is never bigger than that."""
    return {k[:MAX_META_LENGTH]: v[:MAX_META_LENGTH] for k, v in list(meta.items())[:100]}


def role_limits(spec: FormSpec) -> dict[str, int]:
    """agency/region/code/year -> the maximum length of the field that has that role."""
    out = {}
    for sheet in spec.sheets:
        for f in sheet.fields:
            if f.role:
                out[f.role] = max_length(spec.types[f.type])
    return out


# --- findings per check ----------------------------------------------------------------------

def capped(findings: Iterable[Finding], limit: int = MAX_FINDINGS_PER_CODE) -> list[Finding]:
    """The first `limit` findings of each code, then one findings-capped per code that had more (with
    the worst severity of those left out, so a capped error still rejects). Consumes `findings` whole:
    the units record what they read as they go."""
    kept: list[Finding] = []
    counts: dict[str, int] = {}
    left_out: dict[str, tuple[int, str, Finding]] = {}
    for f in findings:
        counts[f.code] = counts.get(f.code, 0) + 1
        if counts[f.code] <= limit:
            kept.append(f)
            continue
        more, worst, first = left_out.get(f.code, (0, f.severity, f))
        if SEVERITIES.index(f.severity) < SEVERITIES.index(worst):
            worst = f.severity
        left_out[f.code] = (more + 1, worst, first)
    for code, (more, worst, first) in left_out.items():
        kept.append(FINDINGS_CAPPED.at(sheet=first.sheet, cell=first.cell, severity=worst, code=code, more=more,
                                       limit=limit))
    return kept
