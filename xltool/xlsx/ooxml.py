"""SpreadsheetML reading rules the fast reader's workbook and sheet readers share, each the way
openpyxl applies it: elements matched by local name, attribute booleans, rich text, cell
references and ranges, row numbers and the numbers a cell stores.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree as ET

from xltool.cells import column_index, coordinate
from xltool.xlsx.package import REL_NS, local_name

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_MAIN_T = MAIN + "t"
R_ID = "{%s}id" % REL_NS

_CANONICAL_RANGE = re.compile(r"\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})(?::\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6}))?")
# How the file format writes a number (xsd:double's lexical form, less INF and NaN): ASCII only.
_STORED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class FastReadUnsupported(ValueError):
    """The file uses something this reader does not reproduce; read it with read.read_workbook."""


def children(parent: ET.Element | None, name: str) -> list[ET.Element]:
    """The children with this local name, in any namespace (as openpyxl's object loading matches)."""
    if parent is None:
        return []
    suffix = "}" + name
    return [el for el in parent if el.tag.endswith(suffix) or el.tag == name]


def last_child(parent: ET.Element, name: str) -> ET.Element | None:
    """openpyxl's object loading keeps the last of repeated single children, matched by local name."""
    found = children(parent, name)
    return found[-1] if found else None


def xml_bool(text: str | None, default: bool) -> bool:
    """An attribute read like openpyxl's Bool descriptor."""
    if text is None:
        return default
    return text not in ("false", "f", "0", "")


def text_content(node: ET.Element) -> str:
    """openpyxl's Text.content: the plain <t> (the last one) followed by every run's <t>."""
    if len(node) == 1 and node[0].tag == _MAIN_T:     # most strings: one plain <t>
        return node[0].text or ""
    own: str | None = None
    runs: list[str] = []
    for child in node:
        name = local_name(child.tag)
        if name == "t":
            own = child.text
        elif name == "r":
            run = last_child(child, "t")
            if run is not None and run.text is not None:
                runs.append(run.text)
    return (own or "") + "".join(runs)


def coordinate_to_tuple(ref: str) -> tuple[int, int]:
    """(row, column), 1-based, as openpyxl.utils.cell.coordinate_to_tuple."""
    found = coordinate(ref)
    if found is not None:
        return found
    from openpyxl.utils.cell import coordinate_to_tuple as reference  # "a1", "A01", "A0": rare
    return reference(ref)


def range_bounds(ref: str) -> tuple[int | None, int | None, int | None, int | None]:
    """(min_col, min_row, max_col, max_row) as openpyxl.utils.cell.range_boundaries."""
    m = _CANONICAL_RANGE.fullmatch(ref)
    if m:
        c1, r1, c2, r2 = m.groups()
        min_col, min_row = column_index(c1), int(r1)
        if c2 is None:
            return min_col, min_row, min_col, min_row
        return min_col, min_row, column_index(c2), int(r2)
    from openpyxl.utils.cell import (
        range_boundaries,  # openpyxl is slow to import: only for what the fast paths do not cover
    )
    return range_boundaries(ref)


def merge_bounds(ref: str | None) -> tuple[int, int, int, int]:
    """A merged range as (min_row, min_col, max_row, max_col), validated like openpyxl's CellRange."""
    if ref is None or "!" in ref:
        raise FastReadUnsupported(f"merged range {ref!r}")
    min_col, min_row, max_col, max_row = range_bounds(ref)
    if None in (min_col, min_row, max_col, max_row):
        raise FastReadUnsupported(f"merged range {ref!r}")
    if min_col > max_col or min_row > max_row:
        raise ValueError(f"{ref} is not a valid merged range")
    return min_row, min_col, max_row, max_col


def parse_row_number(text: str) -> int:
    """A row's r="" as openpyxl's WorkSheetParser.parse_row reads it."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if value.is_integer():
            return int(value)
        raise ValueError(f"{text} is not a valid row number")


def cast_number(text: str) -> int | float | str:
    """A number cell's stored text as openpyxl's _cast_number reads it (int, or float when it
    has a fraction or an exponent), but only when it is written as the file format writes
    numbers; any other text ('٣٥', '３５', '1_000', ' 35', 'NaN') stays the text it is."""
    if text.isascii() and text.isdigit():     # most counts: no regex needed
        return int(text)
    if _STORED_NUMBER.fullmatch(text) is None:
        return text
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def plain(value: Any) -> Any:
    """A value read.py keeps as the text a person would see: dates and times as ISO text, an
    object with a text (an array formula) as that text, anything else as str()."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


PROTECTION_HASH_KEYS = ("password", "algorithmName", "hashValue", "saltValue", "spinCount")
_HASH_TEXT = re.compile(r"[A-Za-z0-9+/=\-]{1,200}")


def protection_hash(get) -> dict[str, str]:
    """The password-hash attributes of a sheetProtection (by `get(name)`), bounded and plain:
    only short hex/base64/name text is kept, so nothing odd goes into a feedback workbook."""
    out = {}
    for key in PROTECTION_HASH_KEYS:
        value = get(key)
        if value is not None and _HASH_TEXT.fullmatch(str(value)):
            out[key] = str(value)
    return out
