"""Structure: the form's sheets are there, protected, and their labels where the template put them.

A sheet that is missing or whose rows/columns were shifted is recorded in `ctx.broken_sheets`:
its cells are not where the layout says, so the later units do not read them.
"""

from __future__ import annotations

from collections.abc import Iterator

from xltool.checks.bounds import clip
from xltool.checks.context import Context
from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.layout import a1
from xltool.xlsx.model import SheetData

SHEET_MISSING = Code("sheet-missing", ERROR,
                     zh="缺少工作表“{sheet}”（可能被删除或改名）。请使用下发的原模板填写。",
                     en="Sheet {sheet} is missing (deleted or renamed). Use the issued template.")
LAYOUT_SHIFTED = Code("layout-shifted", ERROR,
                      zh="表格被插入或删除了行/列：标签“{label}”应在 {expected}，现在在 {found}。数字可能错位，请在原模板中重新填写，不要增删行列。",
                      en="Rows or columns were inserted or deleted: label {label} belongs at {expected} but is at {found}. "
                         "Numbers may be misplaced; refill the original template without adding or removing rows/columns.")
LABEL_CHANGED = Code("label-changed", WARNING,
                     zh="标签被改动：应为“{expected}”，现为“{found}”。请不要修改表格标签。",
                     en="A label was edited: expected {expected}, found {found}. Do not change the table labels.")
PROTECTION_REMOVED = Code("protection-removed", WARNING,
                          zh="工作表“{sheet}”的保护被撤销了。数字已照常读取；请确认没有改动表格结构和公式。",
                          en="Protection was removed from sheet {sheet}. Values were read; make sure no structure or formula was changed.")


def check(ctx: Context) -> Iterator[Finding]:
    for sl in ctx.layout.sheets:
        sheet = ctx.data.sheets.get(sl.name)
        if sheet is None:
            ctx.broken_sheets.add(sl.name)
            yield SHEET_MISSING.at(sheet=sl.name)
            continue
        if not sheet.protected:
            yield PROTECTION_REMOVED.at(sheet=sl.name)
        shifted = False
        for lab in sl.labels:
            found = sheet.text(lab.row, lab.col).strip()
            if found == lab.text:
                continue
            moved = _find_label(sheet, lab.text)
            if moved is not None and not shifted:
                shifted = True
                ctx.broken_sheets.add(sl.name)
                yield LAYOUT_SHIFTED.at(sheet=sl.name, cell=a1(lab.row, lab.col), label=lab.text,
                                        expected=a1(lab.row, lab.col), found=a1(*moved))
            elif moved is None:
                yield LABEL_CHANGED.at(sheet=sl.name, cell=a1(lab.row, lab.col), expected=lab.text,
                                       found=clip(found) or "（空）")


def _find_label(sheet: SheetData, text: str) -> tuple[int, int] | None:
    for (r, c), cell in sheet.cells.items():
        if isinstance(cell.value, str) and cell.value.strip() == text:
            return r, c
    return None
