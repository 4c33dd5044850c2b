"""The sheet scan: one sheet part's bytes, streamed through byte regexes for its extent and
for the formulas that may name other files, in bounded memory and without an XML parser.

Rows and cells are numbered the way openpyxl numbers them, so the extent judged is the
extent the reader will see. Call `SheetScan.feed` with the part's chunks, then `finish`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from xltool.cells import column_index, column_letter
from xltool.xlsx.guard.result import Limits

# A single start tag longer than this cannot be scanned in a bounded window (see SheetScan).
_MAX_TAG_BYTES = 1024 * 1024
# Formulas that may name another file, kept per sheet: enough for any real workbook,
# bounded for a hostile one. Excel formulas are at most 8192 characters.
_MAX_FORMULAS_KEPT = 10_000
_MAX_FORMULA_CHARS = 8192

# Start-tag pieces. Attributes may hold '>' inside quotes, never '<' (not even in values).
# Any namespace prefix: NCNames may be non-ASCII (UTF-8 bytes), so no \w here.
_PREFIX = rb"(?:[^\s<>/:=\"'!?]+:)?"
_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*)"""
_ROW_OR_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])" + _ATTRS)
_PREFIXED_ROW_OR_CELL = re.compile(rb":(?:row|c)[\s/>]")
# What Excel, WPS, LibreOffice, openpyxl and xlsxwriter all write: r="" first, plain digits.
_CANONICAL_ROW = re.compile(rb'<row r="([1-9]\d{0,6})"')
_CANONICAL_CELL = re.compile(rb'<c r="([A-Z]{1,3})[1-9]\d{0,6}"')
_SHEET_DATA_START = re.compile(rb"<" + _PREFIX + rb"sheetData[\s/>]")
_DIMENSION_TAG = re.compile(rb"<" + _PREFIX + rb"dimension(?=[\s/>])" + _ATTRS)
_FORMULA = re.compile(rb"<" + _PREFIX + rb"f(?=[\s/>])" + _ATTRS + rb">([^<]*)")
_UNDROPPABLE_TAG = re.compile(rb"<" + _PREFIX + rb"(?:row|c|dimension)[\s/>]")
_ATTRIBUTE = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RANGE_CORNER = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,9})")
_CELL_COORDINATE = re.compile(r"([A-Za-z]{1,3})(\d.*)", re.S)


@dataclass(frozen=True)
class _OutlierPatterns:
    """Find the first row or cell tag that is not canonical or lies beyond the limits.

    A block where neither matches needs no per-tag work: every row and cell in it has an
    explicit, in-limit r="" that openpyxl will use as is. Both patterns start with a
    literal ('<c', '<row'), which the regex engine scans for at C speed.
    """
    cell: re.Pattern[bytes]
    row: re.Pattern[bytes]


@lru_cache(maxsize=8)
def _outlier_patterns(max_rows: int, max_cols: int) -> _OutlierPatterns:
    row_ok = _decimal_not_above(max_rows).encode()
    col_ok = _letters_not_above(max_cols).encode()
    return _OutlierPatterns(
        cell=re.compile(rb'<c(?=[\s/>])(?! r="' + col_ok + row_ok + rb'"[\s/>])'),
        row=re.compile(rb'<row(?=[\s/>])(?! r="' + row_ok + rb'"[\s/>])'))


def _decimal_not_above(limit: int) -> str:
    """Regex for 1..limit written without leading zeros."""
    digits = str(max(limit, 1))
    options = [r"[1-9]\d{0,%d}" % (len(digits) - 2)] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 else 0
        if int(digit) > lowest:
            options.append(digits[:i] + f"[{lowest}-{int(digit) - 1}]" + r"\d" * (len(digits) - i - 1))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


def _letters_not_above(limit: int) -> str:
    """Regex for column letters A..(column `limit`). Shorter names are always smaller, and
    names of equal length compare alphabetically, so this mirrors _decimal_not_above."""
    letters = column_letter(max(limit, 1))
    options = [r"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, letter in enumerate(letters):
        if letter > "A":
            options.append(letters[:i] + f"[A-{chr(ord(letter) - 1)}]" + "[A-Z]" * (len(letters) - i - 1))
    options.append(letters)
    return "(?:" + "|".join(options) + ")"


class SheetScan:
    """Streams one sheet part and keeps only what the guard needs, in bounded memory:
    the declared <dimension>, whether any row or cell lies beyond the limits, and the
    formulas that contain '[' (the only ones that can name another file).

    Rows and cells are numbered the way openpyxl numbers them: an explicit r="" wins, a
    row without one follows the previous row, a cell without one follows the previous
    cell of its row. Each chunk is cut at its last '<'; since '<' cannot occur inside a
    tag, every tag before the cut is complete, and so is formula text running up to it.
    A block whose tags are all canonical and in limits costs three C-speed searches;
    any other block is walked tag by tag.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.outliers = _outlier_patterns(limits.max_rows, limits.max_cols)
        self.max_row = self.max_col = 0
        self.row_tags = self.cell_tags = 0      # counted only in blocks walked tag by tag
        self.formulas: dict[str, None] = {}     # an ordered set
        self.problem: tuple[str, str] | None = None
        self.too_large = False
        self._extent: tuple[int, int, str] = (0, 0, "")
        self._row_counter = self._col_counter = 0
        self._before_sheet_data = True
        self._carry = b""

    @property
    def stopped(self) -> bool:
        return self.too_large or self.problem is not None

    def feed(self, chunk: bytes) -> None:
        buffer = self._carry + chunk
        cut = buffer.rfind(b"<")
        if cut == -1:           # all text: no tag can start in it
            self._carry = b""
            return
        self._scan_block(buffer[:cut])
        self._carry = buffer[cut:]
        if len(self._carry) > _MAX_TAG_BYTES:
            self._drop_carry()

    def finish(self) -> None:
        if not self.stopped:
            self._scan_block(self._carry)
        self._carry = b""

    def extent_args(self) -> dict[str, object]:
        rows, cols, extent = self._extent
        return dict(rows=rows, cols=cols, extent=extent,
                    max_rows=self.limits.max_rows, max_cols=self.limits.max_cols)

    def _drop_carry(self) -> None:
        # Huge text (a long value or formula) can be dropped: it holds no tag. A row, cell
        # or dimension tag this long cannot be read in bounded memory and no writer makes one.
        if _UNDROPPABLE_TAG.match(self._carry):
            self.problem = ("有异常超长的标签", "an oversized tag")
        self._carry = b""

    def _scan_block(self, block: bytes) -> None:
        if self._before_sheet_data:
            self._look_for_dimension(block)
            if self.stopped:
                return
        if (self.outliers.cell.search(block) or self.outliers.row.search(block)
                or _PREFIXED_ROW_OR_CELL.search(block)):
            self._take_tag_by_tag(block)
        else:
            self._follow_canonical(block)
        if not self.stopped and b"[" in block:
            self._collect_formulas(block)

    def _look_for_dimension(self, block: bytes) -> None:
        """Like openpyxl's read-only mode: the first <dimension> before <sheetData> counts."""
        sheet_data = _SHEET_DATA_START.search(block)
        region = block[:sheet_data.start()] if sheet_data else block
        tag = _DIMENSION_TAG.search(region)
        ref = _attribute(tag.group(1), b"ref") if tag else None
        if ref:
            rows, cols = _range_extent(ref)
            if rows > self.limits.max_rows or cols > self.limits.max_cols:
                self.too_large = True
                self._extent = (rows, cols, ref)
            self._before_sheet_data = False     # only the first dimension counts
        if sheet_data:
            self._before_sheet_data = False

    def _follow_canonical(self, block: bytes) -> None:
        """Every tag here is canonical and in limits: only carry openpyxl's counters
        forward (for implicit tags in later blocks) and the extent seen so far."""
        last_row_at = block.rfind(b'<row r="')
        last_cell_at = block.rfind(b'<c r="')
        row = _CANONICAL_ROW.match(block, last_row_at) if last_row_at >= 0 else None
        cell = _CANONICAL_CELL.match(block, last_cell_at) if last_cell_at >= 0 else None
        if row:
            self._row_counter = int(row.group(1))
            self._col_counter = 0
        if cell and last_cell_at > last_row_at:
            self._col_counter = column_index(cell.group(1))
        self.max_row = max(self.max_row, self._row_counter)
        self.max_col = max(self.max_col, self._col_counter)

    def _take_tag_by_tag(self, block: bytes) -> None:
        for tag in _ROW_OR_CELL_TAG.finditer(block):
            ref = _attribute(tag.group(2), b"r")
            if tag.group(1) == b"row":
                self._take_row(ref)
            else:
                self._take_cell(ref)
            self._check_limits()
            if self.stopped:
                return

    def _take_row(self, ref: str | None) -> None:
        self.row_tags += 1
        if ref is None:
            self._row_counter += 1
        else:
            number = _row_number(ref)
            if number is None:
                self.problem = (f"行号“{ref[:40]}”无效", f"invalid row number '{ref[:40]}'")
                return
            self._row_counter = number
        self._col_counter = 0
        self.max_row = max(self.max_row, self._row_counter)

    def _take_cell(self, ref: str | None) -> None:
        self.cell_tags += 1
        if ref is None:
            self._col_counter += 1
            row, col = self._row_counter, self._col_counter
        else:
            coordinate = _cell_coordinate(ref)
            if coordinate is None:
                self.problem = (f"单元格地址“{ref[:40]}”无效", f"invalid cell reference '{ref[:40]}'")
                return
            row, col = coordinate
            self._col_counter = col
        self.max_row = max(self.max_row, row)
        self.max_col = max(self.max_col, col)

    def _check_limits(self) -> None:
        # The tag counts bound the tag-by-tag walk itself: a hostile part could repeat one
        # in-limit cell millions of times.
        limits = self.limits
        if not (self.max_row > limits.max_rows or self.max_col > limits.max_cols
                or self.row_tags > limits.max_rows
                or self.cell_tags > limits.max_rows * limits.max_cols):
            return
        self.too_large = True
        rows, cols = max(self.max_row, self.row_tags), self.max_col
        self._extent = (rows, cols, f"A1:{column_letter(max(cols, 1))}{max(rows, 1)}")

    def _collect_formulas(self, block: bytes) -> None:
        for _attrs, text in _FORMULA.findall(block):
            if b"[" in text and len(self.formulas) < _MAX_FORMULAS_KEPT:
                formula = html.unescape(text[:4 * _MAX_FORMULA_CHARS].decode("utf-8", errors="replace"))
                self.formulas[formula[:_MAX_FORMULA_CHARS]] = None


def _attribute(attrs: bytes, name: bytes) -> str | None:
    """Attribute `name` as an XML parser reports it (character references decoded).
    Attributes are tokenised left to right, so r="..." quoted inside another value is
    not mistaken for the real one."""
    for match in _ATTRIBUTE.finditer(attrs):
        if match.group(1) == name:
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            return html.unescape(raw.decode("utf-8", errors="replace"))
    return None


def _row_number(text: str) -> int | None:
    """A row r="" as openpyxl reads it: an int, else an integral float; None if invalid."""
    number = _int_or_none(text)
    if number is not None:
        return number
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None     # inf and nan are not integral


def _cell_coordinate(text: str) -> tuple[int, int] | None:
    """A cell r="" as openpyxl reads it: 1-3 letters, then the row; (row, column)."""
    match = _CELL_COORDINATE.fullmatch(text)
    row = _int_or_none(match.group(2)) if match else None
    if row is None:
        return None
    return row, column_index(match.group(1))


def _int_or_none(text: str) -> int | None:
    if len(text) > 32:      # also keeps int() clear of its 4300-digit limit
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _range_extent(ref: str) -> tuple[int, int]:
    """(last row, last column) named by a range such as 'A1:XFD1048576'."""
    corners = _RANGE_CORNER.findall(ref)
    if not corners:
        return 0, 0
    return max(int(digits) for _, digits in corners), max(column_index(letters) for letters, _ in corners)
