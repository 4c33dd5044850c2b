"""Cell names: A1 references and column letters to row/column numbers and back.

The one place that converts between them, for the guard's sheet scan, the fast reader, the
form layout, the feedback workbook and the order of findings; so it sits below every stage
(it imports nothing of xltool). Two numberings are in use and the names say which:
`a1`/`parse_a1` are 0-based (row, col), as xlsxwriter and the layout count; `column_index`,
`column_letter` and `coordinate` are 1-based, as the file format and openpyxl count.
"""

from __future__ import annotations

import re

_CANONICAL_CELL = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_COLUMN_INDEX: dict[str, int] = {}
# coordinate()'s answers: the same references recur in every file. Read-only outside this module: a
# loop over thousands of cells may look a reference up here before it calls coordinate().
KNOWN_COORDINATES: dict[str, tuple[int, int]] = {}
_CACHE_LIMIT = 100_000


def column_index(letters: str | bytes) -> int:
    """1-based column number of column letters ('A' is 1, 'AA' 27); lower case counts as upper."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    index = _COLUMN_INDEX.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + ord(ch) - 64
        if len(_COLUMN_INDEX) < _CACHE_LIMIT:
            _COLUMN_INDEX[letters] = index
    return index


def column_letter(index: int) -> str:
    """The letters of the 1-based column `index` (1 is 'A', 27 'AA'); '' for 0 or less."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def a1(row: int, col: int, absolute: bool = False) -> str:
    """The A1 name of the 0-based (row, col); '$D$5' when absolute."""
    letters = column_letter(col + 1)
    return f"${letters}${row + 1}" if absolute else f"{letters}{row + 1}"


def parse_a1(ref: str) -> tuple[int, int]:
    """0-based (row, col) of an A1 name such as 'D5', '$d$5'."""
    ref = ref.replace("$", "").upper()
    letters = "".join(ch for ch in ref if ch.isalpha())
    return int(ref[len(letters):]) - 1, column_index(letters) - 1


def coordinate(ref: str) -> tuple[int, int] | None:
    """1-based (row, column) of a canonical reference as the file formats write them ('D5':
    upper-case letters, a row without leading zeros); None for anything else."""
    found = KNOWN_COORDINATES.get(ref)
    if found is not None:
        return found
    m = _CANONICAL_CELL.fullmatch(ref)
    if m is None:
        return None
    found = int(m.group(2)), column_index(m.group(1))
    if len(KNOWN_COORDINATES) < _CACHE_LIMIT:
        KNOWN_COORDINATES[ref] = found
    return found
