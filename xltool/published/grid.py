"""The common form every reader produces: grids of cells and running text lines, with provenance.

A grid is one table as printed. A real table (HTML, DOCX, PDF) is `positional`: its merged cells
are expanded, the cells they cover are marked `covered`, and a column index means the same
column in every row. Text copied from a web page is not: its rows are the cells in reading order
(a cell covered by a merge from above shows as an empty line, one merged across columns as
nothing at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    text: str                       # as printed ("" when blank); line breaks kept
    where: dict[str, Any]           # provenance: {"page", "line"} | {"table", "row", "column"} | {"line"}
    grid: int = 0                   # which grid of the document
    col: int = 0                    # column index in its grid (reading index in a text row)
    covered: bool = False           # part of a merged cell anchored left of or above it


@dataclass
class Grid:
    rows: list[list[Cell]]
    positional: bool
    ncols: int = 0


@dataclass(frozen=True)
class Line:
    """A line of running text (title, headings, the text parts 一、五、六)."""

    text: str
    where: dict[str, Any]
    new_paragraph: bool = True      # False: a PDF line that continues the paragraph above


@dataclass
class Published:
    format: str                     # text | html | docx | pdf
    grids: list[Grid] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
