"""HTML as published on a portal: every <table> with rowspan/colspan expanded (lxml), the
paragraphs, headings and innermost divs outside tables as running text.

Provenance is the table (counted from 1 in the page), the row and the column of the expanded
grid (from 1); a paragraph's is its number among the page's text blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

from xltool.published.grid import Cell, Grid, Line, Published

BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div", "section", "article", "center", "blockquote",
          "pre", "table", "ul", "ol", "dl", "dd", "dt"}


def read_html(path: Path) -> Published:
    return parse_html(_decode(Path(path).read_bytes()))


def _decode(data: bytes) -> str | bytes:
    """UTF-8 when it is (a page saved without <meta charset> would otherwise be read as Latin-1);
    else the page's own <meta charset> decides, and without one GB18030 (older portals)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"charset" in data[:4096].lower():
        return data
    return data.decode("gb18030", errors="replace")


def parse_html(data: bytes | str) -> Published:
    import lxml.html  # lxml.html: only when a web page is imported

    if isinstance(data, str):      # lxml refuses a str that declares its own encoding
        data = re.sub(r"^\s*<\?xml[^>]*\?>", "", data)
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
        elif _text_block(el):
            paragraph += 1
            for text in el.text_content().split("\n"):
                if text.strip():
                    out.lines.append(Line(text.strip(), {"paragraph": paragraph}))
    return out


def _text_block(el) -> bool:
    """A block of running text: a paragraph, heading or a div holding no other block (portals put
    titles in <div class="title">), not part of a table."""
    if el.tag not in BLOCKS or el.tag in ("table", "ul", "ol", "dl") or _inside(el, "table"):
        return False
    return not any(isinstance(d.tag, str) and d.tag in BLOCKS for d in el.iterdescendants())


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
