"""Real returned workbooks for the check units' tests: written by xltool's writer, then edited the way
a clerk (openpyxl standing in for a spreadsheet program) or a hostile file (the sheet XML) would.
A helper, not a test file."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from scripts.make_corpus import edit_parts, openpyxl_edit, part_key
from xltool.checks.context import Context
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.xlsx.read import read_workbook

SPEC = get_spec("govinfo-annual-2021")
L = SPEC.layout
T3 = "三、依申请公开"
T3_PART = "xl/worksheets/sheet4.xml"      # 三、依申请公开, as xlsxwriter numbers the sheets


def filled(path: Path, agency: str = "单元测试局", seed: int = 3, values: dict[str, Any] | None = None,
           **options) -> Path:
    """A return filled with consistent random numbers (`values` instead, when given)."""
    typed = random_inputs(L, random.Random(seed)) if values is None else values
    write_workbook(SPEC, path, Agency(agency, 2024), WriteOptions(values=typed, **options))
    return path


# what a clerk does (open in a spreadsheet program, change, save; openpyxl stands in) and what a hostile
# file does (a part's XML rewritten): the bad-file corpus's own editors
edited = openpyxl_edit


def edit_part(path: Path, part: str, edit) -> Path:
    return edit_parts(path, **{part_key(part): edit})


def set_cell_xml(path: Path, cell: str, inner: str, part: str = T3_PART, t: str | None = None) -> Path:
    """Replace what cell `cell` of table 三 holds by the XML `inner` (its style kept; `t` its cell type)."""
    kind = f' t="{t}"' if t else ""
    def edit(data: bytes) -> bytes:
        text, n = re.subn(r'<c r="%s"( s="\d+")?[^>]*?(/>|>.*?</c>)' % cell,
                          lambda m: f'<c r="{cell}"{m.group(1) or ""}{kind}>{inner}</c>', data.decode(), count=1)
        assert n == 1, cell
        return text.encode()
    return edit_part(path, part, edit)


def context(path: Path) -> Context:
    return Context(SPEC, read_workbook(path))


def run(unit, ctx: Context) -> list:
    """The findings of one unit, as (code, cell) pairs and the findings themselves."""
    return list(unit(ctx))


def where(findings) -> set[tuple[str, str | None]]:
    return {(f.code, f.cell) for f in findings}
