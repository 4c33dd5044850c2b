"""Blanks: number cells left empty, by the spec's `blank` policy (read as 0 with one warning per
table, or an error per cell); a table left entirely blank is an error either way."""

from __future__ import annotations

from collections.abc import Iterator

from xltool.checks.context import Context
from xltool.findings import ERROR, WARNING, Code, Finding

BLANK_CELLS = Code("blank-cells", WARNING,
                   zh="“{table}”有 {count} 个格子未填写，已按 0 计：{cells}。如确为 0，请填 0。",
                   en="{table}: {count} cell(s) left blank were read as 0: {cells}. If they are 0, type 0.")
TABLE_BLANK = Code("table-blank", ERROR,
                   zh="“{table}”整张表都没有填写。请填写该表（没有发生的填 0）。",
                   en="{table} was left entirely blank. Fill it in (type 0 where nothing happened).")
FIELD_REQUIRED = Code("field-required", ERROR,
                      zh="“{label}”（{cell}）必须填写。",
                      en="{label} ({cell}) is required.")
CELLS_SHOWN = 12


def check(ctx: Context) -> Iterator[Finding]:
    for sl, sheet_spec in zip(ctx.layout.sheets, ctx.spec.sheets):
        empty = ctx.blanks.get(sl.name, [])
        if sl.is_fields or sl.name in ctx.broken_sheets or not empty:
            continue
        numeric = [c for c in sl.cells if not c.computed and c.type.numeric]
        table = sheet_spec.title or sl.name
        cells = [c.a1 for c in empty]
        if len(empty) == len(numeric):
            yield TABLE_BLANK.at(sheet=sl.name, cell=cells[0], ids=[c.id for c in empty], table=table)
        elif ctx.spec.blank == "error":
            for c in empty:
                yield FIELD_REQUIRED.at(sheet=sl.name, cell=c.a1, ids=[c.id], label=c.title)
        else:
            shown = cells if len(cells) <= CELLS_SHOWN else cells[:CELLS_SHOWN] + [f"…（共 {len(cells)} 个）"]
            yield BLANK_CELLS.at(sheet=sl.name, cell=cells[0], ids=[c.id for c in empty], table=table,
                                 count=len(cells), cells=shown, all_cells=cells)
