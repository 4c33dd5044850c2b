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
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from xltool.xlsx.fastsheet import SheetEntry, SheetReader
from xltool.xlsx.model import SheetData, WorkbookData
from xltool.xlsx.ooxml import (
    MAIN,
    R_ID,
    FastReadUnsupported,
    cast_number,
    children,
    last_child,
    text_content,
    xml_bool,
)
from xltool.xlsx.package import MAX_PART_BYTES, Package, PartTooLarge, Relationship, derived

__all__ = ["FastReadUnsupported", "cast_number", "read_package", "read_workbook_fast"]

_MAIN = MAIN
_V, _IS, _SI = _MAIN + "v", _MAIN + "is", _MAIN + "si"

_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_STYLES_PART = "xl/styles.xml"          # openpyxl reads styles from this fixed name

_SHEET_STATES = ("visible", "hidden", "veryHidden")
_RESERVED_GLOBAL_NAMES = ("_xlnm.Print_Titles", "_xlnm.Print_Area", "_xlnm._FilterDatabase")
_INVALID_TITLE = re.compile(r"[\\*?:/\[\]]")

# Builtin number formats openpyxl treats as dates or durations; tests/xlsx/test_fastread.py
# checks this against openpyxl.styles.numbers.
_BUILTIN_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_DATE_LETTERS = frozenset("dmhysDMHYS")   # a format without any of these is neither


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

# --- the package ----------------------------------------------------------------------------------

@dataclass
class _Styles:
    locked: list[bool]                      # by cellXfs index
    dates: set[int] = field(default_factory=set)
    durations: set[int] = field(default_factory=set)


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
            sheets[entry.title] = SheetReader(self, entry, cached_from_own_part).read()
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
        return [text_content(si).replace("x005F_", "") for si in items]

    def _styles(self) -> _Styles:
        if _STYLES_PART not in self.names:
            return _Styles([True])
        return derived(self.xml(_STYLES_PART), "fastread: styles", _styles_of)

    def _workbook(self, part: str) -> tuple[list[SheetEntry], dict[str, str]]:
        root = self.xml(part)
        properties = last_child(root, "workbookPr")
        self.epoch_1904 = properties is not None and xml_bool(properties.get("date1904"), False)
        names = dict(derived(root, "fastread: global names", lambda tree: _global_names(last_child(tree, "definedNames"))))
        sheets_el = last_child(root, "sheets")
        rels = None
        entries: list[SheetEntry] = []
        titles: list[str] = []          # worksheets and chartsheets: both take part in renaming
        for el in [] if sheets_el is None else list(sheets_el):
            rel_id = el.get(R_ID)
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
            entries.append(SheetEntry(raw_name, title, state, rel.target))
        return entries, names

    # ---- values

    def typed_value(self, t: str, style: int, el: ET.Element) -> Any:
        """A cell's value ignoring any formula: openpyxl's parse_cell (and its data-only mode)."""
        if t == "inlineStr":
            child = el.find(_IS)
            return None if child is None else text_content(child)
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
            from openpyxl.utils.datetime import (
                from_ISO8601,  # openpyxl is slow to import: only for what the fast paths do not cover
            )
            return from_ISO8601(text)
        return text     # "str", "e" and unknown types keep the text

    def _as_date(self, number: int | float, style: int) -> Any:
        from openpyxl.utils.datetime import (  # openpyxl is slow to import: only for what the fast paths do not cover
            CALENDAR_MAC_1904,
            WINDOWS_EPOCH,
            from_excel,
        )
        epoch = CALENDAR_MAC_1904 if self.epoch_1904 else WINDOWS_EPOCH
        try:
            return from_excel(number, epoch, timedelta=style in self.styles.durations)
        except (OverflowError, ValueError):
            return "#VALUE!"


def _styles_of(root: ET.Element) -> _Styles:
    """The cell styles' locked flags and which of them are dates or durations, as openpyxl reads
    styles.xml. Shared by the packages holding the same styles part: never changed."""
    formats_el, xfs_el = last_child(root, "numFmts"), last_child(root, "cellXfs")
    custom = {int(el.get("numFmtId")): el.get("formatCode") for el in children(formats_el, "numFmt")}
    xfs = children(xfs_el, "xf")
    if not xfs:     # openpyxl keeps its own default style then
        return _Styles([True])
    format_ids = [int(xf.get("numFmtId", 0)) for xf in xfs]
    styles = _Styles([_xf_locked(xf) for xf in xfs])
    if any(_may_be_date(fmt_id, custom) for fmt_id in format_ids):
        styles.dates, styles.durations = _date_styles(format_ids, custom)
    return styles


def _xf_locked(xf: ET.Element) -> bool:
    protection = last_child(xf, "protection")
    return True if protection is None else xml_bool(protection.get("locked"), True)


def _may_be_date(format_id: int, custom: dict[int, str | None]) -> bool:
    if format_id in custom:
        code = custom[format_id]
        return code is not None and not _DATE_LETTERS.isdisjoint(code)
    return format_id in _BUILTIN_DATE_FORMAT_IDS


def _date_styles(format_ids: list[int], custom: dict[int, str | None]) -> tuple[set[int], set[int]]:
    """openpyxl's Stylesheet._normalise_numbers: which styles hold dates and durations."""
    from openpyxl.styles.numbers import (  # openpyxl is slow to import: only for what the fast paths do not cover
        builtin_format_code,
        is_date_format,
        is_timedelta_format,
    )
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
    for el in children(defined_names, "definedName"):
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
        from openpyxl.workbook.child import (
            avoid_duplicate_name,  # openpyxl is slow to import: only for what the fast paths do not cover
        )
        title = avoid_duplicate_name(taken, title)
    return title

