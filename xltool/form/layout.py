"""Layout: where every label, input, formula and live check of a form sits in the workbook.

This is the one mapping from spec to cells. The writer draws it, the reader reads through
it, the recalculation compiles its formulas, the fingerprint hashes it: they cannot drift.
Rows and columns are 0-based here (as in xlsxwriter); `a1()` gives the A1 name.

How a table is laid out (the official arrangement of FORMAT.md):
- an optional full-width title row (第二十条第（一）项);
- header rows, one per level of the column tree; a group spans its leaves, a leaf above the
  last level is merged down to it (自然人 D2:D3);
- the corner cell above the row labels, merged over the header block (A1:C3);
- one sheet row per leaf row; a row group spans its leaves in its level's column, a leaf
  above the last level is merged right to the last label column (一、… A:C);
- tables stacked on one sheet share its columns: a table narrower than the widest stretches
  its last value column over the rest (2021 第二十条第（五）项's single value cell).
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass, field

from xltool.cells import a1
from xltool.form.spec import CellType, FormSpec, Sheet, SpecError, Table, depth, formula_ref_spans, leaves

META_SHEET = "_xltool"          # the very hidden sheet that identifies a generated workbook
ROW_HEIGHT = 15.0               # points: one line of 11 pt 宋体
CHECK_OK, CHECK_BAD = "✓", "✗"


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def display_width(text: str) -> int:
    """Width in Excel's column units: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass(frozen=True)
class Label:
    row: int
    col: int
    text: str
    role: str                      # title | block | header | corner | row | field | check | hint
    last_row: int | None = None    # merged down/right to here
    last_col: int | None = None

    @property
    def merged(self) -> bool:
        return (self.last_row, self.last_col) != (None, None) and (self.last_row, self.last_col) != (self.row, self.col)

    @property
    def end(self) -> tuple[int, int]:
        return (self.last_row if self.last_row is not None else self.row,
                self.last_col if self.last_col is not None else self.col)


@dataclass(frozen=True)
class ValueCell:
    """A cell that holds a value of the form: an input, or a formula the template computes."""

    id: str                        # stable ASCII id, the JSON key: t3.new.total, meta.agency
    sheet: str                     # sheet name
    row: int
    col: int
    type_name: str
    type: CellType
    label_path: tuple[str, ...]    # row labels (or the field label), outermost first
    column_path: tuple[str, ...]   # column headers that tell cells apart
    table: str | None = None
    row_id: str | None = None
    col_id: str | None = None
    role: str | None = None        # agency | year | region | code for metadata fields
    formula: str | None = None     # "=SUM(D5:I5)": the template's formula, in this sheet's A1
    rule: str | None = None        # the identity the formula implements
    depends: tuple[str, ...] = ()  # ids the formula reads
    last_col: int | None = None    # merged right to here

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)

    @property
    def computed(self) -> bool:
        return self.formula is not None

    @property
    def title(self) -> str:
        """The official label path: 三、本年度办理结果 > （三）不予公开 > 1.属于国家秘密 | 自然人."""
        rows = " > ".join(self.label_path)
        cols = " > ".join(self.column_path)
        return f"{rows} | {cols}" if rows and cols else rows or cols


@dataclass(frozen=True)
class CheckCell:
    """A live check in the sheet: ✓ or ✗ from a check rule, for one column (or row)."""

    rule: str
    sheet: str
    row: int
    col: int
    key: str                       # the column (or row) id the check is for
    key_label: str
    lhs: str                       # the two sides, as Excel expressions in this sheet's A1
    rhs: str
    lhs_ids: tuple[str, ...]
    rhs_ids: tuple[str, ...]

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)

    @property
    def formula(self) -> str:
        return f'=IF(({self.lhs})=({self.rhs}),"{CHECK_OK}","{CHECK_BAD}")'


@dataclass
class SheetLayout:
    id: str
    name: str
    landscape: bool
    labels: list[Label] = field(default_factory=list)
    cells: list[ValueCell] = field(default_factory=list)
    checks: list[CheckCell] = field(default_factory=list)
    col_widths: list[float] = field(default_factory=list)
    row_heights: dict[int, float] = field(default_factory=dict)
    freeze: tuple[int, int] | None = None
    repeat_rows: tuple[int, int] | None = None
    is_fields: bool = False
    ncols: int = 0


@dataclass
class Layout:
    form_id: str
    version: str
    sheets: list[SheetLayout]
    cells: dict[str, ValueCell]
    fingerprint: str = ""

    def inputs(self) -> list[ValueCell]:
        return [c for c in self.cells.values() if not c.computed]

    def computed(self) -> list[ValueCell]:
        """Formula cells in an order where each comes after the cells it reads."""
        done: set[str] = set()
        order: list[ValueCell] = []

        def visit(cell: ValueCell) -> None:
            if cell.id in done:
                return
            done.add(cell.id)
            for dep in cell.depends:
                if self.cells[dep].computed:
                    visit(self.cells[dep])
            order.append(cell)

        for cell in self.cells.values():
            if cell.computed:
                visit(cell)
        return order

    def checks(self) -> list[CheckCell]:
        return [c for s in self.sheets for c in s.checks]

    def sheet(self, name: str) -> SheetLayout:
        return next(s for s in self.sheets if s.name == name)

    def table_cells(self, table_id: str) -> list[ValueCell]:
        return [c for c in self.cells.values() if c.table == table_id]


# --- building ---------------------------------------------------------------------------------

def build_layout(spec: FormSpec) -> Layout:
    sheets = [(_fields_sheet(spec, s) if s.fields else _tables_sheet(spec, s)) for s in spec.sheets]
    cells: dict[str, ValueCell] = {}
    for sl in sheets:
        _check_no_overlap(spec, sl)
        for c in sl.cells:
            cells[c.id] = c
        _size(sl)
    layout = Layout(spec.id, spec.version, sheets, cells)
    _check_no_cycles(spec, layout)
    layout.fingerprint = fingerprint(layout)
    return layout


def _fields_sheet(spec: FormSpec, sheet: Sheet) -> SheetLayout:
    sl = SheetLayout(sheet.id, sheet.name, sheet.landscape, is_fields=True, ncols=2)
    row = 0
    if sheet.title:
        sl.labels.append(Label(0, 0, sheet.title, "title", 0, 1))
        row = 2
    for f in sheet.fields:
        ctype = spec.types[f.type]
        sl.labels.append(Label(row, 0, f.label, "field"))
        sl.cells.append(ValueCell(id=f"{sheet.id}.{f.id}", sheet=sheet.name, row=row, col=1, type_name=f.type,
                                  type=ctype, label_path=(f.label,), column_path=(), role=f.role))
        if ctype.kind == "longtext":
            sl.row_heights[row] = 240.0
        if f.hint:
            row += 1
            sl.labels.append(Label(row, 1, f.hint, "hint"))
        row += 1
    sl.col_widths = [30.0, 100.0]
    return sl


def _tables_sheet(spec: FormSpec, sheet: Sheet) -> SheetLayout:
    sl = SheetLayout(sheet.id, sheet.name, sheet.landscape)
    sl.ncols = max(_label_cols(t) + len(leaves(t.columns)) for t in sheet.tables)
    row = 0
    if sheet.title:
        sl.labels.append(Label(0, 0, sheet.title, "title", 0, sl.ncols - 1))
        row = 1
    single = len(sheet.tables) == 1
    for table in sheet.tables:
        header_top = row + (1 if table.title else 0)
        row = _place_table(spec, sheet, table, sl, row)
        if single:
            body_top = header_top + depth(table.columns)
            sl.freeze = (body_top, _label_cols(table))
            sl.repeat_rows = (0, body_top - 1)
    if not single:
        sl.freeze = (1, 0) if sheet.title else None
    return sl


def _label_cols(table: Table) -> int:
    return 0 if all(r.label is None for r in table.rows) else depth(table.rows)


def _place_table(spec: FormSpec, sheet: Sheet, table: Table, sl: SheetLayout, row: int) -> int:
    label_cols = _label_cols(table)
    col_leaves = leaves(table.columns)
    row_leaves = leaves(table.rows)
    hdr_depth = depth(table.columns)
    if table.title:
        sl.labels.append(Label(row, 0, table.title, "block", row, sl.ncols - 1))
        row += 1
    top = row
    if label_cols and table.corner is not None:
        sl.labels.append(Label(top, 0, table.corner, "corner", top + hdr_depth - 1, label_cols - 1))

    # where each leaf column sits; the last one stretches over what this table leaves of the grid
    col_at = {c.id: label_cols + i for i, c in enumerate(col_leaves)}
    last_col_end = sl.ncols - 1

    def span_end(leaf_index: int) -> int:
        return last_col_end if leaf_index == len(col_leaves) - 1 else label_cols + leaf_index

    # column headers; `paths` keeps, per leaf column, the header labels that tell cells apart
    paths: dict[str, tuple[str, ...]] = {}

    def place_cols(nodes, level: int, path: tuple[str, ...]) -> None:
        for node in nodes:
            its_leaves = leaves([node])
            first = col_leaves.index(its_leaves[0])
            last = col_leaves.index(its_leaves[-1])
            c1, c2 = label_cols + first, span_end(last)
            # a header over every value column says nothing that tells cells apart (申请人情况)
            in_path = not (len(its_leaves) == len(col_leaves) and node.children and len(col_leaves) > 1)
            sub = path + ((node.label,) if in_path else ())
            if node.children:
                sl.labels.append(Label(top + level, c1, node.label, "header", top + level, c2))
                place_cols(node.children, level + 1, sub)
            else:
                sl.labels.append(Label(top + level, c1, node.label, "header", top + hdr_depth - 1, c2))
                paths[node.id] = sub

    place_cols(table.columns, 0, ())
    body = top + hdr_depth
    row_at = {r.id: body + i for i, r in enumerate(row_leaves)}
    row_paths: dict[str, tuple[str, ...]] = {}

    def place_rows(nodes, level: int, path: tuple[str, ...]) -> None:
        for node in nodes:
            its_leaves = leaves([node])
            r1, r2 = row_at[its_leaves[0].id], row_at[its_leaves[-1].id]
            if node.label is None:
                row_paths[node.id] = ()
                continue
            sub = path + (node.label,)
            if node.children:
                sl.labels.append(Label(r1, level, node.label, "row", r2, level))
                place_rows(node.children, level + 1, sub)
            else:
                sl.labels.append(Label(r1, level, node.label, "row", r1, label_cols - 1))
                row_paths[node.id] = sub

    place_rows(table.rows, 0, ())

    def ref(row_id: str, col_id: str) -> str:
        return f"{table.id}.{row_id}.{col_id}"

    for r in row_leaves:
        for i, c in enumerate(col_leaves):
            type_name = c.type or r.type or table.type
            formula, rule, deps = None, None, ()
            row_f = (r.formula, r.rule, "row") if r.formula else None
            col_f = (c.formula, c.rule, "col") if c.formula else None
            chosen = (col_f or row_f) if table.formula_wins == "column" else (row_f or col_f)
            if chosen:
                expr, rule, axis = chosen
                if axis == "col":   # names are column ids, in this row
                    formula, deps = _translate(spec, table, expr, lambda n: (row_at[r.id], col_at[n]),
                                               lambda n: ref(r.id, n), [x.id for x in col_leaves], sheet.name)
                else:               # names are row ids, in this column
                    formula, deps = _translate(spec, table, expr, lambda n: (row_at[n], col_at[c.id]),
                                               lambda n: ref(n, c.id), [x.id for x in row_leaves], sheet.name)
                formula = "=" + formula
            end = span_end(i)
            sl.cells.append(ValueCell(
                id=ref(r.id, c.id), sheet=sheet.name, row=row_at[r.id], col=col_at[c.id],
                type_name=type_name, type=spec.types[type_name], label_path=row_paths[r.id],
                column_path=paths[c.id], table=table.id, row_id=r.id, col_id=c.id,
                formula=formula, rule=rule, depends=deps,
                last_col=end if end != col_at[c.id] else None))
    row = body + len(row_leaves)
    return _place_checks(spec, sheet, table, sl, row, row_at, col_at, row_paths, paths, label_cols)


def _place_checks(spec, sheet, table, sl, row, row_at, col_at, row_paths, col_paths, label_cols) -> int:
    """Live checks under the table (per column) or right of it (per row), with a hint row."""
    col_leaves, row_leaves = leaves(table.columns), leaves(table.rows)
    for rule in spec.rules:
        if rule.kind != "check" or rule.table != table.id:
            continue
        lhs, rhs = rule.sides
        ref = lambda r, c: f"{table.id}.{r}.{c}"  # noqa: E731
        if rule.for_each == "column":
            if label_cols:
                sl.labels.append(Label(row, 0, f"勾稽校验（{rule.id}）", "check", row, label_cols - 1))
            for c in col_leaves:
                at = lambda n, c=c: (row_at[n], col_at[c.id])  # noqa: E731
                key = lambda n, c=c: ref(n, c.id)  # noqa: E731
                names = [x.id for x in row_leaves]
                l_expr, l_ids = _translate(spec, table, lhs, at, key, names, sheet.name)
                r_expr, r_ids = _translate(spec, table, rhs, at, key, names, sheet.name)
                sl.checks.append(CheckCell(rule.id, sheet.name, row, col_at[c.id], c.id,
                                           " > ".join(col_paths[c.id]), l_expr, r_expr, l_ids, r_ids))
            hint_row = row + 1
            sl.labels.append(Label(hint_row, 0, f"{CHECK_OK} 表示该列平衡；{CHECK_BAD} 表示不平，请核对。{rule.hint or rule.title}",
                                   "hint", hint_row, sl.ncols - 1))
            row = hint_row + 1
        else:
            check_col = label_cols + len(col_leaves)
            sl.ncols = max(sl.ncols, check_col + 1)
            for r in row_leaves:
                at = lambda n, r=r: (row_at[r.id], col_at[n])  # noqa: E731
                key = lambda n, r=r: ref(r.id, n)  # noqa: E731
                names = [x.id for x in col_leaves]
                l_expr, l_ids = _translate(spec, table, lhs, at, key, names, sheet.name)
                r_expr, r_ids = _translate(spec, table, rhs, at, key, names, sheet.name)
                sl.checks.append(CheckCell(rule.id, sheet.name, row_at[r.id], check_col, r.id,
                                           " > ".join(row_paths[r.id]), l_expr, r_expr, l_ids, r_ids))
    return row


def _translate(spec: FormSpec, table: Table, expr: str, place, key, order: list[str], sheet_name: str):
    """A spec expression -> (Excel expression in A1, ids it reads).

    Bare names are this table's row (or column) ids and `place(name)` says where they sit;
    `a:b` is the run of ids from a to b in table order; table.row.col is an absolute cell.
    """
    out, deps, pos = [], [], 0
    spans = formula_ref_spans(expr)
    for i, (name, start, end) in enumerate(spans):
        out.append(expr[pos:start])
        if "." in name:
            tid, row_id, col_id = name.split(".")
            cell = _absolute_cell(spec, tid, row_id, col_id)
            out.append(a1(*cell[1]) if cell[0] == sheet_name else f"{quote_sheet(cell[0])}!{a1(*cell[1])}")
            deps.append(name)
        else:
            out.append(a1(*place(name)))
            prev_is_range_start = i > 0 and expr[spans[i - 1][2]:start].strip() == ":"
            if prev_is_range_start:
                lo, hi = order.index(spans[i - 1][0]), order.index(name)
                deps.extend(key(n) for n in order[min(lo, hi) + 1:max(lo, hi) + 1])
            else:
                deps.append(key(name))
        pos = end
    out.append(expr[pos:])
    return "".join(out).replace(" ", ""), tuple(dict.fromkeys(deps))


def _absolute_cell(spec: FormSpec, tid: str, row_id: str, col_id: str):
    # Laying out a whole other sheet to find one cell would recurse; tables are small, so
    # lay out just that sheet.
    for sheet, table in spec.tables():
        if table.id == tid:
            for c in _tables_sheet(spec, sheet).cells:
                if c.table == tid and c.row_id == row_id and c.col_id == col_id:
                    return sheet.name, (c.row, c.col)
    raise ValueError(f"{tid}.{row_id}.{col_id}: no such cell")


def _check_no_overlap(spec: FormSpec, sl: SheetLayout) -> None:
    taken: dict[tuple[int, int], str] = {}

    def claim(r1, c1, r2, c2, what):
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) in taken:
                    raise SpecError(spec.source or spec.id, f"sheet {sl.name!r}",
                                    f"{what} overlaps {taken[(r, c)]} at {a1(r, c)}")
                taken[(r, c)] = what

    for lab in sl.labels:
        claim(lab.row, lab.col, *lab.end, f"label {lab.text!r}")
    for c in sl.cells:
        claim(c.row, c.col, c.row, c.last_col if c.last_col is not None else c.col, f"cell {c.id}")
    for ch in sl.checks:
        claim(ch.row, ch.col, ch.row, ch.col, f"check {ch.rule}")


def _check_no_cycles(spec: FormSpec, layout: Layout) -> None:
    state: dict[str, int] = {}

    def visit(cid: str, trail: list[str]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            raise SpecError(spec.source or spec.id, "formulas", "formulas refer to each other in a circle: "
                            + " -> ".join(trail + [cid]))
        state[cid] = 1
        for dep in layout.cells[cid].depends:
            visit(dep, trail + [cid])
        state[cid] = 2

    for cid, cell in layout.cells.items():
        if cell.computed:
            visit(cid, [])


def _size(sl: SheetLayout) -> None:
    """Column widths that show every label; taller rows where a label has to wrap."""
    if sl.is_fields:
        return
    widths = [8.0] * sl.ncols
    for lab in sl.labels:
        if lab.role in ("title", "block", "hint", "check"):
            continue
        if lab.end[1] == lab.col:  # not merged across columns: its own column must fit it
            widths[lab.col] = max(widths[lab.col], min(display_width(lab.text) + 2, 44.0))
    for c in sl.cells:
        if c.last_col is None:
            widths[c.col] = max(widths[c.col], 12.0 if c.type.kind == "integer" else 16.0)
    sl.col_widths = widths
    for lab in sl.labels:
        if lab.role in ("title",):
            continue
        r2, c2 = lab.end
        room = sum(widths[lab.col:c2 + 1]) - 1
        lines = max(1, math.ceil(display_width(lab.text) / max(room, 1)))
        per_row = lines * ROW_HEIGHT / (r2 - lab.row + 1) + 3
        for r in range(lab.row, r2 + 1):
            sl.row_heights[r] = max(sl.row_heights.get(r, ROW_HEIGHT), per_row)
    if any(lab.role == "title" for lab in sl.labels):
        sl.row_heights[0] = 28.0


def fingerprint(layout: Layout) -> str:
    """A hash of what the reader relies on: sheets, labels, cell places, types and formulas."""
    doc = {
        "form": layout.form_id,
        "sheets": [{
            "name": s.name,
            "labels": [[lab.row, lab.col, lab.text, *lab.end] for lab in s.labels],
            "cells": [[c.id, c.row, c.col, c.type.kind, c.formula] for c in s.cells],
            "checks": [[ch.rule, ch.row, ch.col, ch.lhs, ch.rhs] for ch in s.checks],
        } for s in layout.sheets],
    }
    blob = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]
