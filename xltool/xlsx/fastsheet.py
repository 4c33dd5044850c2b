"""One worksheet part read the way openpyxl's full load plus read.py's loops see it: the cells
(values typed by the workbook reader, formulas, the stored results of formulas), merged ranges
and the protection they pass on, hyperlinks and comments (which widen the sheet and may give
an empty cell a value), and the sheet's protection. Part of fastread (see its docstring).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any
from xml.etree import ElementTree as ET

from xltool.cells import KNOWN_COORDINATES, coordinate
from xltool.xlsx.model import CellData, SheetData
from xltool.xlsx.ooxml import (
    MAIN,
    R_ID,
    FastReadUnsupported,
    cast_number,
    children,
    coordinate_to_tuple,
    last_child,
    merge_bounds,
    parse_row_number,
    plain,
    protection_hash,
    range_bounds,
    xml_bool,
)
from xltool.xlsx.package import REL_NS, Relationship, relationships_part
from xltool.xlsx.repeated_parts import PartRecord

_ROW, _F, _V = MAIN + "row", MAIN + "f", MAIN + "v"
_MERGE_CELLS, _SHEET_PROTECTION, _HYPERLINKS = MAIN + "mergeCells", MAIN + "sheetProtection", MAIN + "hyperlinks"
_COMMENTS_REL = REL_NS + "/comments"
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
MAX_MERGE_AREA = 1_000_000               # merged cells painted inside the read bounds

@dataclass
class SheetEntry:
    raw_name: str
    title: str
    state: str
    part: str



# A parsed cell: (t attribute, s attribute, element, formula text or None).
_Raw = tuple
_Link = tuple      # (ref, the text openpyxl writes into an empty cell under the link, or None)


class SheetReader:
    """One worksheet part, read the way openpyxl's full load plus read.py's loops see it."""

    def __init__(self, book: Any, entry: SheetEntry, cached_from_own_part: bool):
        # book: fastread's workbook reader, for its parts (xml, relationships), styles,
        # read bounds and typed_value; not imported, as fastread imports this module
        self.book = book
        self.entry = entry
        self.cached_from_own_part = cached_from_own_part
        self.cells: dict[tuple[int, int], _Raw] = {}              # last one wins, like openpyxl's dict
        self.row_runs: list[tuple[int, list[tuple[int, _Raw]]]] = []   # rows in file order, for cached values
        self.shared_formulas: dict[str | None, Any] = {}
        self._rels: list[Relationship] | None = None

    def read(self) -> SheetData:
        root = self.book.xml(self.entry.part)
        record = self.book.package.record(self.entry.part)
        if record is None or relationships_part(self.entry.part) in self.book.names:
            return self._read(root)
        return self._read_again(root, record)

    def _read_again(self, root: ET.Element, record: PartRecord) -> SheetData:
        """A sheet part this process has read before, byte for byte (repeated_parts), taken from
        that reading when all else it is read with is the same: the sheet's name and state, the
        workbook's styles (the same parsed styles part), date system and read bounds. A sheet
        with relationships (comments, links) is always read for itself.

        The shared strings its cells name differ from return to return (a cover sheet names the
        agency), so the sheet is read once with a placeholder for each of them (`_Template`), and
        each return's own texts are put in their places. Nothing in a reading looks at a shared
        string's text, so this is the reading the return's own strings give."""
        try:
            indices = record.derived("fastsheet: shared strings named", lambda _: _string_indices(root))
        except ValueError:
            return self._read(root)     # reading it says what is wrong
        strings = self.book.strings
        if any(not 0 <= i < len(strings) for i in indices):
            return self._read(root)
        styles = self.book.styles
        condition = (self.entry.title, self.entry.state, self.cached_from_own_part, self.book.epoch_1904,
                     self.book.max_rows, self.book.max_cols, id(styles))
        template = record.latest("fastsheet: sheet", condition, lambda _: self._template(root, indices))
        if template.styles is not styles:   # another styles object under a reused id: read for itself
            return self._read(root)
        return template.filled(strings)

    def _template(self, root: ET.Element, indices: tuple[int, ...]) -> _Template:
        placeholders = _placeholders(indices)
        real, self.book.strings = self.book.strings, placeholders
        try:    # by a reader of its own: this one stays unread, should the template not serve
            sheet = SheetReader(self.book, self.entry, self.cached_from_own_part)._read(root)
        finally:
            self.book.strings = real
        return _Template(self.book.styles, sheet, placeholders)

    def _read(self, root: ET.Element) -> SheetData:
        self._read_rows(root)
        protection = _last(root.iter(_SHEET_PROTECTION))
        sheet = SheetData(self.entry.title, self.entry.state, _protected(protection))
        sheet.protection_hash = protection_hash(protection.get if protection is not None else lambda _: None)
        merges, links = self._merges(root), self._hyperlinks(root)
        sheet.merges = {(r1 - 1, c1 - 1, r2 - 1, c2 - 1) for r1, c1, r2, c2 in merges}
        rows, cols = self._bounds(merges, links)
        sheet.max_row, sheet.max_col = rows - 1, cols - 1
        merged = _MergedArea(rows, cols)
        locked_styles = self.book.styles.locked
        for bounds in merges:
            merged.paint(bounds, lambda at: self._own_locked(at, locked_styles, merged))
        self._fill(sheet, merged, _link_texts(links, merges, merged))
        return sheet

    def _bounds(self, merges: list[tuple[int, int, int, int]], links: list[_Link]) -> tuple[int, int]:
        """read.py's bounds: openpyxl's max_row/max_column, capped at max_rows/max_cols."""
        extent = _Extent(self.cells)
        for _, _, max_row, max_col in merges:
            extent.add(max_row, max_col)
        for ref, _ in links:
            extent.touch(ref)
        for ref in self._comment_refs():
            extent.touch(ref)
        return min(extent.max_row(), self.book.max_rows), min(extent.max_col(), self.book.max_cols)

    def relationships(self) -> list[Relationship]:
        if self._rels is None:
            self._rels = self.book.relationships(self.entry.part) or []
        return self._rels

    # ---- rows and cells

    def _read_rows(self, root: ET.Element) -> None:
        row_number = 0
        for row in root.iter(_ROW):
            if next(islice(row.iter(_ROW), 1, None), None) is not None:
                raise FastReadUnsupported("a row inside a row")    # openpyxl would read the inner one first
            ref = row.get("r")
            row_number = row_number + 1 if ref is None else parse_row_number(ref)
            self.row_runs.append((row_number, self._read_cells(row, row_number)))

    def _read_cells(self, row: ET.Element, row_number: int) -> list[tuple[int, _Raw]]:
        run = []
        column = 0
        cells = self.cells
        known = KNOWN_COORDINATES.get     # coordinate()'s own answers, looked up here: a call less a cell
        for el in row:
            get = el.get
            ref = get("r")
            if ref:
                at = known(ref) or coordinate(ref) or coordinate_to_tuple(ref)
                column = at[1]
            else:
                column += 1
                at = (row_number, column)
            f = el.find(_F) if len(el) else None
            raw = (get("t", "n"), get("s", 0), el, None if f is None else self._formula(f, ref))
            cells[at] = raw
            run.append((column, raw))
        return run

    def _formula(self, f: ET.Element, ref: str | None) -> str:
        """The formula text openpyxl keeps (WorkSheetParser.parse_formula)."""
        text = "=" + (f.text or "")
        kind = f.get("t")
        if kind == "array":
            return text         # read.py's str(ArrayFormula) is an object repr; the text is what it means
        if kind == "dataTable":
            return f"=TABLE({f.get('r1') or ''},{f.get('r2') or ''})"
        if kind == "shared":
            key = f.get("si")
            if key in self.shared_formulas:
                return self.shared_formulas[key].translate_formula(ref)
            if text != "=":
                from openpyxl.formula.translate import (
                    Translator,  # openpyxl is slow to import: only for what the fast paths do not cover
                )
                self.shared_formulas[key] = Translator(text, ref)
        return text

    # ---- merges, hyperlinks, comments

    def _merges(self, root: ET.Element) -> list[tuple[int, int, int, int]]:
        merge_cells = _last(root.iter(_MERGE_CELLS))
        return [merge_bounds(el.get("ref")) for el in children(merge_cells, "mergeCell")]

    def _hyperlinks(self, root: ET.Element) -> list[_Link]:
        """Each hyperlink's ref and the text openpyxl gives an empty cell under it: the
        relationship's target, else the `location`."""
        links = []
        for el in children(_last(root.iter(_HYPERLINKS)), "hyperlink"):
            target = el.get("target")
            rel_id = el.get(R_ID)
            if rel_id:
                rel = next((r for r in self.relationships() if r.id == rel_id), None)
                if rel is None:
                    raise KeyError(f"Unknown relationship: {rel_id}")
                target = rel.target
            links.append((el.get("ref"), target or el.get("location")))
        return links

    def _comment_refs(self) -> Iterable[str]:
        for rel in self.relationships():
            if rel.type != _COMMENTS_REL:
                continue
            comment_list = last_child(self.book.xml(rel.target), "commentList")
            for el in [] if comment_list is None else list(comment_list):
                yield el.get("ref")

    # ---- the cells read.py keeps

    def _fill(self, sheet: SheetData, merged: _MergedArea, link_texts: dict[tuple[int, int], str]) -> None:
        """The cells read.py keeps inside the bounds (0-based in the output)."""
        rows, cols = merged.rows, merged.cols
        locked_styles = self.book.styles.locked
        replaced, merged_locked = merged.replaced, merged.locked
        book = self.book
        value_of, strings, date_styles = book.typed_value, book.strings, book.date_styles
        out = sheet.cells
        new_cell = tuple.__new__    # CellData(value, None, None, locked) without its generated __new__
        formulas = []       # their stored results are looked up together, below
        for at, (t, s, el, formula) in self.cells.items():
            r, c = at
            if not (0 < r <= rows and 0 < c <= cols) or at in replaced:
                continue
            style = int(s) if s else s      # a missing s is 0; an empty one stays "" and fails, as in openpyxl
            locked = locked_styles[style]
            if formula is not None:
                formulas.append((at, formula, locked))
                continue
            # typed_value's two commonest cases inline: a shared string, a number not in a date style
            if t == "s":
                text = el.findtext(_V)
                value = strings[int(text)] if text else None
            elif t == "n" and style not in date_styles:
                text = el.findtext(_V)
                value = cast_number(text) if text else None
            else:
                value = value_of(t, style, el)
            if value is None and at in link_texts:
                value, formula = _written(link_texts[at])
                if formula is not None:
                    formulas.append((at, formula, locked))
                    continue
            if value is None:
                if at in merged_locked:
                    out[(r - 1, c - 1)] = CellData(None, None, None, locked)
                elif not locked:
                    out[(r - 1, c - 1)] = CellData(None, locked=False)
                continue
            if not isinstance(value, (int, float, str)):
                value = plain(value)
            out[(r - 1, c - 1)] = new_cell(CellData, (value, None, None, locked))
        for at in (merged_locked.keys() | link_texts.keys()) - self.cells.keys() - replaced:
            # cells openpyxl made: a merged range's missing first cell, a cell under a hyperlink
            value, formula = _written(link_texts[at]) if at in link_texts else (None, None)
            if formula is not None:
                formulas.append((at, formula, True))
            elif value is not None or at in merged_locked:
                out[(at[0] - 1, at[1] - 1)] = CellData(value, None, None, merged_locked.get(at, True))
        for at in replaced:         # the MergedCells that took the other cells' places
            out[(at[0] - 1, at[1] - 1)] = CellData(None, None, None, merged_locked[at])
        cached = self._cached_results([at for at, _, _ in formulas])
        for (r, c), formula, locked in formulas:
            out[(r - 1, c - 1)] = CellData(None, formula, cached.get((r, c)), locked)

    def _own_locked(self, at: tuple[int, int], locked_styles: list[bool], merged: _MergedArea) -> bool:
        """The protection a merged range's first cell passes on to the range."""
        if at in merged.locked:
            return merged.locked[at]
        raw = self.cells.get(at)
        return True if raw is None else locked_styles[_style_index(raw[1])]

    def _cached_results(self, formula_cells: list[tuple[int, int]]) -> dict[tuple[int, int], Any]:
        """What read.py's read-only pass finds for these formula cells: rows in file order up
        to the last formula row; a row numbered at or below one already seen is skipped, and
        a cell lands in the column it names but in the row of the <row> that holds it."""
        if not formula_cells:
            return {}
        if not self.cached_from_own_part:
            raise FastReadUnsupported("a renamed sheet with formulas")   # openpyxl reads another part then
        wanted = set(formula_cells)
        top = max(r for r, _ in wanted)
        out: dict[tuple[int, int], Any] = {}
        next_row = 1
        for row_number, run in self.row_runs:
            if row_number > top:
                break
            if row_number < next_row:
                continue
            next_row = row_number + 1
            for column, (t, s, el, _) in run:
                if (row_number, column) in wanted:
                    out[(row_number, column)] = self.book.typed_value(t, _style_index(s), el)
        return out


# A shared string's place in a template: no text read from XML can hold a NUL.
_PLACEHOLDER = "\x00xltool shared string {}\x00"


def _placeholders(indices: tuple[int, ...]) -> list[str | None]:
    """A list to stand for the shared strings, with a placeholder at each index the sheet names."""
    placeholders: list[str | None] = [None] * (max(indices) + 1 if indices else 0)
    for i in indices:
        placeholders[i] = _PLACEHOLDER.format(i)
    return placeholders


class _Template:
    """A sheet read with placeholders for its shared strings, and where each of them landed."""

    def __init__(self, styles: Any, sheet: SheetData, placeholders: list[str | None]):
        self.styles = styles        # the parsed styles it was read with
        self.sheet = sheet
        index_of = {text: i for i, text in enumerate(placeholders) if text is not None}
        self.places = [(at, index_of.get(cell.value), index_of.get(cell.cached)) for at, cell in sheet.cells.items()
                       if (type(cell.value) is str and cell.value in index_of)
                       or (type(cell.cached) is str and cell.cached in index_of)]

    def filled(self, strings: list[str]) -> SheetData:
        """The sheet as read with these shared strings: its own containers, the cells immutable."""
        sheet = self.sheet
        cells = dict(sheet.cells)
        for at, value_index, cached_index in self.places:
            cell = cells[at]
            cells[at] = cell._replace(value=cell.value if value_index is None else strings[value_index],
                                      cached=cell.cached if cached_index is None else strings[cached_index])
        return SheetData(sheet.name, sheet.state, sheet.protected, dict(sheet.protection_hash), cells,
                         set(sheet.merges), sheet.max_row, sheet.max_col)


def _string_indices(root: ET.Element) -> tuple[int, ...]:
    """The shared strings a sheet's cells name, as typed_value finds them (every child of a row is
    a cell to _read_cells): ValueError for one that is not a number."""
    return tuple(int(text) for row in root.iter(_ROW) for el in row
                 if el.get("t") == "s" and (text := el.findtext(_V)))


def _protected(protection: ET.Element | None) -> bool:
    """openpyxl's SheetProtection.sheet; a password turns protection on when it is read."""
    if protection is None:
        return False
    return xml_bool(protection.get("sheet"), False) or protection.get("password") is not None


def _link_texts(links: list[_Link], merges: list[tuple[int, int, int, int]],
                merged: _MergedArea) -> dict[tuple[int, int], str]:
    """The cells inside the bounds that a hyperlink gives a value if they are empty (the first
    link with a text wins): every plain cell of a range; a single merged cell sends it to its
    range's first cell."""
    texts: dict[tuple[int, int], str] = {}
    for ref, text in links:
        if text is None:
            continue
        if ":" not in ref:
            min_col, min_row, _, _ = range_bounds(ref)
            if min_row is None or min_col is None:
                raise TypeError(f"a hyperlink on a whole row or column: {ref}")   # openpyxl fails on it too
            at = (min_row, min_col)
            if _is_merged_cell(at, merges):
                covering = [m for m in merges if _contains(m, at)]
                if len(covering) > 1:
                    raise FastReadUnsupported("a hyperlink on overlapping merged ranges")
                at = covering[0][:2]
                if _is_merged_cell(at, merges):
                    raise AttributeError("a hyperlink sent to a merged cell")    # openpyxl fails the same way
            if merged.inside(at):
                texts.setdefault(at, text)
            continue
        min_col, min_row, max_col, max_row = range_bounds(ref)
        if None in (min_col, min_row, max_col, max_row):
            raise FastReadUnsupported(f"a hyperlink on whole rows or columns: {ref}")
        for at in merged.cells_inside(min_row, min_col, max_row, max_col):
            if at not in merged.replaced:
                texts.setdefault(at, text)
    return texts


def _contains(bounds: tuple[int, int, int, int], at: tuple[int, int]) -> bool:
    return bounds[0] <= at[0] <= bounds[2] and bounds[1] <= at[1] <= bounds[3]


def _is_merged_cell(at: tuple[int, int], merges: list[tuple[int, int, int, int]]) -> bool:
    """Whether openpyxl put a MergedCell here: inside some merged range other than as its first cell."""
    return any(_contains(m, at) and m[:2] != at for m in merges)


def _written(text: str) -> tuple[str | None, str | None]:
    """(value, formula) of a cell openpyxl sets to this text (Cell.value's type guess)."""
    text = text[:32767]
    if _ILLEGAL_CHARACTERS.search(text):
        raise ValueError(f"{text} cannot be used in worksheets.")
    if len(text) > 1 and text.startswith("="):
        return None, text
    return text, None


def _style_index(s: Any) -> int:
    return int(s) if s else s      # openpyxl keeps a missing s as 0 and an empty one as "" (an error later)


def _last(elements: Iterable[ET.Element]) -> ET.Element | None:
    last = None
    for last in elements:  # noqa: B007  (the loop leaves the last element in `last`)
        pass
    return last


class _Extent:
    """openpyxl's max_row/max_column: over every cell it holds, including the ones it makes
    for merged ranges, hyperlinks and comments."""

    def __init__(self, cells: dict[tuple[int, int], Any]):
        self.rows = max(cells)[0] if cells else None
        self.cols = max(map(itemgetter(1), cells)) if cells else None

    def max_row(self) -> int:
        return 1 if self.rows is None else self.rows

    def max_col(self) -> int:
        return 1 if self.cols is None else self.cols

    def add(self, row: int, col: int) -> None:
        self.rows = row if self.rows is None else max(self.rows, row)
        self.cols = col if self.cols is None else max(self.cols, col)

    def touch(self, ref: str | None) -> None:
        """The cells `ws[ref]` creates (Worksheet.__getitem__), as far as the extent goes."""
        if ref is None:
            raise TypeError("a hyperlink or comment without a cell reference")
        min_col, min_row, max_col, max_row = range_bounds(ref)
        if not any((min_col, min_row, max_col, max_row)):
            raise IndexError(f"{ref} is not a valid coordinate or range")
        if min_row is None:         # whole columns: rows 1..max_row
            if self.max_row() >= 1:
                self.add(self.max_row(), max_col)
        elif min_col is None:       # whole rows: columns 1..max_column
            if self.max_col() >= 1:
                self.add(max_row, self.max_col())
        elif ":" not in ref:        # one cell
            if not 0 < min_row < 1048577:
                raise ValueError(f"Row numbers must be between 1 and 1048576. Row number supplied was {min_row}")
            self.add(min_row, min_col)
        elif min_row <= max_row and min_col <= max_col:
            if min_row < 1 or min_col < 1:
                raise ValueError("Row or column values must be at least 1")
            if max_row >= 1048577:
                raise ValueError(f"Row numbers must be between 1 and 1048576. Row number supplied was {max_row}")
            self.add(max_row, max_col)


class _MergedArea:
    """Merged cells inside the read bounds, as openpyxl leaves them after merging each range
    in file order: every cell but the first becomes a new empty MergedCell, then every cell
    of the range takes the first cell's protection (so a later range overrides an earlier)."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.locked: dict[tuple[int, int], bool] = {}   # every merged cell in bounds
        self.replaced: set[tuple[int, int]] = set()     # became a MergedCell: its value is gone
        self.area = 0

    def inside(self, at: tuple[int, int]) -> bool:
        return 0 < at[0] <= self.rows and 0 < at[1] <= self.cols

    def cells_inside(self, min_row: int, min_col: int, max_row: int, max_col: int) -> list[tuple[int, int]]:
        """The cells of a range inside the bounds, counted against the work budget."""
        top, bottom = max(min_row, 1), min(max_row, self.rows)
        left, right = max(min_col, 1), min(max_col, self.cols)
        if top > bottom or left > right:
            return []
        self.area += (bottom - top + 1) * (right - left + 1)
        if self.area > MAX_MERGE_AREA:
            raise FastReadUnsupported("too many merged or linked cells")
        return [(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)]

    def paint(self, bounds: tuple[int, int, int, int], first_cell_locked: Callable[[tuple[int, int]], bool]) -> None:
        cells = self.cells_inside(*bounds)
        if not cells:
            return
        first = bounds[:2]
        locked = first_cell_locked(first)
        for at in cells:
            self.locked[at] = locked
            if at != first:
                self.replaced.add(at)
