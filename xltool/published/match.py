"""The spec-anchored matcher: from a published grid to values by spec id, and form detection.

Rows and columns are found by their labels, never by position: a block title
(第二十条第（一）项) or a header (信息内容 …, the 表三 corner, 行政复议 …) says which spec table the
rows below belong to; the header rows are read as the spec's column tree (each group's children
are the next labels one header row down), which gives every value column its spec id; a body
row is the spec row its last label names. A table split across pages simply continues.

What cannot be read unambiguously is a finding naming the cells, and those cells stay None:
a row printed with more or fewer numbers than the header has columns, text in a number cell, a
row or a whole table not found. Nothing is shifted into a neighbour's place. One exception is
exact, not a guess: a group printed as one row (2021 `（六）其他处理` in the 2019 style) whose
value is 0 means each of its non-negative parts is 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xltool.checks.rules import parse_number
from xltool.findings import ERROR, INFO, WARNING, Code, Finding
from xltool.form.forms import get_spec
from xltool.form.spec import CellType, Column, FormSpec, Row, Table, leaves
from xltool.published.grid import Cell, Grid, Published
from xltool.published.labels import best, norm, numberish

FORM_IDS = ("govinfo-annual-2019", "govinfo-annual-2021")
T2_CORNER = "信息内容"

CELL_NOT_NUMBER = Code(
    "published-not-a-number", ERROR,
    zh="{label}（{cell}）印为“{found}”，不是{expected}，未读取。{suggestion}请对照原文核对。",
    en="{label} ({cell}) is printed as “{found}”, not {expected_en}; it was not read. {suggestion_en}Check it against the original.")
CELL_MERGED = Code(
    "published-cell-merged", ERROR,
    zh="{label}（{cell}）在公开文本中与相邻格合并，无法确定其数值，未读取。",
    en="{label} ({cell}) is merged with a neighbouring cell in the published copy; its value cannot be told and was not read.")
ROW_COUNT = Code(
    "published-row-count", ERROR,
    zh="“{row}”一行（{cell}）印有 {found} 个数，表头有 {expected} 列，无法确定各数属于哪一列，该行 {expected} 个格子均未读取。",
    en="Row {row} ({cell}) has {found} numbers but the header has {expected} columns; which number belongs to which column "
       "cannot be told, so none of its {expected} cells was read.")
ROW_MISSING = Code(
    "published-row-missing", ERROR,
    zh="公开文本中没有找到“{row}”（{table}），该行 {count} 个格子未读取。",
    en="Row {row} of {table} was not found in the published copy; its {count} cell(s) were not read.")
ROW_REPEATED = Code(
    "published-row-repeated", ERROR,
    zh="{label} 在公开文本中出现了两次，数值不同（{first}：{first_value}；{cell}：{found}），未读取。",
    en="{label} is printed twice with different values ({first}: {first_value}; {cell}: {found}); it was not read.")
ROW_UNMATCHED = Code(
    "published-row-unmatched", WARNING,
    zh="{table}中的“{found}”一行（{cell}）与标准表格的任何一行都对应不上，其中的数字未读取。",
    en="Row {found} of {table} ({cell}) matches no row of the official table; its numbers were not read.")
HEADER_UNRECOGNISED = Code(
    "published-header-unrecognised", ERROR,
    zh="{table}的表头（{cell}）无法与标准表头逐列对应（{found}），该表 {count} 个格子未读取。",
    en="The header of {table} ({cell}) does not match the official header column by column ({found}); "
       "its {count} cell(s) were not read.")
MERGED_ROW_ZERO = Code(
    "published-merged-row-zero", INFO,
    zh="“{row}”印为一行（{cell}），未按{count}个分项分列；各列均为 0，分项按 0 读取（均为非负数，合计为 0 则各项为 0）。",
    en="{row} is printed as one row ({cell}) instead of its {count} parts; every column is 0, so each part reads as 0.")
MERGED_ROW = Code(
    "published-merged-row", ERROR,
    zh="“{row}”印为一行（{cell}），未按{count}个分项分列；“{column}”列为 {found}，无法确定各分项，未读取。",
    en="{row} is printed as one row ({cell}) instead of its {count} parts; column {column} holds {found}, "
       "which cannot be split into the parts; they were not read.")


def place(where: dict[str, Any] | None) -> str | None:
    """Provenance as a reader says it: 第4页第12行 / 表2第5行第4列 / 第120行."""
    if not where:
        return None
    if "page" in where:
        return f"第{where['page']}页第{where.get('line', '?')}行"
    if "table" in where:
        return f"表{where['table']}第{where['row']}行第{where['column']}列"
    if "paragraph" in where:
        return f"第{where['paragraph']}段"
    return f"第{where['line']}行"


# --- the spec side --------------------------------------------------------------------------

@dataclass
class SpecTable:
    """One spec table as the matcher sees it: its title, header labels, rows and groups."""

    sheet: str
    table: Table
    leaf_rows: list[Row]
    groups: list[Row]

    @property
    def title(self) -> str | None:
        return self.table.title

    @property
    def name(self) -> str:
        return self.table.title or self.sheet

    def header_labels(self) -> list[str]:
        labels = [T2_CORNER] if self.title else []
        if self.table.corner:
            labels.append(self.table.corner)

        def walk(nodes: list[Column]) -> None:
            for n in nodes:
                labels.append(n.label)
                walk(n.children)
        walk(self.table.columns)
        return labels

    @property
    def unlabelled(self) -> Row | None:
        return self.leaf_rows[0] if len(self.leaf_rows) == 1 and not self.leaf_rows[0].label else None


def spec_tables(spec: FormSpec) -> list[SpecTable]:
    return [SpecTable(sheet.title or sheet.name, table, leaves(table.rows), _groups(table.rows))
            for sheet, table in spec.tables()]


def _groups(nodes: list[Row]) -> list[Row]:
    out: list[Row] = []
    for n in nodes:
        if n.children:
            out += [n, *_groups(n.children)]
    return out


def detect_form(pub: Published) -> FormSpec | None:
    """The form version whose own labels (those the other version lacks) the tables print most."""
    printed = {norm(c.text) for g in pub.grids for r in g.rows for c in r if c.text}
    specs = [get_spec(f) for f in FORM_IDS]
    own = {s.id: {norm(x) for t in spec_tables(s) for x in _all_labels(t)} for s in specs}
    scores = []
    for s in specs:
        others = set().union(*(own[o.id] for o in specs if o.id != s.id))
        scores.append((len((own[s.id] - others) & printed), s))
    scores.sort(key=lambda x: -x[0])
    if scores[0][0] == 0 or (len(scores) > 1 and scores[0][0] == scores[1][0]):
        return None
    return scores[0][1]


def _all_labels(t: SpecTable) -> list[str]:
    return t.header_labels() + [r.label for r in t.leaf_rows + t.groups if r.label] + ([t.title] if t.title else [])


# --- results --------------------------------------------------------------------------------

@dataclass
class Matched:
    values: dict[str, Any] = field(default_factory=dict)          # spec id -> value as printed
    where: dict[str, dict[str, Any]] = field(default_factory=dict)  # spec id -> provenance (+ printed text)
    findings: list[Finding] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)                 # ids named by a finding, left None
    blank: set[str] = field(default_factory=set)                  # printed blank


def parse_printed(ctype: CellType, text: str) -> tuple[Any, dict[str, Any] | None]:
    """A printed number as the type wants it. The type's own unit may follow it (14.495万元 in a
    万元 column); anything else (元, 减4) is a finding, with what it looks like as a hint."""
    t = norm(text).replace(",", "").replace("，", "").replace("−", "-")
    if ctype.unit and t.endswith(ctype.unit):
        t = t[: -len(ctype.unit)]
    elif ctype.kind == "integer" and t.endswith("件"):
        t = t[:-1]
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", t):
        d = Decimal(t)
        return parse_number(ctype, int(d) if "." not in t else float(d))
    return parse_number(ctype, text.strip())


class _Matcher:
    def __init__(self, spec: FormSpec):
        self.spec = spec
        self.layout = spec.layout
        self.tables = spec_tables(spec)
        self.out = Matched()
        self.table: SpecTable | None = None
        self.header: list[list[Cell]] = []
        self.columns: list[tuple[Column, Cell]] | None = None
        self.in_body = False
        self.grids: list[Grid] = []

    # -- the row stream --
    def row(self, grid: Grid, cells: list[Cell]) -> None:
        texts = [c for c in cells if not c.covered and norm(c.text)]
        if not texts:
            return
        if len(texts) == 1:
            titled = best(texts[0].text, [(t.title, t) for t in self.tables if t.title])
            if titled is not None:
                self._start(titled)
                return
        header_of = self._header_table(texts)
        if header_of is not None:
            if header_of is not self.table or self.in_body:
                self._start(header_of)
            self.header.append(cells)
            return
        if self.table is not None:
            self._body(grid, cells)

    def _start(self, table: SpecTable) -> None:
        self.table, self.header, self.columns, self.in_body = table, [], None, False

    def _header_table(self, texts: list[Cell]) -> SpecTable | None:
        candidates = ([self.table] if self.table else []) + [t for t in self.tables if not t.title and t is not self.table]
        for t in candidates:
            labels = [(x, x) for x in t.header_labels()]
            if all(best(c.text, labels) is not None for c in texts):
                return t
        return None

    # -- header: the spec's column tree, level by level --
    def _resolve_columns(self) -> list[tuple[Column, Cell]] | None:
        t = self.table
        corner = [T2_CORNER] + ([t.table.corner] if t.table.corner else [])
        levels = []
        for cells in self.header:
            level = [c for c in cells if not c.covered and norm(c.text) and best(c.text, [(x, x) for x in corner]) is None]
            if level:
                levels.append(level)
        out: list[tuple[Column, Cell]] = []
        try:
            _expand(t.table.columns, levels, 0, out)
        except _HeaderMismatch:
            return None
        if any(levels):
            return None
        return out

    # -- body rows --
    def _body(self, grid: Grid, cells: list[Cell]) -> None:
        t = self.table
        assert t is not None
        if self.columns is None:
            self.columns = self._resolve_columns() or []
            if not self.columns:
                self._header_failed()
        self.in_body = True
        if not self.columns:
            return
        labels, values = self._split(grid, cells)
        target = self._row_for(labels)
        where = place((labels or [c for c in cells if not c.covered] or cells)[0].where)
        if target is None:
            if any(not c.covered and numberish(c.text) for c in cells):
                self.out.findings.append(ROW_UNMATCHED.at(sheet=t.sheet, cell=where, table=t.name,
                                                          found=" ".join(norm(c.text) for c in labels) or "（无标签）"))
            return
        row_leaves = leaves([target])
        if values is None:
            ids = [self._id(r, col) for r in row_leaves for col, _ in self.columns]
            found = len([c for c in cells if not c.covered]) - len(labels)
            self._unread(ids, ROW_COUNT.at(sheet=t.sheet, cell=where, ids=ids, row=_row_name(target), found=found,
                                           expected=len(self.columns)))
            return
        if target.children:
            self._group_row(target, values, where)
            return
        for (col, _), cell in zip(self.columns, values):
            self._assign(self._id(target, col), cell)

    def _split(self, grid: Grid, cells: list[Cell]) -> tuple[list[Cell], list[Cell | None] | None]:
        """The row's label cells and its value cells in column order (None: cannot be told)."""
        positions = [c.col for _, c in self.columns]
        header_grids = {c.grid for _, c in self.columns}
        header_grid = self.grids[header_grids.pop()] if len(header_grids) == 1 else None
        aligned = grid.positional and header_grid is not None and header_grid.positional and \
            header_grid.ncols == grid.ncols
        if aligned:      # a real table with the header's columns: values sit under their headers
            first = min(positions)
            labels = [c for c in cells if c.col < first and not c.covered and norm(c.text)]
            by_col = {c.col: c for c in cells}
            return labels, [by_col.get(p) for p in positions]
        # text (or a continuation laid out differently): the numbers after the last label, in order
        anchors = [c for c in cells if not c.covered]
        last_label = max((i for i, c in enumerate(anchors) if norm(c.text) and not numberish(c.text)), default=-1)
        labels = [c for c in anchors[: last_label + 1] if norm(c.text)]
        values = anchors[last_label + 1:]
        if len(values) != len(self.columns):
            return labels, None
        return labels, list(values)

    def _row_for(self, labels: list[Cell]) -> Row | None:
        t = self.table
        if not labels:
            return t.unlabelled
        leaf = labels[-1].text
        found = best(leaf, [(r.label, r) for r in t.leaf_rows if r.label])
        if found is None:
            found = best(leaf, [(g.label, g) for g in t.groups])
        return found

    def _id(self, row: Row, col: Column) -> str:
        return f"{self.table.table.id}.{row.id}.{col.id}"

    def _group_row(self, group: Row, values: list[Cell | None], where: str | None) -> None:
        """A group printed as one row: 0 in a column means 0 in each part; anything else cannot be split."""
        parts = leaves([group])
        zero_cols = 0
        for (col, _), cell in zip(self.columns, values):
            ids = [self._id(r, col) for r in parts]
            if any(i in self.out.values or i in self.out.unread for i in ids):
                continue     # the parts were printed as well: they say more than the group row
            value, problem = (None, {"problem": "merged"}) if cell is None or cell.covered else \
                parse_printed(self.layout.cells[ids[0]].type, cell.text)
            if problem is None and value == 0:
                zero_cols += 1
                for i in ids:
                    self._set(i, 0, cell)
                continue
            self._unread(ids, MERGED_ROW.at(sheet=self.table.sheet, cell=place(cell.where) if cell else where, ids=ids,
                                            row=group.label, count=len(parts), column=col.label,
                                            found=cell.text if cell else "（空）"))
        if zero_cols:
            self.out.findings.append(MERGED_ROW_ZERO.at(sheet=self.table.sheet, cell=where,
                                                        ids=[self._id(r, c) for r in parts for c, _ in self.columns],
                                                        row=group.label, count=len(parts)))

    def _assign(self, cid: str, cell: Cell | None) -> None:
        vc = self.layout.cells[cid]
        common = {"sheet": vc.sheet, "ids": [cid], "label": vc.title}
        if cell is None or cell.covered:
            self._unread([cid], CELL_MERGED.at(**common, cell=place(cell.where) if cell else None))
            return
        if not norm(cell.text):
            value, problem = None, None
            self.out.blank.add(cid)
        else:
            value, problem = parse_printed(vc.type, cell.text)
        if problem is not None:
            t = vc.type
            guess = problem.get("guess")
            self._unread([cid], CELL_NOT_NUMBER.at(
                **common, cell=place(cell.where), found=cell.text, expected=t.label, expected_en=t.label_en, guess=guess,
                suggestion=f"看起来是 {guess}，但未按此读取。" if guess else "",
                suggestion_en=f"It looks like {guess}, but was not read as such. " if guess else ""))
            return
        if cid in self.out.where:
            first = self.out.values.get(cid)
            if first != value:
                self._unread([cid], ROW_REPEATED.at(**common, cell=place(cell.where), first=place(self.out.where[cid]),
                                                    first_value=first, found=value))
            return
        self._set(cid, value, cell)

    def _set(self, cid: str, value: Any, cell: Cell) -> None:
        self.out.values[cid] = value
        self.out.where[cid] = {**cell.where, "text": cell.text}

    def _unread(self, ids: list[str], finding: Finding) -> None:
        self.out.findings.append(finding)
        for i in ids:
            self.out.unread.add(i)
            self.out.values[i] = None

    def _header_failed(self) -> None:
        t = self.table
        ids = [c.id for c in self.layout.table_cells(t.table.id)]
        if all(i in self.out.unread for i in ids):
            return      # said once per table: a header printed again on each page fails again
        found = " | ".join(" ".join(norm(c.text) for c in cells if norm(c.text)) for cells in self.header)
        where = place(next((c.where for cells in self.header for c in cells), None))
        self._unread(ids, HEADER_UNRECOGNISED.at(sheet=t.sheet, cell=where, ids=ids, table=t.name,
                                                 found=found or "无表头", count=len(ids)))

    # -- what was never found --
    def finish(self) -> Matched:
        missing: dict[tuple[str, str], list[str]] = {}
        for vc in self.layout.cells.values():
            if vc.table is None or vc.id in self.out.values or vc.id in self.out.unread or vc.id in self.out.blank:
                continue
            missing.setdefault((vc.table, vc.row_id), []).append(vc.id)
        for (table_id, row_id), ids in missing.items():
            t = next(x for x in self.tables if x.table.id == table_id)
            row = next(r for r in t.leaf_rows if r.id == row_id)
            self._unread(ids, ROW_MISSING.at(sheet=t.sheet, ids=ids, row=_row_name(row, t), table=t.name,
                                             count=len(ids)))
        return self.out


class _HeaderMismatch(Exception):
    pass


def _expand(nodes: list[Column], levels: list[list[Cell]], level: int, out: list[tuple[Column, Cell]]) -> None:
    """Consume the printed header labels of `level` as the spec nodes, in the order printed; a
    group's children are read one level down. A lone group not printed at all (申请人情况 left
    out) is passed over to its children."""
    remaining = list(nodes)
    while remaining:
        if level >= len(levels) or not levels[level]:
            raise _HeaderMismatch
        cell = levels[level][0]
        node = best(cell.text, [(n.label, n) for n in remaining])
        if node is None:
            # only a lone group can go unprinted: with siblings (行政复议 | 行政诉讼, whose children
            # share labels) which group the labels belong to could not be told
            group = nodes[0] if len(nodes) == 1 and nodes[0].children and \
                best(cell.text, [(c.label, c) for c in nodes[0].children]) else None
            if group is None or group not in remaining:
                raise _HeaderMismatch
            remaining.remove(group)
            _expand(group.children, levels, level, out)
            continue
        levels[level].pop(0)
        remaining.remove(node)
        if node.children:
            _expand(node.children, levels, level + 1, out)
        else:
            out.append((node, cell))


def _row_name(row: Row, table: SpecTable | None = None) -> str:
    return row.label or (table.name if table else "")


def match(spec: FormSpec, pub: Published) -> Matched:
    m = _Matcher(spec)
    m.grids = pub.grids
    for grid in pub.grids:
        for cells in grid.rows:
            m.row(grid, cells)
    return m.finish()
