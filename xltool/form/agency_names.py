"""Agency names as clerks type them: one normal form for comparison, and near misses.

A clerk types `某某区(教育)局 ` (half-width brackets, a trailing space) for the roster's
`某某区（教育）局`: the same agency. Names are compared after NFKC (full-width letters, digits,
brackets and spaces become their plain forms), with every kind of bracket made one and all
white space removed. A near miss (某某区教育局 against 某某区教育体育局) is a different name:
it is only ever *suggested*, never merged, because two real agencies can differ by two
characters (某某区教育局 and 某某区体育局).

Near misses use difflib's ratio from the standard library: a roster has hundreds of names and a
run a handful of unmatched returns, so speed is no concern, and rapidfuzz would add a compiled
dependency to every install for nothing.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

NEAR_MISS_RATIO = 0.75     # 某某区教育局 vs 某某区教育体育局: 0.857; 某某区教育局 vs 某某区司法局: 0.667
MAX_SUGGESTIONS = 3
MAX_NAME = 200             # a name typed in a return can be any length; difflib is quadratic in it
_OPEN = str.maketrans({"[": "(", "【": "(", "〔": "(", "［": "(", "｛": "(", "{": "(", "〖": "(",
                       "]": ")", "】": ")", "〕": ")", "］": ")", "｝": ")", "}": ")", "〗": ")"})
_SPACE = re.compile(r"\s+")


def normal_name(name: str | None) -> str:
    """The form two names are compared in: NFKC, one kind of bracket, no white space, casefolded."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", str(name)).translate(_OPEN)
    return _SPACE.sub("", text).casefold()


def normal_code(code: str | None) -> str:
    """A 统一社会信用代码 for comparison: NFKC, no spaces or dashes, upper case."""
    if not code:
        return ""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(code))).upper()


def near_misses(name: str, candidates: list[str]) -> list[str]:
    """Roster names close to `name` but not the same, best first (at most MAX_SUGGESTIONS)."""
    key = normal_name(name)[:MAX_NAME]
    if not key:
        return []
    scored = []
    for candidate in candidates:
        other = normal_name(candidate)[:MAX_NAME]
        if other == key:
            continue
        ratio = difflib.SequenceMatcher(None, key, other, autojunk=False).ratio()
        if ratio >= NEAR_MISS_RATIO:
            scored.append((-ratio, candidate))
    return [c for _, c in sorted(scored)[:MAX_SUGGESTIONS]]
