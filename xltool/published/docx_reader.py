"""Word (.docx) as published: the tables from their XML, merged cells expanded, and the
paragraphs as running text, in document order.

Merges are read from the table XML itself: `w:gridSpan` (a cell spanning columns) and
`w:vMerge` (restart / continue down a column); `w:gridBefore` skips grid columns at a row's
start. Provenance is the table (from 1), the row and the grid column (from 1); a paragraph's
is its number in the document body.
"""

from __future__ import annotations

from pathlib import Path

from xltool.published.grid import Cell, Grid, Line, Published

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(path: Path) -> Published:
    import docx  # python-docx loads lxml and templates: only when a Word file is read or written

    body = docx.Document(str(path)).element.body
    out = Published("docx")
    paragraph = 0
    for el in body.iterchildren():
        if el.tag == W + "p":
            paragraph += 1
            text = _text(el)
            if text.strip():
                out.lines.append(Line(text.strip(), {"paragraph": paragraph}))
        elif el.tag == W + "tbl":
            out.grids.append(_grid(el, len(out.grids)))
    return out


def _text(el) -> str:
    """A paragraph's text; <w:br/> and <w:cr/> as line breaks, <w:tab/> as a space."""
    parts = []
    for node in el.iter(W + "t", W + "br", W + "cr", W + "tab"):
        parts.append(node.text or "" if node.tag == W + "t" else ("\n" if node.tag != W + "tab" else " "))
    return "".join(parts)


def _val(el, path: str, default: str | None = None) -> str | None:
    found = el.find(path)
    if found is None:
        return default
    return found.get(W + "val", "continue" if path.endswith("vMerge") else default)


def _grid(tbl, index: int) -> Grid:
    placed: dict[tuple[int, int], Cell] = {}
    rows = tbl.findall(W + "tr")
    for r, tr in enumerate(rows):
        c = int(_val(tr, f"{W}trPr/{W}gridBefore", "0") or 0)
        for tc in tr.findall(W + "tc"):
            span = int(_val(tc, f"{W}tcPr/{W}gridSpan", "1") or 1)
            vmerge = _val(tc, f"{W}tcPr/{W}vMerge")
            where = {"table": index + 1, "row": r + 1, "column": c + 1}
            text = "\n".join(_text(p) for p in tc.findall(W + "p")).strip()
            covered_above = vmerge == "continue"
            for dc in range(span):
                placed[(r, c + dc)] = Cell("" if covered_above or dc else text, where, index, c + dc,
                                           covered=covered_above or dc > 0)
            c += span
    nrows = len(rows)
    ncols = max((c for _, c in placed), default=-1) + 1
    grid_rows = [[placed.get((r, c), Cell("", {"table": index + 1, "row": r + 1, "column": c + 1}, index, c))
                  for c in range(ncols)] for r in range(nrows)]
    return Grid(grid_rows, positional=True, ncols=ncols)
