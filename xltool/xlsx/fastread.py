"""Read a returned workbook into plain data without openpyxl: zipfile and ElementTree only.

`read_workbook_fast` gives exactly the `WorkbookData` that `read.read_workbook` gives (same
dataclasses, same values, same bounds), about 15 times faster, because it reads only what
the checks use: the workbook and its relationships, the shared strings, the cell styles'
`locked` flags and number formats, and per sheet the cells, merges, protection, hyperlink
and comment anchors. It reproduces openpyxl's reading rules, including the odd ones, since
openpyxl is the reference the tests compare with:

- cell values: `t="n"` numbers become int or float by their text; `s`, `str`, `b`, `e`,
  `inlineStr` and `d` as openpyxl types them; numbers in a date format become dates and
  then ISO text (read.py's `_plain`), cached formula results stay datetimes;
- the stored result of a formula cell is taken the way openpyxl's read-only pass finds it
  (rows in file order, a row that goes backwards is skipped);
- `locked` comes from the cell style's `<protection>` whether or not `applyProtection` is
  set, default True; the cells of a merged range take the protection of its first cell;
- a sheet's max_row/max_col count every cell the file names, merged ranges, and the cells
  openpyxl creates for hyperlinks and comments.

Numbers are read only as the file format writes them: the text of a number cell's `<v>` must be
an ASCII decimal (sign, digits, fraction, exponent). Python's int() and float() also take
'٣٥', '３５' and '1_000', which no spreadsheet program stores; such a cell keeps its text, so the
checks report at that cell that it is not a number (openpyxl's reading, in read.py, follows
the same rule).

Safety: call it only after `guard.inspect_file` accepted the file, as for read.py. The parts
come from the shared `package.Package` (the guard's own when `returned.open_return` reads the
file), which parses XML with the C ElementTree only once the part is known to have no DTD.
lxml is not used: it parses faster, but
reaching its elements from Python costs more than it saves here (measured on the 2021 form:
1.5 ms against 1.0 ms per workbook for the sheet parts) and it would be one more binary
dependency. Every part is read with a size cap, so memory stays bounded.

Things it does not reproduce raise `FastReadUnsupported`; read the file with
`read.read_workbook` then. openpyxl imports only when a file needs it: dates, shared
formulas, unusual cell references, duplicate sheet names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from xltool.xlsx.cells import column_index, coordinate
from xltool.xlsx.model import CellData, SheetData, WorkbookData
from xltool.xlsx.package import MAX_PART_BYTES, REL_NS, Package, PartTooLarge, Relationship

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = REL_NS
_ROW, _V, _F, _IS, _SI = _MAIN + "row", _MAIN + "v", _MAIN + "f", _MAIN + "is", _MAIN + "si"
_MERGE_CELLS, _SHEET_PROTECTION, _HYPERLINKS = _MAIN + "mergeCells", _MAIN + "sheetProtection", _MAIN + "hyperlinks"
_R_ID = "{%s}id" % _REL_NS
_COMMENTS_REL = _REL_NS + "/comments"

_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_STYLES_PART = "xl/styles.xml"          # openpyxl reads styles from this fixed name

_SHEET_STATES = ("visible", "hidden", "veryHidden")
_RESERVED_GLOBAL_NAMES = ("_xlnm.Print_Titles", "_xlnm.Print_Area", "_xlnm._FilterDatabase")
_INVALID_TITLE = re.compile(r"[\\*?:/\[\]]")
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

# Builtin number formats openpyxl treats as dates or durations; tests/test_fastread.py
# checks this against openpyxl.styles.numbers.
_BUILTIN_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_DATE_LETTERS = frozenset("dmhysDMHYS")   # a format without any of these is neither

MAX_MERGE_AREA = 1_000_000               # merged cells painted inside the read bounds

_CANONICAL_RANGE = re.compile(r"\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})(?::\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6}))?")
# How the file format writes a number (xsd:double's lexical form, less INF and NaN): ASCII only.
_STORED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class FastReadUnsupported(ValueError):
    """The file uses something this reader does not reproduce; read it with read.read_workbook."""


def read_workbook_fast(source: str | Path | bytes, max_rows: int = 400, max_cols: int = 60) -> WorkbookData:
    """The same WorkbookData as read.read_workbook_openpyxl(source, max_rows, max_cols)."""
    package = Package.open(source)
    try:
        return read_package(package, max_rows, max_cols)
    finally:
        package.close()


def read_package(package: Package, max_rows: int = 400, max_cols: int = 60) -> WorkbookData:
    """read_workbook_fast over an opened package, reusing the parts already read from it."""
    return _WorkbookReader(package, max_rows, max_cols).read()


# --- XML ----------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(parent: ET.Element | None, local_name: str) -> list[ET.Element]:
    """The children with this local name, in any namespace (as openpyxl's object loading matches)."""
    if parent is None:
        return []
    suffix = "}" + local_name
    return [el for el in parent if el.tag.endswith(suffix) or el.tag == local_name]


def _last_child(parent: ET.Element, local_name: str) -> ET.Element | None:
    """openpyxl's object loading keeps the last of repeated single children, matched by local name."""
    found = _children(parent, local_name)
    return found[-1] if found else None


def _bool(text: str | None, default: bool) -> bool:
    """An attribute read like openpyxl's Bool descriptor."""
    if text is None:
        return default
    return text not in ("false", "f", "0", "")


def _text_content(node: ET.Element) -> str:
    """openpyxl's Text.content: the plain <t> (the last one) followed by every run's <t>."""
    plain: str | None = None
    runs: list[str] = []
    for child in node:
        name = _local(child.tag)
        if name == "t":
            plain = child.text
        elif name == "r":
            run = _last_child(child, "t")
            if run is not None and run.text is not None:
                runs.append(run.text)
    return (plain or "") + "".join(runs)


# --- cell references ------------------------------------------------------------------------------

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
    from openpyxl.utils.cell import range_boundaries
    return range_boundaries(ref)


def _merge_bounds(ref: str | None) -> tuple[int, int, int, int]:
    """A merged range as (min_row, min_col, max_row, max_col), validated like openpyxl's CellRange."""
    if ref is None or "!" in ref:
        raise FastReadUnsupported(f"merged range {ref!r}")
    min_col, min_row, max_col, max_row = range_bounds(ref)
    if None in (min_col, min_row, max_col, max_row):
        raise FastReadUnsupported(f"merged range {ref!r}")
    if min_col > max_col or min_row > max_row:
        raise ValueError(f"{ref} is not a valid merged range")
    return min_row, min_col, max_row, max_col


def _row_number(text: str) -> int:
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
    if _STORED_NUMBER.fullmatch(text) is None:
        return text
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


# --- the package ----------------------------------------------------------------------------------

@dataclass
class _Styles:
    locked: list[bool]                      # by cellXfs index
    dates: set[int] = field(default_factory=set)
    durations: set[int] = field(default_factory=set)


@dataclass
class _SheetEntry:
    raw_name: str
    title: str
    state: str
    part: str


class _WorkbookReader:
    """The package: its parts, shared strings, styles and sheet list, as openpyxl finds them."""

    def __init__(self, package: Package, max_rows: int, max_cols: int):
        self.package = package
        self.names = package.infos.keys()
        self.max_rows = max_rows
        self.max_cols = max_cols
        self.epoch_1904 = False

    def read(self) -> WorkbookData:
        found = self.package.workbook_part(MAX_PART_BYTES)
        if found is None:
            raise OSError("File contains no valid workbook part")
        workbook_part = found[0]
        strings_part = self.package.part_of_type(_SHARED_STRINGS_TYPE, MAX_PART_BYTES)
        self.strings = self._shared_strings(strings_part) if strings_part is not None else []
        self.styles = self._styles()
        self.date_styles = self.styles.dates
        entries, names = self._workbook(workbook_part)
        sheets: dict[str, SheetData] = {}
        for i, entry in enumerate(entries):
            cached_from_own_part = entry.title == entry.raw_name and all(
                e.raw_name != entry.title for e in entries[:i])
            sheets[entry.title] = _SheetReader(self, entry, cached_from_own_part).read()
        return WorkbookData(sheets, names)

    # ---- parts

    def xml(self, part: str) -> ET.Element:
        try:
            return self.package.xml(part, MAX_PART_BYTES)
        except PartTooLarge as exc:
            raise FastReadUnsupported(str(exc)) from None

    def relationships(self, source_part: str) -> list[Relationship] | None:
        """A part's relationships, targets resolved as openpyxl's get_dependents does; None
        when the part has no relationships file."""
        try:
            found = self.package.relationships(source_part, MAX_PART_BYTES)
        except PartTooLarge as exc:
            raise FastReadUnsupported(str(exc)) from None
        if found is not None and not all(rel.loads for rel in found):
            return []   # openpyxl drops the whole list when one entry does not load
        return found

    def _shared_strings(self, part: str) -> list[str]:
        root = self.xml(part)
        items = list(root.iter(_SI))
        if any(next(islice(si.iter(_SI), 1, None), None) is not None for si in items):
            raise FastReadUnsupported("nested shared strings")   # openpyxl would take them inner first
        return [_text_content(si).replace("x005F_", "") for si in items]

    def _styles(self) -> _Styles:
        if _STYLES_PART not in self.names:
            return _Styles([True])
        root = self.xml(_STYLES_PART)
        formats_el, xfs_el = _last_child(root, "numFmts"), _last_child(root, "cellXfs")
        custom = {int(el.get("numFmtId")): el.get("formatCode") for el in _children(formats_el, "numFmt")}
        xfs = _children(xfs_el, "xf")
        if not xfs:     # openpyxl keeps its own default style then
            return _Styles([True])
        format_ids = [int(xf.get("numFmtId", 0)) for xf in xfs]
        styles = _Styles([_xf_locked(xf) for xf in xfs])
        if any(_may_be_date(fmt_id, custom) for fmt_id in format_ids):
            styles.dates, styles.durations = _date_styles(format_ids, custom)
        return styles

    def _workbook(self, part: str) -> tuple[list[_SheetEntry], dict[str, str]]:
        root = self.xml(part)
        properties = _last_child(root, "workbookPr")
        self.epoch_1904 = properties is not None and _bool(properties.get("date1904"), False)
        names = _global_names(_last_child(root, "definedNames"))
        sheets_el = _last_child(root, "sheets")
        rels = None
        entries: list[_SheetEntry] = []
        titles: list[str] = []          # worksheets and chartsheets: both take part in renaming
        for el in [] if sheets_el is None else list(sheets_el):
            rel_id = el.get(_R_ID)
            if not rel_id:
                continue
            if rels is None:
                found = self.relationships(part)
                if found is None:
                    raise KeyError(f"{part} has no relationships part")
                rels = {r.id: r for r in found}
            rel = rels[rel_id]
            if rel.target not in self.names:
                continue
            raw_name = el.get("name") or ""
            chartsheet = "chartsheet" in rel.type
            title = _sheet_title(raw_name, titles, chartsheet)
            titles.append(title)
            if chartsheet:
                continue
            state = el.get("state", "visible")
            if state not in _SHEET_STATES:
                raise ValueError(f"sheet state {state!r}")
            entries.append(_SheetEntry(raw_name, title, state, rel.target))
        return entries, names

    # ---- values

    def typed_value(self, t: str, style: int, el: ET.Element) -> Any:
        """A cell's value ignoring any formula: openpyxl's parse_cell (and its data-only mode)."""
        if t == "inlineStr":
            child = el.find(_IS)
            return None if child is None else _text_content(child)
        text = el.findtext(_V)
        if not text:
            return None
        if t == "n":
            number = cast_number(text)
            if isinstance(number, str) or style not in self.date_styles:
                return number
            return self._as_date(number, style)
        if t == "s":
            return self.strings[int(text)]
        if t == "b":
            return bool(int(text))
        if t == "d":
            from openpyxl.utils.datetime import from_ISO8601
            return from_ISO8601(text)
        return text     # "str", "e" and unknown types keep the text

    def _as_date(self, number: int | float, style: int) -> Any:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel
        epoch = CALENDAR_MAC_1904 if self.epoch_1904 else WINDOWS_EPOCH
        try:
            return from_excel(number, epoch, timedelta=style in self.styles.durations)
        except (OverflowError, ValueError):
            return "#VALUE!"


def _xf_locked(xf: ET.Element) -> bool:
    protection = _last_child(xf, "protection")
    return True if protection is None else _bool(protection.get("locked"), True)


def _may_be_date(format_id: int, custom: dict[int, str | None]) -> bool:
    if format_id in custom:
        code = custom[format_id]
        return code is not None and not _DATE_LETTERS.isdisjoint(code)
    return format_id in _BUILTIN_DATE_FORMAT_IDS


def _date_styles(format_ids: list[int], custom: dict[int, str | None]) -> tuple[set[int], set[int]]:
    """openpyxl's Stylesheet._normalise_numbers: which styles hold dates and durations."""
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
    dates, durations = set(), set()
    for index, format_id in enumerate(format_ids):
        code = custom[format_id] if format_id in custom else builtin_format_code(format_id)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations


def _global_names(defined_names: ET.Element | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for el in _children(defined_names, "definedName"):
        name = el.get("name")
        if el.get("localSheetId") is None and name not in _RESERVED_GLOBAL_NAMES:
            names[name] = el.text or ""
    return names


def _sheet_title(raw_name: str, taken: list[str], chartsheet: bool) -> str:
    """The title openpyxl gives a sheet: checked, defaulted, renamed when it repeats."""
    title = raw_name if chartsheet else raw_name or "Sheet"
    if not title:
        raise ValueError("Title must have at least one character")
    m = _INVALID_TITLE.search(title)
    if m:
        raise ValueError(f"Invalid character {m.group(0)} found in sheet title")
    if any(t.lower() == title.lower() for t in taken):
        from openpyxl.workbook.child import avoid_duplicate_name
        title = avoid_duplicate_name(taken, title)
    return title


# --- one sheet ------------------------------------------------------------------------------------

# A parsed cell: (t attribute, s attribute, element, formula text or None).
_Raw = tuple
_Link = tuple      # (ref, the text openpyxl writes into an empty cell under the link, or None)


class _SheetReader:
    """One worksheet part, read the way openpyxl's full load plus read.py's loops see it."""

    def __init__(self, book: _WorkbookReader, entry: _SheetEntry, cached_from_own_part: bool):
        self.book = book
        self.entry = entry
        self.cached_from_own_part = cached_from_own_part
        self.cells: dict[tuple[int, int], _Raw] = {}              # last one wins, like openpyxl's dict
        self.row_runs: list[tuple[int, list[tuple[int, _Raw]]]] = []   # rows in file order, for cached values
        self.shared_formulas: dict[str | None, Any] = {}
        self._rels: list[Relationship] | None = None

    def read(self) -> SheetData:
        root = self.book.xml(self.entry.part)
        self._read_rows(root)
        sheet = SheetData(self.entry.title, self.entry.state, _protected(_last(root.iter(_SHEET_PROTECTION))))
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
            row_number = row_number + 1 if ref is None else _row_number(ref)
            self.row_runs.append((row_number, self._read_cells(row, row_number)))

    def _read_cells(self, row: ET.Element, row_number: int) -> list[tuple[int, _Raw]]:
        run = []
        column = 0
        cells = self.cells
        for el in row:
            ref = el.get("r")
            if ref:
                at = coordinate(ref) or coordinate_to_tuple(ref)
                column = at[1]
            else:
                column += 1
                at = (row_number, column)
            f = el.find(_F)
            raw = (el.get("t", "n"), el.get("s", 0), el, None if f is None else self._formula(f, ref))
            cells[at] = raw
            run.append((at[1], raw))
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
                from openpyxl.formula.translate import Translator
                self.shared_formulas[key] = Translator(text, ref)
        return text

    # ---- merges, hyperlinks, comments

    def _merges(self, root: ET.Element) -> list[tuple[int, int, int, int]]:
        merge_cells = _last(root.iter(_MERGE_CELLS))
        return [_merge_bounds(el.get("ref")) for el in _children(merge_cells, "mergeCell")]

    def _hyperlinks(self, root: ET.Element) -> list[_Link]:
        """Each hyperlink's ref and the text openpyxl gives an empty cell under it: the
        relationship's target, else the `location`."""
        links = []
        for el in _children(_last(root.iter(_HYPERLINKS)), "hyperlink"):
            target = el.get("target")
            rel_id = el.get(_R_ID)
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
            comment_list = _last_child(self.book.xml(rel.target), "commentList")
            for el in [] if comment_list is None else list(comment_list):
                yield el.get("ref")

    # ---- the cells read.py keeps

    def _fill(self, sheet: SheetData, merged: _MergedArea, link_texts: dict[tuple[int, int], str]) -> None:
        """The cells read.py keeps inside the bounds (0-based in the output)."""
        rows, cols = merged.rows, merged.cols
        locked_styles = self.book.styles.locked
        replaced, merged_locked = merged.replaced, merged.locked
        value_of = self.book.typed_value
        out = sheet.cells
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
                value = _plain(value)
            out[(r - 1, c - 1)] = CellData(value, None, None, locked)
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


def _protected(protection: ET.Element | None) -> bool:
    """openpyxl's SheetProtection.sheet; a password turns protection on when it is read."""
    if protection is None:
        return False
    return _bool(protection.get("sheet"), False) or protection.get("password") is not None


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


def _plain(value: Any) -> Any:
    """read.py's _plain: dates and times as ISO text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


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
