"""Text copied from a published web page: one cell per tab-indented line, or tab-separated rows.

A browser copies an HTML table as one line per cell, each starting with a tab, rows separated by
a blank line; a cell covered by a merge from above comes out as a line holding only the tab. A
line break inside a label (商业<br>企业) comes out as a line without the tab, directly followed by
the next cell: it is joined back to its cell. Copied as tab-separated rows, a table's one-cell
rows (第二十条第（一）项) have no tab: a line directly above such a row is taken as a one-cell row
(and kept as running text too). Other lines are running text.
"""

from __future__ import annotations

from pathlib import Path

from xltool.published.grid import Cell, Grid, Line, Published


def read_text(path: Path) -> Published:
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return parse_text(text)


def parse_text(text: str) -> Published:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = Published("text")
    rows: list[list[Cell]] = []          # the rows of the table being read
    row: list[Cell] = []
    gap = False                          # a blank line since the last cell

    def flush_row() -> None:
        nonlocal row
        if row:
            rows.append(row)
            row = []

    def flush_grid() -> None:
        flush_row()
        if rows:
            out.grids.append(Grid(list(rows), positional=False))
            rows.clear()

    for n, line in enumerate(lines, start=1):
        if not line.strip() and not line.startswith("\t"):
            gap = True
            continue
        grid = len(out.grids)
        if line.startswith("\t") and "\t" not in line[1:]:   # one cell per line
            if gap:
                flush_row()
            row.append(Cell(line[1:].strip(), {"line": n}, grid, len(row)))
            gap = False
            continue
        if "\t" in line:                                   # a tab-separated row
            flush_row()
            rows.append([Cell(t.strip(), {"line": n}, grid, i) for i, t in enumerate(line.split("\t"))])
            gap = False
            continue
        if row and _is_cell_line(lines, n - 1):            # the rest of a label broken over lines
            last = row[-1]
            row[-1] = Cell(last.text + "\n" + line.strip(), last.where, last.grid, last.col)
            gap = False
            continue
        if _is_row_line(lines, n - 1):                     # a one-cell row of a tab-separated table (its title)
            flush_row()
            rows.append([Cell(line.strip(), {"line": n}, grid, 0)])
            out.lines.append(Line(line.strip(), {"line": n}))   # and running text, should it be a heading
            gap = False
            continue
        flush_grid()
        out.lines.append(Line(line.strip(), {"line": n}))
        gap = False
    flush_grid()
    return out


def _is_row_line(lines: list[str], index: int) -> bool:
    """Whether the line after `index` is a tab-separated row (cells on one line)."""
    return index + 1 < len(lines) and "\t" in lines[index + 1].lstrip("\t") and lines[index + 1].strip() != ""


def _is_cell_line(lines: list[str], index: int) -> bool:
    """Whether the line after `index` is a cell line: then the line at `index` continues a cell."""
    return index + 1 < len(lines) and lines[index + 1].startswith("\t")
