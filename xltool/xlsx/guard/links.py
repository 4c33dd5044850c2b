r"""Other files a formula names: 'C:\dir\[book.xlsx]Sheet'!A1, [book.xlsx]Sheet!A1, and Excel's
own [1]Sheet1!A1 that indexes the workbook's external references. Reported, never followed."""

from __future__ import annotations

import re

# A workbook named in a formula: 'C:\dir\[book.xlsx]Sheet'!A1, '\\server\[b.xls]S'!A1, [b.xlsx]S!A1
_FILE_IN_FORMULA = re.compile(
    r"((?:[A-Za-z]:[\\/]|\\\\|/|https?://|file:/+)[^'\[\]!]*)?\[([^\[\]]+\.(?:xl[a-z]{1,2}|et|ett|csv))\]",
    re.IGNORECASE)
# Excel's own form, [1]Sheet1!A1, indexing <externalReferences>. Not a table reference:
# Table1[1] follows a name, and a nested [[#This Row],[1]] is followed by ']'.
_LINK_INDEX_IN_FORMULA = re.compile(r"(?<![\w\].])\[(\d{1,6})\](?=[^\]\s,:;)])")
_STRING_LITERAL = re.compile(r'"[^"]*"')


def external_targets_in_formula(formula: str, link_targets: list[str]) -> list[str]:
    formula = _STRING_LITERAL.sub('""', formula)      # "[1]" inside a string is just text
    targets = [prefix + name for prefix, name in _FILE_IN_FORMULA.findall(formula)]
    for index in map(int, _LINK_INDEX_IN_FORMULA.findall(formula)):
        targets.append(link_targets[index - 1] if 1 <= index <= len(link_targets) else f"[{index}]")
    return targets

