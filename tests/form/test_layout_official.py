"""The generated workbook, read the way a person reads the printed table, against FORMAT.md.

Independent of the spec on purpose: every label, row, column, group header and merge expected
here is typed in from the official layout (FORMAT.md, /work/shared/domain/FORMAT.md), and the
workbook is read with openpyxl as a grid of displayed text (a merged range shows its text in
every cell it covers). A label path is what a reader sees left of a cell (columns A–C of table
三), a header path what they see above it. Only xltool's writer is used, to make the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from xltool.form.forms import get_spec
from xltool.generate.writer import write_workbook

VERSIONS = ("2019", "2021")
FORMAT_MD = Path("/work/shared/domain/FORMAT.md")

# --- the official layout, typed in from FORMAT.md ------------------------------------------------

SHEET_T2, SHEET_T3, SHEET_T4 = "二、主动公开", "三、依申请公开", "四、复议诉讼"
TITLE_T2 = "二、主动公开政府信息情况"
TITLE_T3 = "三、收到和处理政府信息公开申请情况"
TITLE_T4 = "四、政府信息公开行政复议、行政诉讼情况"

# table 二: (block title, value column headers, item rows) in sheet order
T2_BLOCKS = {
    "2019": [
        ("第二十条第（一）项", ["本年新制作数量", "本年新公开数量", "对外公开总数量"], ["规章", "规范性文件"]),
        ("第二十条第（五）项", ["上一年项目数量", "本年增/减", "处理决定数量"], ["行政许可", "其他对外管理服务事项"]),
        ("第二十条第（六）项", ["上一年项目数量", "本年增/减", "处理决定数量"], ["行政处罚", "行政强制"]),
        ("第二十条第（八）项", ["上一年项目数量", "本年增/减"], ["行政事业性收费"]),
        ("第二十条第（九）项", ["采购项目数量", "采购总金额"], ["政府集中采购"]),
    ],
    "2021": [
        ("第二十条第（一）项", ["本年制发件数", "本年废止件数", "现行有效件数"], ["规章", "行政规范性文件"]),
        ("第二十条第（五）项", ["本年处理决定数量"], ["行政许可"]),
        ("第二十条第（六）项", ["本年处理决定数量"], ["行政处罚", "行政强制"]),
        ("第二十条第（八）项", ["本年收费金额（单位：万元）"], ["行政事业性收费"]),
    ],
}
T2_VALUE_CELLS = {"2019": 22, "2021": 10}
T2_CORNER = "信息内容"
DELTA_HEADER = "本年增/减"                                    # 2019: signed
AMOUNT_HEADERS = {"2019": "采购总金额", "2021": "本年收费金额（单位：万元）"}  # decimals >= 0, in 万元

# table 三
T3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
T3_COLUMNS = [
    ("申请人情况", "自然人"),
    ("申请人情况", "法人或其他组织", "商业企业"),
    ("申请人情况", "法人或其他组织", "科研机构"),
    ("申请人情况", "法人或其他组织", "社会公益组织"),
    ("申请人情况", "法人或其他组织", "法律服务机构"),
    ("申请人情况", "法人或其他组织", "其他"),
    ("申请人情况", "总计"),
]
T3_TOTAL_COLUMN = ("申请人情况", "总计")
R1, R2, R3, R4 = ("一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量",
                  "三、本年度办理结果", "四、结转下年度继续办理")
G3, G4, G5, G6 = "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"
T3_WITHHELD = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及\u201c三安全一稳定\u201d", "4.保护第三方合法权益",
               "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"]
T3_UNAVAILABLE = ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"]
T3_DECLINED = ["1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物", "4.无正当理由大量反复申请",
               "5.要求行政机关确认或重新出具已获取信息"]
T3_OTHER_2021 = ["1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
                 "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "3.其他"]
T3_RESULTS_TOTAL = (R3, "（七）总计")


def _t3_rows(version: str) -> list[tuple[str, ...]]:
    other = [(R3, G6)] if version == "2019" else [(R3, G6, x) for x in T3_OTHER_2021]
    return [(R1,), (R2,),
            (R3, "（一）予以公开"), (R3, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
            *[(R3, G3, x) for x in T3_WITHHELD], *[(R3, G4, x) for x in T3_UNAVAILABLE],
            *[(R3, G5, x) for x in T3_DECLINED], *other, T3_RESULTS_TOTAL, (R4,)]


T3_ROWS = {v: _t3_rows(v) for v in VERSIONS}
T3_VALUE_ROWS = {"2019": 23, "2021": 25}                  # FORMAT.md: 161 and 175 cells

# table 四
T4_RESULTS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
T4_COLUMNS = ([("行政复议", x) for x in T4_RESULTS]
              + [("行政诉讼", "未经复议直接起诉", x) for x in T4_RESULTS]
              + [("行政诉讼", "复议后起诉", x) for x in T4_RESULTS])


def all_labels(version: str) -> dict[str, set[str]]:
    """Every official label, by the sheet it belongs on."""
    t2 = {T2_CORNER, TITLE_T2}
    for title, cols, items in T2_BLOCKS[version]:
        t2 |= {title, *cols, *items}
    t3 = {TITLE_T3, T3_CORNER, *(x for path in T3_COLUMNS for x in path), *(x for path in T3_ROWS[version] for x in path)}
    t4 = {TITLE_T4, *(x for path in T4_COLUMNS for x in path)}
    return {SHEET_T2: t2, SHEET_T3: t3, SHEET_T4: t4}


# --- reading a sheet like a person ---------------------------------------------------------------

class Grid:
    """Displayed text of a sheet: a merged range shows its text in every cell it covers."""

    def __init__(self, ws):
        self.ws = ws
        self.text: dict[tuple[int, int], str] = {}
        self.anchor: dict[tuple[int, int], tuple[int, int]] = {}   # cell -> top-left of its merge
        self.merges: set[str] = {str(r) for r in ws.merged_cells.ranges}
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.startswith("="):
                    self.text[(cell.row, cell.column)] = cell.value
        for rng in ws.merged_cells.ranges:
            top = (rng.min_row, rng.min_col)
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    self.anchor[(r, c)] = top
                    if top in self.text:
                        self.text[(r, c)] = self.text[top]

    def at(self, row: int, col: int) -> str | None:
        return self.text.get((row, col))

    def cell(self, row: int, col: int):
        r, c = self.anchor.get((row, col), (row, col))
        return self.ws.cell(r, c)

    def find(self, text: str) -> list[tuple[int, int]]:
        """Top-left cells showing exactly this text."""
        return sorted({self.anchor.get(rc, rc) for rc, t in self.text.items() if t == text})

    def path(self, row: int, cols: range) -> tuple[str, ...]:
        """Distinct texts left to right (a row-label path)."""
        return _distinct(self.at(row, c) for c in cols)

    def header_path(self, rows: range, col: int, skip: set[str] = frozenset()) -> tuple[str, ...]:
        """Distinct texts top to bottom (a column-header path)."""
        return _distinct(t for t in (self.at(r, col) for r in rows) if t not in skip)

    def all_text(self) -> set[str]:
        return set(self.text.values())


def _distinct(texts) -> tuple[str, ...]:
    out: list[str] = []
    for t in texts:
        if t and (not out or out[-1] != t):
            out.append(t)
    return tuple(out)


def is_formula(cell) -> bool:
    return isinstance(cell.value, str) and cell.value.startswith("=")


def is_input(cell) -> bool:
    return cell.protection.locked is False and not is_formula(cell)


def dv_for(ws, coordinate: str):
    found = [dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref]
    assert len(found) == 1, f"{ws.title}!{coordinate}: expected one data validation, found {len(found)}"
    return found[0]


def dv_accepts(dv, x: float) -> bool:
    """Would Excel's data validation accept the number x?"""
    if dv.type == "whole" and x != int(x):
        return False
    f1 = float(dv.formula1) if dv.formula1 is not None else None
    f2 = float(dv.formula2) if dv.formula2 is not None else None
    op = dv.operator or "between"
    return {"between": lambda: f1 <= x <= f2, "notBetween": lambda: not (f1 <= x <= f2),
            "greaterThanOrEqual": lambda: x >= f1, "greaterThan": lambda: x > f1,
            "lessThanOrEqual": lambda: x <= f1, "lessThan": lambda: x < f1,
            "equal": lambda: x == f1, "notEqual": lambda: x != f1}[op]()


def assert_number_validation(ws, cell, kind: str, where: str) -> None:
    dv = dv_for(ws, cell.coordinate)
    assert dv.showErrorMessage and dv.errorStyle in (None, "stop"), f"{where}: a wrong entry must be refused (stop)"
    if kind == "count":
        assert dv.type == "whole", where
        assert dv_accepts(dv, 0) and dv_accepts(dv, 3119) and not dv_accepts(dv, -1) and not dv_accepts(dv, 1.5), where
    elif kind == "delta":
        assert dv.type == "whole", where
        assert dv_accepts(dv, -18) and dv_accepts(dv, 0) and dv_accepts(dv, 25) and not dv_accepts(dv, 1.5), where
    elif kind == "amount":
        assert dv.type == "decimal", where   # a decimal rule also refuses text such as 14.495万元
        assert dv_accepts(dv, 14.495) and dv_accepts(dv, 24252.311082) and dv_accepts(dv, 0), where
        assert not dv_accepts(dv, -0.01), where
        assert "万元" in cell.number_format, f"{where}: number format {cell.number_format!r} does not show 万元"
    else:
        raise AssertionError(kind)


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=VERSIONS)
def book(request, tmp_path_factory):
    version = request.param
    path = tmp_path_factory.mktemp(f"layout{version}") / f"govinfo-{version}.xlsx"
    write_workbook(get_spec(f"govinfo-annual-{version}"), path)
    wb = openpyxl.load_workbook(path)
    return version, wb, {ws.title: Grid(ws) for ws in wb.worksheets}


# --- table 三 -----------------------------------------------------------------------------------

def t3_frame(grid: Grid, version: str):
    """(first header row, {row path: sheet row}, {column path: [sheet columns]}) as a reader finds them."""
    hits = grid.find("申请人情况")
    assert len(hits) == 1, f"申请人情况 should head table 三 once, found {hits}"
    h, first_col = hits[0]
    assert first_col == 4, "申请人情况 should start in column D (A–C hold the row labels)"
    cols = {}
    for c in range(4, grid.ws.max_column + 1):
        p = grid.header_path(range(h, h + 3), c)
        if p:
            cols.setdefault(p, []).append(c)
    rows, last = {}, T3_ROWS[version][-1]
    for r in range(h + 3, grid.ws.max_row + 1):
        p = grid.path(r, range(1, 4))
        rows.setdefault(p, []).append(r)
        if p == last:
            break
    return h, rows, cols


def test_t3_rows_and_columns(book):
    version, wb, grids = book
    grid = grids[SHEET_T3]
    h, rows, cols = t3_frame(grid, version)
    assert list(rows) == T3_ROWS[version], "table 三 body rows (label paths, top to bottom) differ from FORMAT.md"
    assert len(rows) == T3_VALUE_ROWS[version]
    assert list(cols) == T3_COLUMNS, "table 三 value columns (header paths, left to right) differ from FORMAT.md"
    assert all(len(v) == 1 for v in cols.values()) and all(len(v) == 1 for v in rows.values())
    assert grid.header_path(range(h, h + 3), 1) == (T3_CORNER,)
    n_inputs = n_formulas = 0
    for row_path in T3_ROWS[version]:
        for col_path in T3_COLUMNS:
            found = {grid.anchor.get((r, c), (r, c)) for r in rows[row_path] for c in cols[col_path]}
            where = f"table 三 [{' > '.join(row_path)} | {' > '.join(col_path)}]"
            assert len(found) == 1, f"{where}: {len(found)} cells"
            cell = grid.cell(*found.pop())
            if col_path == T3_TOTAL_COLUMN or row_path == T3_RESULTS_TOTAL:
                assert is_formula(cell) and cell.protection.locked is not False, f"{where} {cell.coordinate}: a locked formula"
                n_formulas += 1
            else:
                assert is_input(cell), f"{where} {cell.coordinate}: an unlocked input (value {cell.value!r})"
                assert_number_validation(grid.ws, cell, "count", f"{where} {cell.coordinate}")
                n_inputs += 1
    assert n_inputs + n_formulas == 7 * T3_VALUE_ROWS[version]
    assert n_formulas == T3_VALUE_ROWS[version] + 6


def test_t3_merges(book):
    version, wb, grids = book
    grid = grids[SHEET_T3]
    h, rows, _ = t3_frame(grid, version)
    expected = {
        f"A{h}:C{h + 2}": T3_CORNER,
        f"D{h}:J{h}": "申请人情况",
        f"E{h + 1}:I{h + 1}": "法人或其他组织",
        f"D{h + 1}:D{h + 2}": "自然人",
        f"J{h + 1}:J{h + 2}": "总计",
    }
    # row labels: level 1 in A, level 2 in B, level 3 in C; a group spans its sub-rows,
    # a label without sub-rows spans right to column C
    body = T3_ROWS[version]
    result_rows = [rows[p][0] for p in body if p[0] == R3]
    expected[f"A{result_rows[0]}:A{result_rows[-1]}"] = R3
    for group in (G3, G4, G5) + ((G6,) if version == "2021" else ()):
        sub = [rows[p][0] for p in body if len(p) == 3 and p[1] == group]
        expected[f"B{sub[0]}:B{sub[-1]}"] = group
    for p in body:
        r = rows[p][0]
        if len(p) == 1:
            expected[f"A{r}:C{r}"] = p[0]
        elif len(p) == 2:
            expected[f"B{r}:C{r}"] = p[1]
    for rng, text in expected.items():
        assert rng in grid.merges, f"table 三: {text} should be merged over {rng}"
        top = rng.split(":")[0]
        assert grid.ws[top].value == text, f"table 三 {top}: {grid.ws[top].value!r}, expected {text!r}"
    # no header or body cell right of J
    assert all(grid.at(r, c) is None for r in range(h, rows[body[-1]][0] + 1) for c in range(11, grid.ws.max_column + 1))


# --- table 四 -----------------------------------------------------------------------------------

def test_t4_columns_and_merges(book):
    version, wb, grids = book
    grid = grids[SHEET_T4]
    hits = grid.find("行政复议")
    assert len(hits) == 1
    h, c0 = hits[0]
    assert c0 == 1, "行政复议 should start in column A"
    cols = [grid.header_path(range(h, h + 3), c) for c in range(1, 16)]
    assert cols == T4_COLUMNS, "table 四 header paths differ from FORMAT.md"
    assert all(grid.header_path(range(h, h + 3), c) == () for c in range(16, grid.ws.max_column + 2))
    value_row = h + 3
    for i, col_path in enumerate(T4_COLUMNS, start=1):
        cell = grid.cell(value_row, i)
        assert (cell.row, cell.column) == (value_row, i), f"table 四 column {i}: one cell per column"
        where = f"table 四 [{' > '.join(col_path)}] {cell.coordinate}"
        if col_path[-1] == "总计":
            assert is_formula(cell) and cell.protection.locked is not False, f"{where}: a locked formula"
        else:
            assert is_input(cell), f"{where}: an unlocked input"
            assert_number_validation(grid.ws, cell, "count", where)
    expected = {f"A{h}:E{h}": "行政复议", f"F{h}:O{h}": "行政诉讼",
                f"F{h + 1}:J{h + 1}": "未经复议直接起诉", f"K{h + 1}:O{h + 1}": "复议后起诉"}
    for i, leaf in enumerate(T4_RESULTS, start=1):
        expected[f"{get_column_letter(i)}{h + 1}:{get_column_letter(i)}{h + 2}"] = leaf
    for rng, text in expected.items():
        assert rng in grid.merges, f"table 四: {text} should be merged over {rng}"
        assert grid.ws[rng.split(":")[0]].value == text
    # the leaves under 行政诉讼 sit in the third header row, unmerged
    for c in range(6, 16):
        assert grid.ws.cell(h + 2, c).value == T4_RESULTS[(c - 6) % 5]


# --- table 二 -----------------------------------------------------------------------------------

def t2_blocks(grid: Grid):
    """[(title, title row, [(header, [cols])], [(item, row)])] as a reader sees the stack of blocks."""
    title_re = re.compile(r"^第二十条第（.+）项$")
    titles = sorted((r, t) for (r, c), t in grid.text.items() if c == 1 and title_re.match(t))
    out = []
    for i, (r, title) in enumerate(titles):
        end = titles[i + 1][0] if i + 1 < len(titles) else grid.ws.max_row + 1
        headers: dict[str, list[int]] = {}
        for c in range(2, grid.ws.max_column + 1):
            t = grid.at(r + 1, c)
            if t:
                headers.setdefault(t, []).append(c)
        items = [(grid.at(x, 1), x) for x in range(r + 2, end) if grid.at(x, 1)]
        out.append((title, r, list(headers.items()), items))
    return out


def test_t2_blocks(book):
    version, wb, grids = book
    grid = grids[SHEET_T2]
    blocks = t2_blocks(grid)
    seen = [(title, [h for h, _ in headers], [it for it, _ in items]) for title, _, headers, items in blocks]
    assert seen == [(t, cols, items) for t, cols, items in T2_BLOCKS[version]], "table 二 blocks differ from FORMAT.md"
    width = grid.ws.max_column
    assert width == 4, "table 二 has four logical columns (item label + up to three values)"
    n = 0
    for title, r, headers, items in blocks:
        assert f"A{r}:{get_column_letter(width)}{r}" in grid.merges, f"{title}: a full-width title row"
        assert grid.at(r + 1, 1) == T2_CORNER, f"{title}: header row starts {T2_CORNER}"
        for item, row in items:
            for header, cols in headers:
                where = f"table 二 {title} [{item} | {header}]"
                found = {grid.anchor.get((row, c), (row, c)) for c in cols}
                assert len(found) == 1, f"{where}: {len(found)} cells"
                cell = grid.cell(*found.pop())
                assert is_input(cell), f"{where} {cell.coordinate}: an unlocked input"
                # the value cell covers the same columns as its header (merged over the rest of the width)
                span = [c for c in range(2, width + 1) if grid.anchor.get((row, c), (row, c)) == (cell.row, cell.column)]
                assert span == cols, f"{where}: value cell spans columns {span}, its header {cols}"
                kind = ("delta" if header == DELTA_HEADER and version == "2019"
                        else "amount" if header == AMOUNT_HEADERS[version] else "count")
                assert_number_validation(grid.ws, cell, kind, f"{where} {cell.coordinate}")
                n += 1
    assert n == T2_VALUE_CELLS[version]


# --- labels, locks -----------------------------------------------------------------------------

def test_every_official_label_appears_verbatim(book):
    version, wb, grids = book
    for sheet, labels in all_labels(version).items():
        missing = sorted(labels - grids[sheet].all_text())
        assert not missing, f"{sheet}: labels of FORMAT.md not found verbatim: {missing}"
    quoted = [t for t in grids[SHEET_T3].all_text() if "三安全一稳定" in t]
    assert quoted == ["3.危及\u201c三安全一稳定\u201d"], f"curly quotes U+201C/U+201D expected, got {quoted!r}"


def test_labels_and_formulas_locked_inputs_unlocked(book):
    version, wb, grids = book
    for name in (SHEET_T2, SHEET_T3, SHEET_T4):
        grid = grids[name]
        assert grid.ws.protection.sheet, f"{name} must be protected"
        for (r, c), text in grid.text.items():
            cell = grid.cell(r, c)
            assert cell.protection.locked is not False, f"{name}!{cell.coordinate} label {text!r} is not locked"
        for row in grid.ws.iter_rows():
            for cell in row:
                if is_formula(cell):
                    assert cell.protection.locked is not False, f"{name}!{cell.coordinate} formula is not locked"


@pytest.mark.skipif(not FORMAT_MD.exists(), reason=f"{FORMAT_MD} (the domain notes) is not on this machine")
def test_expected_labels_are_typed_from_format_md():
    """Guards the hard-coded lists above against typos: each is verbatim in FORMAT.md."""
    text = FORMAT_MD.read_text(encoding="utf-8")
    for version in VERSIONS:
        for sheet, labels in all_labels(version).items():
            for label in labels:
                assert label in text, f"{label!r} is not verbatim in FORMAT.md"
