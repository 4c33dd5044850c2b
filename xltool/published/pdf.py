"""PDF with a text layer: tables from their ruling lines (pdfplumber), running text as lines.

pdfplumber finds each table's cells from the drawn lines, so a merged cell is one cell and the
grid positions it covers come back empty (`covered`). A page with no ruled table is read as its
words with their coordinates, cut into lines and cells (`_word_rows`). A table broken over pages comes back as
one grid per page; the matcher reads them in order, so the rows simply continue. Provenance is
the page and the line on it (the lines as pdfplumber reads them, top to bottom, counted from 1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xltool.published.grid import Cell, Grid, Line, Published

_FOOTER = re.compile(r"^[-—－–]\s*\d+\s*[-—－–]$")       # - 1 -: the page number
LINE_TOLERANCE = 3.0   # points: words this close vertically are on one line
INDENT = 10.0          # points: a line starting further right than the margin opens a paragraph
SHORT = 40.0           # points: a line ending this far left of the right margin closes one


def read_pdf(path: Path) -> Published:
    import pdfplumber  # heavy: only when a PDF is imported

    out = Published("pdf")
    full = False       # the last line of the page before ran to the margin: its paragraph goes on
    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            lines = page.extract_text_lines()
            full = _running_text(out, number, lines, full)
            tables = page.find_tables()
            for table in tables:
                out.grids.append(_grid(table, number, lines, len(out.grids)))
            if not tables:
                out.grids.append(_word_rows(page, number, lines, len(out.grids)))
    return out


def _running_text(out: Published, page: int, lines: list[dict[str, Any]], full: bool) -> bool:
    """Append the page's lines; returns whether its last line ran to the right margin."""
    body = [(i, ln) for i, ln in enumerate(lines, start=1) if not _FOOTER.match(ln["text"].strip())]
    if not body:
        return full
    left = min(ln["x0"] for _, ln in body)
    right = max(ln["x1"] for _, ln in body)
    for i, ln in body:
        opens = ln["x0"] > left + INDENT or not full
        out.lines.append(Line(ln["text"], {"page": page, "line": i}, new_paragraph=opens))
        full = ln["x1"] >= right - SHORT
    return full


def _grid(table, page: int, lines: list[dict[str, Any]], index: int) -> Grid:
    texts = table.extract()
    rows = []
    ncols = max((len(r.cells) for r in table.rows), default=0)
    for row, row_texts in zip(table.rows, texts):
        cells = []
        for col, (bbox, text) in enumerate(zip(row.cells, row_texts)):
            if bbox is None:
                cells.append(Cell("", {}, index, col, covered=True))
            else:
                cells.append(Cell(text or "", {"page": page, "line": _line_of(bbox, lines)}, index, col))
        rows.append(cells)
    return Grid(rows, positional=True, ncols=ncols)


def _line_of(bbox: tuple[float, float, float, float], lines: list[dict[str, Any]]) -> int | None:
    """The first text line inside the cell (for an empty cell: the first line level with it)."""
    x0, top, x1, bottom = bbox
    level = [i for i, ln in enumerate(lines, start=1) if ln["top"] < bottom and ln["bottom"] > top]
    inside = [i for i in level if lines[i - 1]["x0"] < x1 and lines[i - 1]["x1"] > x0]
    return (inside or level or [None])[0]


def _word_rows(page, number: int, lines: list[dict[str, Any]], index: int) -> Grid:
    """A page without ruled tables: its words by line, a line cut into cells where the gap between
    words is wider than a character. Not positional (columns are not known to line up), so the
    matcher takes a row only when it has exactly one number per column, and flags it otherwise."""
    words = sorted(page.extract_words(), key=lambda w: (w["top"], w["x0"]))
    rows: list[list[dict[str, Any]]] = []
    for w in words:
        if rows and abs(w["top"] - rows[-1][0]["top"]) <= LINE_TOLERANCE:
            rows[-1].append(w)
        else:
            rows.append([w])
    grid_rows = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        cells: list[list[dict[str, Any]]] = []
        for w in row:
            if cells and w["x0"] - cells[-1][-1]["x1"] <= max(w["height"], 6.0):
                cells[-1].append(w)
            else:
                cells.append([w])
        grid_rows.append([Cell(" ".join(w["text"] for w in ws),
                               {"page": number, "line": _line_of((ws[0]["x0"], ws[0]["top"], ws[-1]["x1"], ws[0]["bottom"]), lines)},
                               index, col) for col, ws in enumerate(cells)])
    return Grid(grid_rows, positional=False)
