"""HTML as published on a portal: every <table> with rowspan/colspan expanded (lxml), the
paragraphs and headings outside tables as running text.

Provenance is the table (counted from 1 in the page), the row and the column of the expanded
grid (from 1); a paragraph's is its number among the page's text blocks.
"""

from __future__ import annotations

from pathlib import Path

from xltool.published.grid import Cell, Grid, Line, Published

TEXT_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "title"}


def read_html(path: Path) -> Published:
    return parse_html(Path(path).read_bytes())


def parse_html(data: bytes | str) -> Published:
    import lxml.html

    root = lxml.html.document_fromstring(data)
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    out = Published("html")
    paragraph = 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "table" and not _inside(el, "table"):
            out.grids.append(_grid(el, len(out.grids)))
        elif el.tag in TEXT_TAGS and not _inside(el, "table") and el.tag != "title":
            paragraph += 1
            for text in el.text_content().split("\n"):
                if text.strip():
                    out.lines.append(Line(text.strip(), {"paragraph": paragraph}))
    return out


def _inside(el, tag: str) -> bool:
    return any(a.tag == tag for a in el.iterancestors())


def _span(el, name: str) -> int:
    try:
        return max(1, int(el.get(name, "1")))
    except ValueError:
        return 1


def _grid(table, index: int) -> Grid:
    """The table's cells on a grid: a merged cell's text at its top-left, `covered` elsewhere."""
    rows = [tr for tr in table.iter("tr") if _owner(tr) is table]
    placed: dict[tuple[int, int], Cell] = {}
    for r, tr in enumerate(rows):
        c = 0
        for td in tr:
            if not isinstance(td.tag, str) or td.tag not in ("td", "th"):
                continue
            while (r, c) in placed:
                c += 1
            rs, cs = _span(td, "rowspan"), _span(td, "colspan")
            text = td.text_content().strip()
            for dr in range(rs):
                for dc in range(cs):
                    placed[(r + dr, c + dc)] = Cell(
                        text if (dr, dc) == (0, 0) else "", {"table": index + 1, "row": r + 1, "column": c + 1},
                        index, c + dc, covered=(dr, dc) != (0, 0))
            c += cs
    nrows = max((r for r, _ in placed), default=-1) + 1
    ncols = max((c for _, c in placed), default=-1) + 1
    grid_rows = [[placed.get((r, c), Cell("", {"table": index + 1, "row": r + 1, "column": c + 1}, index, c))
                  for c in range(ncols)] for r in range(nrows)]
    return Grid(grid_rows, positional=True, ncols=ncols)


def _owner(tr):
    return next(a for a in tr.iterancestors() if a.tag == "table")
