"""Label comparison: published labels against the spec's, tolerant of how reports are printed.

Published copies break labels over lines, put spaces inside them, print `1、` for `1.`,
half-width brackets and quotes, and the odd typo (2.其他法律行政止公开). `norm` removes what
printing changes; `fits` accepts a typo only when one spec label is clearly the nearest and
carries the same enumeration mark, so a typo never moves a row onto its neighbour.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import TypeVar

T = TypeVar("T")

_QUOTES = dict.fromkeys(map(ord, "“”\"'‘’「」『』"), None)
_ENUM_COMMA = re.compile(r"^(\d+)[、,]")                  # 1、 -> 1.
_MARK = re.compile(r"^(\d+\.|\([一二三四五六七八九十]+\)|[一二三四五六七八九十]+、)")
TYPO_RATIO = 0.75      # how alike a misprinted label must be to the spec's
TYPO_MARGIN = 0.1      # and how much nearer than the next candidate


def norm(text: str | None) -> str:
    """A label as compared: NFKC (full-width brackets and digits), no whitespace, no quotes, 1、 as 1."""
    t = unicodedata.normalize("NFKC", text or "")
    t = "".join(t.split()).translate(_QUOTES)
    return _ENUM_COMMA.sub(r"\1.", t).rstrip("：:")


def mark(label: str) -> str:
    """The enumeration mark a normalised label starts with (1. / (一) / 三、), or ''."""
    m = _MARK.match(label)
    return m.group(1) if m else ""


def best(text: str, candidates: Iterable[tuple[str, T]]) -> T | None:
    """The candidate whose (spec) label `text` is: equal after `norm`, else an unambiguous typo."""
    t = norm(text)
    if not t:
        return None
    scored = []
    for label, obj in candidates:
        n = norm(label)
        if n == t:
            return obj
        scored.append((SequenceMatcher(None, t, n).ratio(), n, obj))
    scored.sort(key=lambda s: -s[0])
    if not scored:
        return None
    ratio, label, obj = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if ratio >= TYPO_RATIO and ratio - runner_up >= TYPO_MARGIN and mark(label) == mark(t):
        return obj
    return None


_NUMBERISH = re.compile(r"^([+\-−增减]?[\d,，.]+(万元|元|万|件|个|项|次|份|人)?|[-—–/无])$")


def numberish(text: str) -> bool:
    """Whether printed text stands in a number's place (a number, maybe with a unit or a sign
    word, or a dash or 无 for nothing): a value cell, to be read or flagged, never a label."""
    return bool(_NUMBERISH.match(norm(text)))
