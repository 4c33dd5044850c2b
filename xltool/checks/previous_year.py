"""Cross-year checks: a report against the same agency's report of the year before.

The spec declares them as `previous-year` rules (`carried_over = prev.carried_forward`, per
column or row of a table); names prefixed `prev.` are last year's values. Sides are sums and
differences of names. Reports are matched by agency name and year; a previous report of another
form version is compared where both have the cells. The severity is the rule's; the national
forms declare these as warnings, since real reports break them after clean-ups.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.checks.rules import rule_code
from xltool.findings import WARNING, Code, Finding, printable
from xltool.form.canonical import loads
from xltool.form.spec import FormSpec, Rule, leaves

_TERM = re.compile(r"\s*([+-]?)\s*((?:prev\.)?[a-z][a-z0-9_]*)\s*")


PREVIOUS_FILE_MAX = 16 * 1024 * 1024     # bytes: a canonical document is tens of KB
PREVIOUS_FILES_MAX = 100_000
PREVIOUS_DEPTH_MAX = 32                  # nesting of a canonical document: 4
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")

PREVIOUS_UNUSABLE = Code(
    "previous-unusable", WARNING,
    zh="上年结果中的“{name}”无法使用（{reason}），已忽略；与上年的比对不包括它。请确认 --previous 指向上年 xltool ingest 的输出目录。",
    en="{name} in last year's results cannot be used ({reason}) and was ignored; the cross-year checks leave it "
       "out. Check that --previous names last year's xltool ingest output folder.")


def previous_reports(folder: Path) -> tuple[dict[tuple[str, int], dict[str, Any]], list[Finding]]:
    """(agency, year) -> canonical document, from a previous run's output folder or a folder of JSON,
    and a warning for each file that could not be used. The folder is not trusted: only regular
    files are read (a FIFO or a link to /dev/zero is named, not read), each at most
    PREVIOUS_FILE_MAX bytes, nested at most PREVIOUS_DEPTH_MAX deep, and of the shape used here."""
    folder = Path(folder)
    root = folder / "json" if (folder / "json").is_dir() else folder
    found: dict[tuple[str, int], dict[str, Any]] = {}
    warnings: list[Finding] = []
    for path in _json_files(root, warnings):
        name = printable(str(path.relative_to(folder)))
        try:
            doc = _load_untrusted(path)
        except _Unusable as e:
            warnings.append(PREVIOUS_UNUSABLE.at(name=name, reason=str(e)))
            continue
        if doc.get("agency") and isinstance(doc.get("year"), int) and doc.get("values"):
            key = (doc["agency"], doc["year"])
            if key not in found or doc.get("status") == "accepted":  # prefer an accepted one
                found[key] = doc
    return found, warnings


class _Unusable(Exception):
    """Why a previous file is not used (shown in the warning)."""


def _json_files(root: Path, warnings: list[Finding]) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirs, names in os.walk(root, followlinks=False):
        dirs.sort(key=os.fsencode)
        files.extend(Path(dirpath) / n for n in sorted(names, key=os.fsencode) if n.endswith(".json"))
        if len(files) > PREVIOUS_FILES_MAX:
            warnings.append(PREVIOUS_UNUSABLE.at(name=printable(str(dirpath)),
                                                 reason=f"超过 {PREVIOUS_FILES_MAX} 个文件 / over {PREVIOUS_FILES_MAX} files"))
            return files[:PREVIOUS_FILES_MAX]
    return files


def _load_untrusted(path: Path) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)   # a FIFO must not block the run
    except OSError as e:
        raise _Unusable(f"无法打开 / cannot open: {e.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Unusable("不是普通文件 / not a regular file")
        if st.st_size > PREVIOUS_FILE_MAX:
            raise _Unusable(f"文件过大 / too large: {st.st_size} bytes")
        try:
            data = fh.read(PREVIOUS_FILE_MAX + 1)
        except OSError as e:
            raise _Unusable(f"无法读取 / cannot read: {e.strerror}") from None
    if len(data) > PREVIOUS_FILE_MAX:
        raise _Unusable("文件过大 / too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unusable("不是 UTF-8 文本 / not UTF-8 text") from None
    if _depth(text) > PREVIOUS_DEPTH_MAX:
        raise _Unusable(f"嵌套超过 {PREVIOUS_DEPTH_MAX} 层 / nested over {PREVIOUS_DEPTH_MAX} deep")
    try:
        doc = loads(text)
    except (ValueError, RecursionError) as e:
        raise _Unusable(f"不是有效的 JSON / not valid JSON: {str(e)[:80]}") from None
    problem = _shape_problem(doc)
    if problem:
        raise _Unusable(f"不是 xltool 的标准 JSON / not a canonical document: {problem}")
    return doc


def _depth(text: str) -> int:
    """How deep arrays and objects nest (strings removed first, at C speed; few brackets remain)."""
    depth = deepest = 0
    for ch in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _shape_problem(doc: Any) -> str | None:
    """What is wrong with the fields used here (agency, year, status, values, source.file), or None."""
    if not isinstance(doc, dict):
        return "顶层不是对象 / not an object"
    if doc.get("agency") is not None and not (isinstance(doc["agency"], str) and len(doc["agency"]) <= 200):
        return "agency"
    year = doc.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        return "year"
    if doc.get("status") is not None and not isinstance(doc["status"], str):
        return "status"
    values = doc.get("values")
    if values is not None:
        if not isinstance(values, dict):
            return "values"
        if not all(isinstance(v, (int, Decimal, str, bool)) or v is None for v in values.values()):
            return "values"
    source = doc.get("source")
    if source is not None and not (isinstance(source, dict) and isinstance(source.get("file"), (str, type(None)))):
        return "source"
    return None


def _terms(side: str) -> list[tuple[int, str]]:
    """'prev.a + b - c' -> [(+1, 'prev.a'), (+1, 'b'), (-1, 'c')]."""
    out, pos = [], 0
    while pos < len(side):
        m = _TERM.match(side, pos)
        if not m or m.end() == pos:
            raise ValueError(f"previous-year rules add and subtract names only: {side!r}")
        out.append((-1 if m.group(1) == "-" else 1, m.group(2)))
        pos = m.end()
    return out


def check_against_previous(spec: FormSpec, values: dict[str, Any], prev: dict[str, Any]) -> list[Finding]:
    prev_values = prev.get("values") or {}
    findings = []
    for rule in spec.rules:
        if rule.kind == "previous-year":
            findings.extend(_rule_findings(spec, rule, values, prev_values, prev))
    return findings


def _rule_findings(spec: FormSpec, rule: Rule, values, prev_values, prev) -> Iterable[Finding]:
    table = spec.table(rule.table or "")
    layout = spec.layout
    lhs, rhs = (_terms(side) for side in rule.sides)
    code = rule_code(spec, rule.id)
    axis = leaves(table.columns) if rule.for_each == "column" else leaves(table.rows)
    for key in (n.id for n in axis):
        def cell_id(name: str) -> str:
            row, col = (name, key) if rule.for_each == "column" else (key, name)
            return f"{table.id}.{row}.{col}"

        def total(terms) -> Decimal | int | None:
            acc: Decimal | int = 0
            for sign, name in terms:
                source, name = (prev_values, name[5:]) if name.startswith("prev.") else (values, name)
                v = source.get(cell_id(name))
                if not isinstance(v, (int, Decimal)) or isinstance(v, bool):
                    return None  # a cell missing in either report (another version, unreadable): no verdict
                acc += sign * v
            return acc

        found, expected = total(lhs), total(rhs)
        if found is None or expected is None or found == expected:
            continue
        target = layout.cells[cell_id(lhs[0][1])]
        yield code.at(sheet=target.sheet, cell=target.a1, ids=[target.id], label=target.title, found=found,
                      expected=expected, prev_year=prev.get("year"), prev_file=(prev.get("source") or {}).get("file"),
                      rule_title=rule.title, rule_title_en=rule.title_en)
