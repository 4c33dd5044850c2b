"""The tree shows the pipeline: a package per stage with a docstring saying what it owns, no
module in an import cycle, no module much over 500 lines without a reason in its docstring.
(The layers themselves are import-linter's contract in pyproject.toml, run by .ci/run.)"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "xltool"
STAGES = ("form", "xlsx", "calc", "checks", "generate", "outputs", "ingest")
LONG = 560   # lines; a longer module says why in its docstring ("long because ...")
SPLIT_PENDING: set[str] = set()   # modules being cut up; none now


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), over every import."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return out


def test_no_module_is_in_an_import_cycle():
    graph = grimp.build_graph("xltool", include_external_packages=False)
    assert _cycles(graph) == []


def test_every_stage_is_a_package_that_says_what_it_owns():
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        assert init.is_file(), stage
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"xltool/{stage}/__init__.py needs a docstring saying what it owns"


def test_every_module_has_a_docstring_and_long_ones_say_why():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text))
        assert doc, f"{path.relative_to(PACKAGE.parent)} has no docstring"
        lines = text.count("\n")
        if lines > LONG and path.relative_to(PACKAGE).as_posix() not in SPLIT_PENDING:
            assert "long because" in doc.lower(), f"{path.relative_to(PACKAGE.parent)}: {lines} lines, no reason given"


TESTS = Path(__file__).resolve().parent
RUNNERS = {"__init__", "context", "rules"}   # checks/ modules that run the units rather than being one


def test_tests_mirror_the_packages():
    """A folder of tests per package, and a test file per check unit."""
    for package in [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]:
        assert list((TESTS / package).glob("test_*.py")), f"no tests/{package}/test_*.py for xltool/{package}/"
    for unit in (PACKAGE / "checks").glob("*.py"):
        if unit.stem not in RUNNERS:
            assert (TESTS / "checks" / f"test_{unit.stem}.py").is_file(), f"check unit {unit.name} has no test file"
