"""Write a protected workbook for one agency from a form's layout, with xlsxwriter.

Only input cells are unlocked; labels, formulas, checks and prefilled metadata are locked.
Totals are formulas stored with their correct cached results (xlsxwriter would store 0), so
a reader that trusts cached values sees right numbers. Inputs carry data validation; live
checks show ✓/✗ with conditional formatting. A very hidden sheet identifies the workbook.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter

from xltool.calc.model import model_for
from xltool.form.layout import CHECK_BAD, CHECK_OK, META_SHEET, Layout, SheetLayout, ValueCell, a1, quote_sheet
from xltool.form.spec import FormSpec
from xltool.generate import same_parts
from xltool.generate.cell_table import CellTable, CellTableUnsupported
from xltool.generate.package_parts import same_drawing
from xltool.version import __version__

DEFAULT_PASSWORD = "xltool"     # documented in the README; coordinators set their own with --password
FONT = "宋体"                    # on every Chinese Windows and in WPS; LibreOffice substitutes a CJK serif
INPUT_FILL = "#FFF7D6"
COMPUTED_FILL = "#E8E8E8"


@dataclass
class Agency:
    """Who a workbook is for. Prefilled metadata is locked in the workbook."""

    name: str | None = None
    year: int | None = None
    region: str | None = None
    code: str | None = None

    def prefill(self) -> dict[str, Any]:
        return {"agency": self.name, "year": self.year, "region": self.region, "code": self.code}


@dataclass
class WriteOptions:
    password: str = DEFAULT_PASSWORD
    values: dict[str, Any] = field(default_factory=dict)   # typed inputs by spec id (samples, tests)
    raw: dict[str, Any] = field(default_factory=dict)      # written as-is over an input (bad samples, feedback)
    # called with (workbook, {sheet name: worksheet}) once the form's sheets are drawn: feedback
    # workbooks add their highlights, comments and list of findings here
    annotate: Callable[[Any, dict[str, Any]], None] | None = None


def name_for(cell_id: str) -> str:
    """The defined name of an input cell: in_t3_new_natural_person."""
    return "in_" + cell_id.replace(".", "_")


class Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}
        box = {**base, "border": 1, "text_wrap": True}
        self.wb = wb
        self.title = wb.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.block = wb.add_format({**box, "bold": True, "align": "center", "bg_color": "#F2F2F2"})
        self.header = wb.add_format({**box, "bold": True, "align": "center", "bg_color": "#F2F2F2"})
        self.corner = wb.add_format({**box, "align": "center", "font_size": 10})
        self.row = wb.add_format({**box, "align": "left"})
        self.field = wb.add_format({**box, "bold": True, "align": "left"})
        self.check_label = wb.add_format({**box, "bold": True, "align": "center", "font_size": 10})
        self.check = wb.add_format({**box, "bold": True, "align": "center"})
        self.hint = wb.add_format({**base, "font_size": 9, "font_color": "#595959", "text_wrap": True})
        self.ok = wb.add_format({"font_color": "#006100", "bg_color": "#C6EFCE"})
        self.bad = wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.meta = wb.add_format({**base})
        self._values: dict[tuple, Any] = {}

    def label(self, role: str):
        return {"title": self.title, "block": self.block, "header": self.header, "corner": self.corner,
                "row": self.row, "field": self.field, "check": self.check_label, "hint": self.hint}[role]

    def value(self, cell: ValueCell, locked: bool):
        key = (cell.type.kind, cell.type.unit, cell.computed, locked)
        if key not in self._values:
            props: dict[str, Any] = {"font_name": FONT, "font_size": 11, "border": 1, "valign": "vcenter"}
            if cell.type.kind == "integer":
                props["num_format"] = "0"
            elif cell.type.kind == "decimal":
                # the unit stays visible beside the number without making it text
                # General, not 0.######: Excel would show a whole amount as "3." with the latter
                props["num_format"] = f'General" {cell.type.unit}"' if cell.type.unit else "General"
            else:
                # "@" keeps what the clerk types as text: an 18-digit 统一社会信用代码 or 00123 must not become a number
                props.update({"num_format": "@", "text_wrap": True,
                              "valign": "top" if cell.type.kind == "longtext" else "vcenter"})
            if cell.computed:
                props.update({"bg_color": COMPUTED_FILL, "bold": True})
            elif not locked:
                props.update({"bg_color": INPUT_FILL, "locked": False})
            self._values[key] = self.wb.add_format(props)
        return self._values[key]


def write_workbook(spec: FormSpec, target: str | Path | BinaryIO, agency: Agency | None = None,
                   options: WriteOptions | None = None) -> None:
    """Write one workbook of `spec` for `agency` to a path or a binary file object.

    The form's cells are written through a CellTable (generate.cell_table), xlsxwriter's own
    output in a fraction of its time. The first workbook of each kind (form and metadata given)
    in a process is drawn both ways and compared; a kind whose two drawings differ, and any
    workbook holding what a CellTable does not take, is drawn by xlsxwriter alone."""
    agency = agency or Agency()
    options = options or WriteOptions()
    kind = (id(spec.layout), spec.layout.fingerprint,
            frozenset(k for k, v in agency.prefill().items() if v not in (None, "")))
    checked = _CELL_TABLE_CHECKED.get(kind)
    if checked is None:
        by_xlsxwriter = drawn(spec, agency, options, cell_table=False)
        try:
            by_table = drawn(spec, agency, options, cell_table=True)
        except CellTableUnsupported:
            by_table = None         # this workbook only: the kind is checked on the next one
        if by_table is not None:
            if len(_CELL_TABLE_CHECKED) >= _KINDS_MAX:
                _CELL_TABLE_CHECKED.clear()
            _CELL_TABLE_CHECKED[kind] = same_drawing(by_table, by_xlsxwriter)
        _write_bytes(target, by_xlsxwriter)
        return
    if checked:
        try:
            _draw_workbook(spec, target, agency, options, cell_table=True)
            return
        except CellTableUnsupported:
            pass        # nothing is written before the workbook is closed: draw it again below
    _draw_workbook(spec, target, agency, options, cell_table=False)


_KINDS_MAX = 64          # kinds per process: forms × metadata given; the bound only guards against misuse
_CELL_TABLE_CHECKED: dict[tuple, bool] = {}      # kind: whether its CellTable drawing was xlsxwriter's


def workbook_bytes(spec: FormSpec, agency: Agency, options: WriteOptions | None = None) -> bytes:
    """write_workbook's workbook, in memory."""
    buffer = io.BytesIO()
    write_workbook(spec, buffer, agency, options)
    return buffer.getvalue()


def forget_checks() -> None:
    """Check each kind's CellTable drawing anew (tests)."""
    _CELL_TABLE_CHECKED.clear()


def drawn(spec: FormSpec, agency: Agency, options: WriteOptions, cell_table: bool = True) -> bytes:
    """The workbook, drawn in memory: through CellTables (each form sheet's is its `cell_table`
    once drawn), or by xlsxwriter alone."""
    buffer = io.BytesIO()
    _draw_workbook(spec, buffer, agency, options, cell_table)
    return buffer.getvalue()


def _write_bytes(target: str | Path | BinaryIO, data: bytes) -> None:
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(data)
    else:
        target.write(data)


def _draw_workbook(spec: FormSpec, target: str | Path | BinaryIO, agency: Agency, options: WriteOptions,
                   cell_table: bool) -> None:
    layout = spec.layout
    # in_memory: xlsxwriter would otherwise write every part to a temp file first (a third of the time)
    wb = xlsxwriter.Workbook(target, {"in_memory": True,
                                      "default_format_properties": {"font_name": FONT, "font_size": 11},
                                      "strings_to_numbers": False, "strings_to_formulas": False,
                                      "strings_to_urls": False})
    wb.set_properties({"title": f"{spec.title}（{spec.version}版）", "subject": spec.id,
                       "author": agency.name or "", "comments": f"xltool {__version__}"})
    # the defined names and app.xml: the same for every workbook of the form, written once (same_parts)
    wb._write_defined_names = partial(same_parts.write_defined_names, wb)
    wb._get_packager = same_parts.SamePartsPackager
    fmt = Formats(wb)
    prefill, values, computed, checks = cell_values(layout, agency, options)
    sheets = {}
    for sl in layout.sheets:
        ws = sheets[sl.name] = wb.add_worksheet(sl.name)
        ws._prepare_formula = partial(_prepared_formula, ws)
        _draw_sheet(ws, CellTable(ws) if cell_table else ws, layout, sl, fmt, values, computed, checks, prefill,
                    options)
        protect(ws, options.password)
    if options.annotate:
        options.annotate(wb, sheets)
    # appended as xlsxwriter's define_name would (names of the form's ids, checked once per form
    # by _input_names): its checks of each name are a tenth of the time of a workbook
    wb.defined_names.extend([name, -1, ref, False] for name, ref, role in _input_names(layout) if role not in prefill)
    _write_meta(wb, spec, layout, agency, options.password)
    wb.close()


def cell_values(layout: Layout, agency: Agency, options: WriteOptions) -> tuple[dict, dict, dict, dict]:
    """What the form's cells hold: (the agency's details given, the inputs with those details in
    their cells, the totals computed from them, each check's verdict by (sheet, row, col))."""
    prefill = {k: v for k, v in agency.prefill().items() if v not in (None, "")}
    values = dict(options.values)
    for cell in layout.cells.values():
        if cell.role in prefill:
            values[cell.id] = prefill[cell.role]
    model = model_for(layout)
    computed = model.evaluate(values)
    checks = {(r.check.sheet, r.check.row, r.check.col): r.ok for r in model.run_checks({**values, **computed})}
    return prefill, values, computed, checks


_INPUT_NAMES: dict[int, tuple[Layout, list[tuple[str, str, str | None]]]] = {}
_RULES: dict[int, tuple[Layout, dict[str, tuple[dict[str, Any], str] | None]]] = {}


def _input_names(layout: Layout) -> list[tuple[str, str, str | None]]:
    """(defined name, the cell it refers to, the cell's role) of every input of `layout`, each name
    put through xlsxwriter's own checks once (per process and form)."""
    cached = _INPUT_NAMES.get(id(layout))
    if cached is None or cached[0] is not layout:
        names = [(name_for(c.id), f"{quote_sheet(c.sheet)}!{a1(c.row, c.col, True)}", c.role) for c in layout.inputs()]
        probe = xlsxwriter.Workbook(None, {"in_memory": True})
        for name, ref, _ in names:
            if probe.define_name(name, "=" + ref) != 0:
                raise ValueError(f"not a valid defined name: {name}")
        cached = _INPUT_NAMES[id(layout)] = (layout, names)
    return cached[1]


def _rule_of(layout: Layout, cell: ValueCell) -> tuple[dict[str, Any], str] | None:
    """The data validation of an input cell and a key that is the same for cells of one rule (per
    process and form: a form's types never change once loaded)."""
    cached = _RULES.get(id(layout))
    if cached is None or cached[0] is not layout:
        cached = _RULES[id(layout)] = (layout, {})
    rules = cached[1]
    if cell.id not in rules:
        rule = _validation(cell)
        rules[cell.id] = None if rule is None else (rule, repr(sorted(rule.items())))
    return rules[cell.id]


_PREPARED: dict[tuple[str, bool, bool], str] = {}
_PREPARED_MAX = 20_000     # the forms' formulas: a few hundred; the bound only guards against misuse


def _prepared_formula(ws, formula: str, expand_future_functions: bool = False) -> str:
    """xlsxwriter's Worksheet._prepare_formula, remembered per formula: it runs some 30 regular
    expressions over every formula of every workbook (a tenth of a workbook's time), and the
    same form's formulas come back in every workbook."""
    key = (formula, bool(ws.use_future_functions), expand_future_functions)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = type(ws)._prepare_formula(ws, formula, expand_future_functions)
        if len(_PREPARED) < _PREPARED_MAX:
            _PREPARED[key] = prepared
    return prepared


def _draw_sheet(ws, cell_writer, layout: Layout, sl: SheetLayout, fmt: Formats, values, computed, checks, prefill,
                options) -> None:
    """Draw one of the form's sheets on `ws`; its cells go through `cell_writer`: the worksheet itself,
    or a CellTable that writes them for it."""
    for i, width in enumerate(sl.col_widths):
        ws.set_column(i, i, width)
    for r, height in sl.row_heights.items():
        ws.set_row(r, height)
    for lab in sl.labels:
        f = fmt.label(lab.role)
        if lab.merged:
            cell_writer.merge_range(lab.row, lab.col, *lab.end, lab.text, f)
        else:
            cell_writer.write_string(lab.row, lab.col, lab.text, f)
    for cell in sl.cells:
        locked = cell.computed or cell.role in prefill
        f = fmt.value(cell, locked)
        if cell.last_col is not None:  # merged value cell: draw the merge, then write the value
            cell_writer.merge_range(cell.row, cell.col, cell.row, cell.last_col, "", f)
        if cell.computed:
            cell_writer.write_formula(cell.row, cell.col, cell.formula, f, _cached(computed[cell.id]))
        elif cell.id in options.raw:
            _write_value(cell_writer, cell, options.raw[cell.id], f)
        else:
            _write_value(cell_writer, cell, values.get(cell.id), f)
    for rule, cells in input_validations(layout, sl, prefill, options):
        add_validation(ws, rule, cells)
    for ch in sl.checks:
        ok = checks[(ch.sheet, ch.row, ch.col)]
        cell_writer.write_formula(ch.row, ch.col, ch.formula, fmt.check, CHECK_OK if ok else CHECK_BAD)
    if cell_writer is not ws:
        cell_writer.install()
    if sl.checks:
        rng = (min(c.row for c in sl.checks), min(c.col for c in sl.checks),
               max(c.row for c in sl.checks), max(c.col for c in sl.checks))
        ws.conditional_format(*rng, {"type": "cell", "criteria": "==", "value": f'"{CHECK_OK}"', "format": fmt.ok})
        ws.conditional_format(*rng, {"type": "cell", "criteria": "==", "value": f'"{CHECK_BAD}"', "format": fmt.bad})
    if sl.freeze:
        ws.freeze_panes(*sl.freeze)
    ws.set_paper(9)  # A4
    if sl.landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if sl.repeat_rows:
        ws.repeat_rows(*sl.repeat_rows)
    ws.set_footer("&C第 &P 页，共 &N 页")


def protect(ws, password: str) -> None:
    """What every sheet of a generated workbook allows: selecting cells, resizing rows and columns."""
    ws.protect(password, {"select_locked_cells": True, "select_unlocked_cells": True,
                          "format_columns": True, "format_rows": True})


def _cached(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def _write_value(ws, cell: ValueCell, v: Any, f) -> None:
    if v is None or v == "":
        ws.write_blank(cell.row, cell.col, None, f)
    elif isinstance(v, bool):
        ws.write_boolean(cell.row, cell.col, v, f)
    elif isinstance(v, (int, float, Decimal)):
        ws.write_number(cell.row, cell.col, float(v) if isinstance(v, Decimal) else v, f)
    else:
        ws.write_string(cell.row, cell.col, str(v), f)


def _validation(cell: ValueCell) -> dict[str, Any] | None:
    """The data validation an input cell gets (whole or decimal numbers within its type's bounds,
    with a hint and an error message in Chinese), or None for text."""
    t = cell.type
    unit = f"（单位：{t.unit}）" if t.unit and t.unit not in t.label else ""
    if t.kind == "integer":
        dv: dict[str, Any] = {"validate": "integer"}
    elif t.kind == "decimal":
        dv = {"validate": "decimal"}
    else:
        return None
    if t.min is not None and t.max is not None:
        dv.update({"criteria": "between", "minimum": _cached(t.min), "maximum": _cached(t.max)})
    elif t.min is not None:
        dv.update({"criteria": ">=", "value": _cached(t.min)})
    elif t.max is not None:
        dv.update({"criteria": "<=", "value": _cached(t.max)})
    else:
        dv.update({"criteria": "between", "minimum": -999999999, "maximum": 999999999})
    dv.update({"input_title": "请填写数字"[:32], "input_message": f"{t.label}{unit}，只填数字，不要填单位或文字。"[:255],
               "error_title": "数字格式不对", "error_type": "stop",
               "error_message": f"这里应填{t.label}{unit}，例如 {t.example or 0}。请只填数字。"[:255]})
    return dv


def input_validations(layout: Layout, sl: SheetLayout, prefill: dict, options: WriteOptions) -> list[tuple[dict, list]]:
    """The data validations of a sheet's open inputs: each rule with the cells it covers, in the
    order the writer adds them. An input that holds text as typed (options.raw) gets none."""
    validations: dict[str, tuple[dict[str, Any], list[tuple[int, int]]]] = {}   # one rule, the cells it covers
    for cell in sl.cells:
        if cell.computed or cell.role in prefill or cell.id in options.raw:
            continue
        keyed = _rule_of(layout, cell)
        if keyed is not None:
            validations.setdefault(keyed[1], (keyed[0], []))[1].append((cell.row, cell.col))
    return list(validations.values())


def add_validation(ws, rule: dict[str, Any], cells: list[tuple[int, int]]) -> None:
    """One data validation over every cell that shares the rule (runs of a row joined into ranges):
    the same checks in Excel as one rule per cell, a fraction of the XML."""
    ranges: list[tuple[int, int, int]] = []          # (row, first col, last col)
    for row, col in sorted(cells):
        if ranges and ranges[-1][0] == row and ranges[-1][2] == col - 1:
            ranges[-1] = (row, ranges[-1][1], col)
        else:
            ranges.append((row, col, col))
    refs = " ".join(a1(r, c1) if c1 == c2 else f"{a1(r, c1)}:{a1(r, c2)}" for r, c1, c2 in ranges)
    row, first, last = ranges[0]
    ws.data_validation(row, first, row, last, {**rule, "multi_range": refs})


def meta_items(spec: FormSpec, agency: Agency) -> list[tuple[str, str | int]]:
    """The hidden sheet's rows: what identifies the workbook, its form and its agency."""
    return [("form_id", spec.id), ("form", spec.form), ("version", spec.version),
            ("fingerprint", spec.layout.fingerprint), ("agency", agency.name or ""),
            ("year", agency.year if agency.year is not None else ""), ("region", agency.region or ""),
            ("code", agency.code or ""), ("xltool_version", __version__)]


def _write_meta(wb, spec: FormSpec, layout: Layout, agency: Agency, password: str) -> None:
    ws = wb.add_worksheet(META_SHEET)
    for i, (k, v) in enumerate(meta_items(spec, agency)):
        ws.write_string(i, 0, k)
        if isinstance(v, int):
            ws.write_number(i, 1, v)
        else:
            ws.write_string(i, 1, str(v))
    ws.protect(password)
    ws.very_hidden()
