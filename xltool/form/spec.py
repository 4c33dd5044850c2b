"""Form specs: load a YAML spec file, check it, and give a typed model.

The spec is the single source of truth for a form version: sheets, tables, labels, cell
types, formulas, rules, JSON keys. Everything else (layout, workbook, reader, recalculation,
JSON Schema, reports) is derived from it. A spec is checked when it is loaded; every
problem is a `SpecError` naming the file, the YAML line and the place in the spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RULE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# Tokens of a spec formula: a string literal, or a name (a row/column id, table.row.col for an
# absolute cell, or a function when "(" follows).
FORMULA_TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_]*(?:\.[a-z0-9_]+){0,2}')


class SpecError(ValueError):
    """A spec file that cannot be used, with where and why."""

    def __init__(self, file: str | Path, place: str, message: str, line: int | None = None):
        self.file, self.place, self.line, self.reason = str(file), place, line, message
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {place}: {message}" if place else f"{where}: {message}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellType(_Model):
    """How a value cell is typed: what the workbook validates and the reader accepts."""

    kind: Literal["integer", "decimal", "text", "longtext"]
    min: Decimal | None = None
    max: Decimal | None = None
    unit: str | None = None          # shown beside the input (number format) and in messages
    max_decimals: int | None = None  # decimals kept exactly; more is a finding
    max_length: int | None = Field(default=None, ge=1)   # characters of a text cell (checks/bounds.py has the default)
    example: str | None = None       # a value shown in "expected ..." messages
    label: str = ""                  # what the type is called in messages (zh)
    label_en: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "decimal")


class Column(_Model):
    id: str | None = None
    label: str
    type: str | None = None
    formula: str | None = None       # per row: an expression over this table's column ids
    rule: str | None = None          # the rule a formula implements (its finding code)
    width: float | None = None
    children: list[Column] = Field(default_factory=list)

    @model_validator(mode="after")
    def _leaf_or_group(self) -> Column:
        if self.children and (self.id or self.formula or self.type):
            raise ValueError("a column group (with children) takes no id, type or formula")
        if not self.children and not self.id:
            raise ValueError("a leaf column needs an id")
        return self


class Row(_Model):
    id: str | None = None
    label: str | None = None
    type: str | None = None
    formula: str | None = None       # per column: an expression over this table's row ids
    rule: str | None = None
    children: list[Row] = Field(default_factory=list)

    @model_validator(mode="after")
    def _leaf_or_group(self) -> Row:
        if self.children and (self.id or self.formula or self.type):
            raise ValueError("a row group (with children) takes no id, type or formula")
        if not self.children and not self.id:
            raise ValueError("a leaf row needs an id")
        if self.children and not self.label:
            raise ValueError("a row group needs a label")
        return self


class Table(_Model):
    id: str
    title: str | None = None         # a full-width title row above the header (e.g. 第二十条第（一）项)
    corner: str | None = None        # the header cell above the row labels
    type: str                        # default cell type for the table
    columns: list[Column]
    rows: list[Row]
    formula_wins: Literal["column", "row"] = "column"  # where a formula row crosses a formula column


class FieldSpec(_Model):
    id: str
    label: str
    type: str
    role: Literal["agency", "year", "region", "code"] | None = None
    required: bool = False
    hint: str | None = None


class Sheet(_Model):
    id: str
    name: str
    title: str | None = None
    landscape: bool = False
    fields: list[FieldSpec] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_or_tables(self) -> Sheet:
        if bool(self.fields) == bool(self.tables):
            raise ValueError("a sheet holds either fields or tables (exactly one of the two)")
        return self


class Rule(_Model):
    """An accounting identity. `formula` rules are implemented by the formulas that name them
    (a computed cell that disagrees breaks the rule); `check` rules compare two typed sides;
    `previous-year` rules compare a report with the same agency's report of the year before
    (names prefixed `prev.` are last year's values)."""

    id: str
    kind: Literal["formula", "check", "previous-year"]
    severity: Literal["error", "warning"] = "error"
    title: str
    title_en: str
    table: str | None = None
    for_each: Literal["column", "row"] | None = None
    assert_: str | None = Field(default=None, alias="assert")
    hint: str | None = None          # the short hint shown next to the live check in the sheet

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check_shape(self) -> Rule:
        if self.kind != "formula" and not (self.table and self.for_each and self.assert_):
            raise ValueError(f"a {self.kind} rule needs table, for_each and assert")
        if self.kind != "formula" and self.assert_ and self.assert_.count("=") != 1:
            raise ValueError("assert must have exactly one '=' between its two sides")
        return self

    @property
    def sides(self) -> tuple[str, str]:
        lhs, rhs = (self.assert_ or "=").split("=")
        return lhs.strip(), rhs.strip()


class Years(_Model):
    first: int = Field(alias="from")
    last: int | None = Field(default=None, alias="to")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def __contains__(self, year: int) -> bool:
        return year >= self.first and (self.last is None or year <= self.last)


class FormSpec(_Model):
    _layout: Any = PrivateAttr(default=None)   # set once by the loader (forms.py)
    id: str
    form: str
    version: str
    title: str
    title_en: str
    description: str
    notice: str | None = None
    years: Years
    blank: Literal["zero-with-warning", "error"] = "zero-with-warning"
    types: dict[str, CellType]
    sheets: list[Sheet]
    rules: list[Rule] = Field(default_factory=list)
    source: str | None = Field(default=None, exclude=True)  # the file it was loaded from

    def tables(self) -> Iterator[tuple[Sheet, Table]]:
        for sheet in self.sheets:
            for table in sheet.tables:
                yield sheet, table

    def table(self, table_id: str) -> Table:
        for _, table in self.tables():
            if table.id == table_id:
                return table
        raise KeyError(table_id)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def field_by_role(self, role: str) -> tuple[Sheet, FieldSpec] | None:
        for sheet in self.sheets:
            for f in sheet.fields:
                if f.role == role:
                    return sheet, f
        return None

    @property
    def layout(self) -> Any:  # -> layout.Layout (spec does not import layout: the dependency runs one way)
        if self._layout is None:
            raise RuntimeError("load specs with xltool.form.forms.load_spec/get_spec: loading lays the form out")
        return self._layout


# --- tree helpers shared by the checks and the layout ---------------------------------------

def leaves(nodes: list[Column] | list[Row]) -> list[Any]:
    out: list[Any] = []
    for n in nodes:
        out.extend(leaves(n.children) if n.children else [n])
    return out


def depth(nodes: list[Column] | list[Row]) -> int:
    return max((1 + depth(n.children) if n.children else 1 for n in nodes), default=0)


def formula_ref_spans(expr: str) -> list[tuple[str, int, int]]:
    """The references in a spec formula (not functions, strings or TRUE/FALSE), with their spans."""
    refs = []
    for m in FORMULA_TOKEN.finditer(expr):
        tok = m.group(0)
        if tok.startswith('"') or tok.upper() in ("TRUE", "FALSE"):
            continue
        if expr[m.end():].lstrip().startswith("("):
            continue
        refs.append((tok, m.start(), m.end()))
    return refs


def formula_refs(expr: str) -> list[str]:
    return [ref for ref, _, _ in formula_ref_spans(expr)]


def place_of(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def semantic_problems(spec: FormSpec) -> Iterator[tuple[tuple, str]]:
    """What the schema cannot say: ids, references, names. Yields (location, message)."""
    if not ID_RE.match(spec.form):
        yield ("form",), "form must be lower-case ASCII letters, digits and _ (it names JSON keys and files)"
    seen_tables: dict[str, tuple] = {}
    seen_sheets: dict[str, tuple] = {}
    sheet_names: dict[str, tuple] = {}
    for si, sheet in enumerate(spec.sheets):
        sloc = ("sheets", si)
        if not ID_RE.match(sheet.id):
            yield sloc + ("id",), f"id {sheet.id!r} must be lower-case ASCII (a-z, 0-9, _), starting with a letter"
        if sheet.id in seen_sheets:
            yield sloc + ("id",), f"duplicate sheet id {sheet.id!r} (first at {place_of(seen_sheets[sheet.id])})"
        seen_sheets[sheet.id] = sloc
        if len(sheet.name) > 31 or SHEET_NAME_BAD.search(sheet.name) or sheet.name.startswith("_"):
            yield sloc + ("name",), "a sheet name has at most 31 characters, none of []:*?/\\, and does not start with _"
        if sheet.name in sheet_names:
            yield sloc + ("name",), f"duplicate sheet name {sheet.name!r}"
        sheet_names[sheet.name] = sloc
        field_ids: set[str] = set()
        for fi, f in enumerate(sheet.fields):
            floc = sloc + ("fields", fi)
            if not ID_RE.match(f.id):
                yield floc + ("id",), f"id {f.id!r} must be lower-case ASCII (a-z, 0-9, _)"
            if f.id in field_ids:
                yield floc + ("id",), f"duplicate field id {f.id!r} in sheet {sheet.id!r}"
            field_ids.add(f.id)
            if f.type not in spec.types:
                yield floc + ("type",), f"unknown type {f.type!r} (types: {', '.join(spec.types)})"
        for ti, table in enumerate(sheet.tables):
            tloc = sloc + ("tables", ti)
            if table.id in seen_tables or table.id in seen_sheets:
                yield tloc + ("id",), f"duplicate table id {table.id!r}"
            seen_tables[table.id] = tloc
            yield from _table_problems(spec, table, tloc)
    for ri, rule in enumerate(spec.rules):
        rloc = ("rules", ri)
        if not RULE_ID_RE.match(rule.id):
            yield rloc + ("id",), f"rule id {rule.id!r} must look like T3-A (upper-case letters, digits, dashes)"
        if rule.kind != "formula":
            if rule.table not in seen_tables:
                yield rloc + ("table",), f"unknown table {rule.table!r}"
                continue
            table = spec.table(rule.table)
            names = {n.id for n in leaves(table.rows if rule.for_each == "column" else table.columns)}
            if rule.kind == "previous-year" and not re.fullmatch(r"[\sa-z0-9_.+=-]+", rule.assert_ or ""):
                yield rloc + ("assert",), "a previous-year rule adds and subtracts names only (a = prev.a + b - c)"
            for ref in formula_refs(rule.assert_ or ""):
                if rule.kind == "previous-year" and ref.startswith("prev."):
                    ref = ref[len("prev."):]
                if "." not in ref and ref not in names:
                    yield rloc + ("assert",), f"{ref!r} is not a {'row' if rule.for_each == 'column' else 'column'} id of table {table.id!r}"
    rule_ids = [r.id for r in spec.rules]
    for dup in {r for r in rule_ids if rule_ids.count(r) > 1}:
        yield ("rules",), f"duplicate rule id {dup!r}"


def _table_problems(spec: FormSpec, table: Table, tloc: tuple) -> Iterator[tuple[tuple, str]]:
    if not ID_RE.match(table.id):
        yield tloc + ("id",), f"id {table.id!r} must be lower-case ASCII (a-z, 0-9, _)"
    if table.type not in spec.types:
        yield tloc + ("type",), f"unknown type {table.type!r}"
    col_ids: dict[str, tuple] = {}
    row_ids: dict[str, tuple] = {}
    rule_ids = {r.id for r in spec.rules if r.kind == "formula"}
    for kind, nodes, ids in (("columns", table.columns, col_ids), ("rows", table.rows, row_ids)):
        for loc, node in _walk(nodes, tloc + (kind,)):
            if node.id is None:
                continue
            if not ID_RE.match(node.id):
                yield loc + ("id",), f"id {node.id!r} must be lower-case ASCII (a-z, 0-9, _)"
            if node.id in ids:
                yield loc + ("id",), f"duplicate id {node.id!r} in table {table.id!r} (first at {place_of(ids[node.id])})"
            ids[node.id] = loc
            if node.type and node.type not in spec.types:
                yield loc + ("type",), f"unknown type {node.type!r}"
            if node.formula and not node.rule:
                yield loc + ("rule",), "a formula names the rule it implements (rule: T3-B), so a broken total is reported under that rule"
            if node.rule and node.rule not in rule_ids:
                yield loc + ("rule",), f"unknown formula rule {node.rule!r} (declare it under rules: with kind: formula)"
    for both in set(col_ids) & set(row_ids):
        yield row_ids[both] + ("id",), f"id {both!r} is used for a row and a column of table {table.id!r}; formulas could not tell them apart"
    unlabeled = [r for r in table.rows if r.label is None]
    if unlabeled and len(unlabeled) != len(leaves(table.rows)):
        yield tloc + ("rows",), "either every row has a label or the table has no row labels"
    for kind, nodes, names in (("columns", table.columns, col_ids), ("rows", table.rows, row_ids)):
        for loc, node in _walk(nodes, tloc + (kind,)):
            for ref in formula_refs(node.formula or ""):
                if "." in ref:
                    tid, _, rest = ref.partition(".")
                    if tid not in {t.id for _, t in spec.tables()}:
                        yield loc + ("formula",), f"{ref!r}: unknown table {tid!r}"
                elif ref not in names:
                    what = "column" if kind == "columns" else "row"
                    yield loc + ("formula",), f"{ref!r} is not a {what} id of table {table.id!r}"
                elif ref == node.id:
                    yield loc + ("formula",), f"the formula of {node.id!r} refers to itself"


def _walk(nodes: list, loc: tuple) -> Iterator[tuple[tuple, Any]]:
    for i, node in enumerate(nodes):
        yield loc + (i,), node
        yield from _walk(node.children, loc + (i, "children"))
