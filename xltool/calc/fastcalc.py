"""Fast recalculation: a layout's formulas and check sides compiled once into Python closures.

The template's formulas are simple (SUM over ranges, + - * /, parentheses, numbers), so each
is parsed here into a small tree over cell ids and compiled into nested closures once per
layout. Evaluation uses exact arithmetic: Python ints, and Decimals (in a context that
raises on any rounding) when a value has decimals. Blank cells count as 0, as in Excel.

`recalc.Model` (the `formulas` engine) is the reference: it computes like Excel, in binary
floating point, and rounds each result (`reference.exact`). The two agree whenever floating
point cannot have gone wrong, and `FastModel` checks that on every call from bounds computed
once per layout: with integers, every intermediate value stays below 2**53; with decimals,
the worst-case rounding error stays far below the 9th decimal that `reference.exact` rounds to, and
every result has at most 9 decimals and 15 significant digits; a division is answered only
when it divides integers evenly. Outside that range it raises `OutsideExactRange` instead of
answering, and the caller uses `recalc.Model`. A formula it cannot parse raises
`FastCalcUnsupported` when the model is built; so do unexpected input types (text, booleans)
at evaluation.

API as reference.Model: `FastModel(layout).evaluate(inputs)`, `.run_checks(values)`; calc.model
builds one per form version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from typing import Any

from xltool.calc.result import CheckResult
from xltool.cells import parse_a1
from xltool.form.layout import CheckCell, Layout

_FLOAT_EXACT_LIMIT = 2 ** 53          # every integer below this is exact in a double
_UNIT_ROUNDOFF = 2.0 ** -53           # a double's relative rounding error
_ALLOWED_ERROR = 4e-10                # below half the 9th decimal `reference.exact` rounds to
_MAX_DECIMALS = 9
_MAX_DIGITS = 15                      # decimals with more digits do not survive a double
# Any rounding, invalid operation or overflow raises: what this model returns is exact.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])

Values = dict[str, Any]
Fn = Callable[[Values], Any]


class FastCalcUnsupported(ValueError):
    """A formula or an input this evaluator does not handle; use recalc.Model."""


class OutsideExactRange(ArithmeticError):
    """Values for which exact and floating-point results might differ; use recalc.Model."""


# --- parsing ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ref>(?:(?P<sheet>'(?:[^']|'')+'|[^'!():,+\-*/=<>&^%"\s]+)!)?
            (?P<first>\$?[A-Za-z]{1,3}\$?\d+)(?::(?P<last>\$?[A-Za-z]{1,3}\$?\d+))?)(?![\w(])
  | (?P<func>[A-Za-z][A-Za-z0-9.]*)\(
  | (?P<op>[-+*/(),])
""", re.X)

# A parsed expression: ("num", value) | ("cell", id) | ("range", [ids]) | ("sum", [nodes])
# | ("neg", node) | (op, left, right) for op in + - * /. An id is None for a cell outside the layout.
Node = tuple


class _Parser:
    """Recursive descent over one A1 expression, references resolved to layout cell ids."""

    def __init__(self, text: str, sheet: str, at: dict[tuple[str, int, int], str]):
        self.text, self.sheet, self.at = text, sheet, at
        self.tokens = self._tokenize(text.lstrip("="))
        self.pos = 0

    def parse(self) -> Node:
        node = self._expr()
        if self.pos != len(self.tokens):
            self._fail("unexpected " + repr(self.tokens[self.pos][1]))
        return node

    def _fail(self, why: str):
        raise FastCalcUnsupported(f"{self.text!r}: {why}")

    def _tokenize(self, text: str) -> list[tuple[str, Any]]:
        tokens, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                self._fail(f"cannot read {text[pos:pos + 10]!r}")
            kind = m.lastgroup if m.lastgroup in ("number", "func", "op") else "ref"
            tokens.append((kind, m))
            pos = m.end()
        return tokens

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take_op(self, ops: str) -> str | None:
        token = self._peek()
        if token and token[0] == "op" and token[1].group() in ops:
            self.pos += 1
            return token[1].group()
        return None

    def _expr(self) -> Node:
        node = self._term()
        while op := self._take_op("+-"):
            node = (op, node, self._term())
        return node

    def _term(self) -> Node:
        node = self._unary()
        while op := self._take_op("*/"):
            node = (op, node, self._unary())
        return node

    def _unary(self) -> Node:
        if op := self._take_op("+-"):
            inner = self._unary()
            return ("neg", inner) if op == "-" else inner
        return self._primary()

    def _primary(self) -> Node:
        token = self._peek()
        if token is None:
            self._fail("ends too early")
        kind, m = token
        self.pos += 1
        if kind == "number":
            return ("num", _number(m.group()))
        if kind == "ref":
            return self._reference(m)
        if kind == "func":
            if m.group("func").upper() != "SUM":
                self._fail(f"function {m.group('func')} is not supported")
            return ("sum", self._arguments())
        if m.group() == "(":
            node = self._expr()
            if not self._take_op(")"):
                self._fail("missing )")
            return node
        self._fail("unexpected " + repr(m.group()))

    def _arguments(self) -> list[Node]:
        args = [self._expr()]
        while self._take_op(","):
            args.append(self._expr())
        if not self._take_op(")"):
            self._fail("missing ) after SUM arguments")
        return args

    def _reference(self, m: re.Match) -> Node:
        quoted = m.group("sheet")
        sheet = self.sheet if quoted is None else (quoted[1:-1].replace("''", "'") if quoted.startswith("'") else quoted)
        key = sheet.upper()   # sheet names are case-insensitive in Excel (and upper-cased by `formulas`)
        r1, c1 = parse_a1(m.group("first"))
        if m.group("last") is None:
            return ("cell", self.at.get((key, r1, c1)))
        r2, c2 = parse_a1(m.group("last"))
        rows = range(min(r1, r2), max(r1, r2) + 1)
        cols = range(min(c1, c2), max(c1, c2) + 1)
        return ("range", [self.at.get((key, r, c)) for r in rows for c in cols])


def _number(text: str) -> int | Decimal:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else value


def cell_ids(node: Node) -> set[str]:
    """The layout cells an expression reads."""
    kind = node[0]
    if kind == "cell":
        return {node[1]} - {None}
    if kind == "range":
        return set(node[1]) - {None}
    if kind == "num":
        return set()
    if kind in ("sum",):
        return set().union(*(cell_ids(arg) for arg in node[1]))
    return set().union(*(cell_ids(part) for part in node[1:]))


def parse_formula(text: str, sheet: str, at: dict[tuple[str, int, int], str]) -> Node:
    """One A1 expression (with or without "=") as a tree over cell ids; `at` maps
    (upper-cased sheet name, row, col) to a cell id."""
    if any(ch.isspace() for ch in text):
        raise FastCalcUnsupported(f"{text!r}: a space is Excel's intersection operator")
    return _Parser(text, sheet, at).parse()


# --- compiling ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bound:
    """For inputs of magnitude at most M (M >= 1): |every intermediate value| <=
    scale * M**degree, and a double computation rounds at most `roundings` times."""

    scale: int | Decimal
    degree: int
    roundings: int

    def at(self, m: int | Decimal) -> int | Decimal:
        return self.scale * m ** self.degree


_LEAF = Bound(1, 1, 1)
_BLANK = Bound(0, 0, 0)


def _sum_bound(bounds: list[Bound]) -> Bound:
    return Bound(sum(b.scale for b in bounds), max((b.degree for b in bounds), default=0),
                 sum(b.roundings for b in bounds) + max(len(bounds) - 1, 0))


class _Compiler:
    """Trees to closures, with each tree's Bound. `leaf_bound(id)` says how large a cell can be."""

    def __init__(self, leaf_bound: Callable[[str], Bound]):
        self.leaf_bound = leaf_bound

    def compile(self, node: Node) -> tuple[Fn, Bound]:
        kind = node[0]
        if kind == "num":
            value = node[1]
            return (lambda v: value), Bound(abs(value), 0, 1)
        if kind == "cell":
            return self._cell(node[1])
        if kind == "range":
            return self._cells(node[1])
        if kind == "sum":
            return self._sum([self.compile(arg) for arg in node[1]])
        if kind == "neg":
            fn, bound = self.compile(node[1])
            return (lambda v: -fn(v)), bound
        (left, lb), (right, rb) = self.compile(node[1]), self.compile(node[2])
        return _BINARY[kind](left, right), _binary_bound(kind, lb, rb)

    def _cell(self, cell_id: str | None) -> tuple[Fn, Bound]:
        if cell_id is None:
            return (lambda v: 0), _BLANK
        return (lambda v: v.get(cell_id) or 0), self.leaf_bound(cell_id)

    def _cells(self, ids: list[str | None]) -> tuple[Fn, Bound]:
        present = tuple(i for i in ids if i is not None)
        # filter(None, ...) drops blanks (and zeros, which add nothing): a C-speed sum
        return (lambda v: sum(filter(None, map(v.get, present)))), _sum_bound([self.leaf_bound(i) for i in present])

    @staticmethod
    def _sum(parts: list[tuple[Fn, Bound]]) -> tuple[Fn, Bound]:
        fns = tuple(fn for fn, _ in parts)
        if len(fns) == 1:
            return fns[0], parts[0][1]
        return (lambda v: sum(fn(v) for fn in fns)), _sum_bound([b for _, b in parts])


def _divide(a: Any, b: Any) -> Any:
    """Only divisions whose result is exact in both engines: integers that divide evenly."""
    if isinstance(a, int) and isinstance(b, int) and b and a % b == 0:
        return a // b
    raise OutsideExactRange("a division that is not an exact integer")


_BINARY: dict[str, Callable[[Fn, Fn], Fn]] = {
    "+": lambda a, b: lambda v: a(v) + b(v),
    "-": lambda a, b: lambda v: a(v) - b(v),
    "*": lambda a, b: lambda v: a(v) * b(v),
    "/": lambda a, b: lambda v: _divide(a(v), b(v)),
}


def _binary_bound(op: str, a: Bound, b: Bound) -> Bound:
    roundings = a.roundings + b.roundings + 1
    if op in "+-":
        return Bound(a.scale + b.scale, max(a.degree, b.degree), roundings)
    if op == "*":
        return Bound(a.scale * b.scale, a.degree + b.degree, roundings)
    return Bound(a.scale, a.degree, roundings)      # an exact integer division: |b| >= 1


# --- the model ----------------------------------------------------------------------------------

class FastModel:
    """The compiled formulas and check sides of one form version (same API as recalc.Model)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        at = {(c.sheet.upper(), c.row, c.col): c.id for c in layout.cells.values()}
        self.order = layout.computed()
        computed_bounds: dict[str, Bound] = {}

        def formula_leaf(cell_id: str) -> Bound:   # a computed cell is as large as its formula allows
            b = computed_bounds.get(cell_id)
            return _LEAF if b is None else Bound(b.scale, b.degree, 1)

        compiler = _Compiler(formula_leaf)
        self.formulas: list[tuple[str, str, Fn]] = []          # (id, kind, fn) in dependency order
        read: set[str] = set()
        for cell in self.order:
            tree = parse_formula(cell.formula, cell.sheet, at)
            fn, bound = compiler.compile(tree)
            computed_bounds[cell.id] = bound
            self.formulas.append((cell.id, cell.type.kind, fn))
            read |= cell_ids(tree)
        self.formula_bounds = tuple(set(computed_bounds.values()))
        self.inputs_read = tuple(sorted(i for i in read if not layout.cells[i].computed))

        side_compiler = _Compiler(lambda cell_id: _LEAF)        # check sides read the given values as they are
        self.checks: list[tuple[CheckCell, Fn, Fn]] = []
        side_bounds, read = set(), set()
        for ch in layout.checks():
            trees = [parse_formula(side, ch.sheet, at) for side in (ch.lhs, ch.rhs)]
            (lhs, lhs_bound), (rhs, rhs_bound) = (side_compiler.compile(tree) for tree in trees)
            self.checks.append((ch, lhs, rhs))
            side_bounds |= {lhs_bound, rhs_bound}
            read |= cell_ids(trees[0]) | cell_ids(trees[1])
        self.check_bounds = tuple(side_bounds)
        self.check_cells_read = tuple(sorted(read))

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, int | Decimal]:
        """The computed cells' values for these inputs (blank = 0)."""
        values = dict(inputs)
        _admit(values, self.inputs_read, self.formula_bounds)
        out: dict[str, int | Decimal] = {}
        with localcontext(_EXACT):
            for cell_id, kind, fn in self.formulas:
                values[cell_id] = out[cell_id] = _result(fn(values), kind)
        return out

    def run_checks(self, values: dict[str, Any]) -> list[CheckResult]:
        values = dict(values)
        _admit(values, self.check_cells_read, self.check_bounds)
        with localcontext(_EXACT):
            return [CheckResult(ch, _result(lhs(values), "decimal"), _result(rhs(values), "decimal"))
                    for ch, lhs, rhs in self.checks]


def _admit(values: dict[str, Any], ids: tuple[str, ...], bounds: tuple[Bound, ...]) -> None:
    """Check the values these ids hold (in place: floats become Decimals, integral decimals
    ints) and that, with them, no formula can leave the exact range."""
    largest: int | Decimal = 1
    fractional = False
    for cell_id in ids:
        v = values.get(cell_id)
        if v is None:
            continue
        if type(v) is not int:
            v = values[cell_id] = _number_value(v)
            fractional = fractional or isinstance(v, Decimal)
        if v > largest or -v > largest:
            largest = abs(v)
    if fractional:
        if any(float(b.roundings * b.at(largest)) * _UNIT_ROUNDOFF > _ALLOWED_ERROR for b in bounds):
            raise OutsideExactRange("decimals too large for doubles to stay exact to 9 places")
    elif any(b.at(largest) >= _FLOAT_EXACT_LIMIT for b in bounds):
        raise OutsideExactRange("integers beyond 2**53")


def _number_value(v: Any) -> int | Decimal:
    """A non-int input as an exact number; what doubles cannot hold exactly is refused."""
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise FastCalcUnsupported(f"input {v!r}")
        v = Decimal(repr(v))
    if not isinstance(v, Decimal) or not v.is_finite():
        raise FastCalcUnsupported(f"input of type {type(v).__name__}")   # text, bool: the reference reports it
    if v == v.to_integral_value():
        return int(v)
    _check_decimal(v)
    return v


def _check_decimal(v: Decimal) -> None:
    sign, digits, exponent = v.normalize().as_tuple()
    if -exponent > _MAX_DECIMALS or len(digits) > _MAX_DIGITS:
        raise OutsideExactRange(f"{v} has more digits than a double keeps to 9 decimals")


def _result(x: int | Decimal, kind: str) -> int | Decimal:
    """A result as reference.exact gives it: an int when whole, else a normalized Decimal."""
    if type(x) is int:
        return x
    if x == x.to_integral_value():
        return int(x)
    _check_decimal(x)       # so x sits on the 1e-9 grid, farther from any rounding boundary than the error
    if kind == "integer":
        whole = x.to_integral_value(ROUND_HALF_EVEN)
        if abs(x - whole) == Decimal("0.5"):
            raise OutsideExactRange(f"{x} lies halfway between two integers")
        return int(whole)
    return x.normalize()
