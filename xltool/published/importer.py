"""Import published reports: each file to a canonical document, as ingest writes them.

`import_file` reads one file (text, HTML, DOCX or PDF), detects the form version from its labels,
matches its tables onto spec ids, reads the title and the text parts, and checks the printed
totals. For a published report the printed totals are the data: they are kept as printed, and
each is recalculated with the template's formula (`recalc`) over the printed cells it sums, so
a mismatch is named by the identity that breaks (T3-B, T3-C, T4); a printed check that does not
hold (T3-A) likewise. The findings are the rules' own (`rules.rule_code`), worded as ingest
words them. The document adds `provenance`: for every value read, where it was printed
(`{"page", "line"}` in a PDF, `{"table", "row", "column"}` in DOCX and HTML, `{"line"}` in
text, `{"paragraph"}` for text parts of HTML and DOCX; all 1-based) and, for table cells and
the title, the text as printed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.calc.model import model_for
from xltool.calc.reference import Model, exact
from xltool.checks.identities import rule_code, tainted, unbalanced
from xltool.fileio import write_atomic
from xltool.findings import ERROR, WARNING, Code, Finding, printable
from xltool.form.canonical import document, dumps
from xltool.form.layout import Layout, ValueCell
from xltool.form.spec import FormSpec
from xltool.published.docx_reader import read_docx
from xltool.published.grid import Published
from xltool.published.html import read_html
from xltool.published.match import Matched, detect_form, match, place
from xltool.published.parts import read_parts, read_title
from xltool.published.pdf import read_pdf
from xltool.published.text import read_text

FORM_UNKNOWN = Code(
    "published-form-unknown", ERROR,
    zh="无法从表头标签判断该报告所用的表格版本（2019 年版或 2021 年版），未读取任何数字。",
    en="The form version (2019 or 2021) could not be told from the table labels; no number was read.")
FILE_UNREADABLE = Code(
    "published-unreadable", ERROR,
    zh="文件无法读取（{reason}）。",
    en="The file could not be read ({reason}).")
BLANK = Code(
    "published-blank", WARNING,
    zh="“{table}”有 {count} 个格子公开为空白，值记为空（核对合计时按 0 计）：{cells}。",
    en="{table}: {count} cell(s) are printed blank and left empty (counted as 0 when checking totals): {cells}.")

FIX = "公开文本中的合计与各分项不一致，请对照原文核对。"
FIX_EN = "The printed total does not agree with its parts; check them against the original."


def _readers() -> dict[str, Callable[[Path], Published]]:
    return {".txt": read_text, ".text": read_text, ".html": read_html, ".htm": read_html,
            ".docx": read_docx, ".pdf": read_pdf}


SUFFIXES = (".txt", ".text", ".html", ".htm", ".docx", ".pdf")


class UsageError(ValueError):
    """A path that is not an importable file or folder (the CLI's exit code 2)."""


@dataclass
class ImportResult:
    path: Path
    document: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    json: Path | None = None

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)


def import_file(path: Path, name: str | None = None) -> ImportResult:
    """One published report as a canonical document (never raises on bad content: findings)."""
    path = Path(path)
    name = printable(name or path.name)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        pub = _readers()[path.suffix.lower()](path)
    except Exception as e:  # noqa: BLE001 - a damaged file of any kind is a finding, not a traceback
        return _result(path, None, {}, [FILE_UNREADABLE.at(reason=f"{type(e).__name__}: {e}")], {}, name, sha, "")
    spec = detect_form(pub)
    if spec is None:
        return _result(path, None, {}, [FORM_UNKNOWN.at()], {}, name, sha, pub.format)
    matched = match(spec, pub)
    meta, meta_where, meta_findings = read_title(spec, pub)
    texts, text_where, text_findings = read_parts(spec, pub)
    values = {**matched.values, **meta, **texts}
    findings = matched.findings + meta_findings + text_findings + list(_blanks(spec, matched))
    findings += check_printed(spec, values, matched)
    provenance = {**matched.where, **meta_where, **text_where}
    return _result(path, spec, values, findings, provenance, name, sha, pub.format)


def _result(path: Path, spec: FormSpec | None, values: dict[str, Any], findings: list[Finding],
            provenance: dict[str, dict], name: str, sha: str, fmt: str) -> ImportResult:
    status = "rejected" if any(f.is_error for f in findings) else "accepted"
    doc = document(spec=spec, values=values if spec else None, findings=findings, file_name=name, sha256=sha,
                   status=status)
    doc["provenance"] = {k: provenance[k] for k in sorted(provenance)}
    doc["source"]["format"] = fmt
    return ImportResult(path, doc, findings)


def check_printed(spec: FormSpec, values: dict[str, Any], matched: Matched) -> list[Finding]:
    """The spec's identities over the printed numbers. Each printed total against its formula
    (the template's, `recalc`) over the printed cells it sums: T3-B, T3-C, T4; where a total is
    the crossing of two (表三's （七）总计 | 总计), against both. Then the printed checks (T3-A).
    Cells not read, and totals over them, are left out: their own finding says why."""
    layout = spec.layout
    numeric = {k: (v if isinstance(v, (int, Decimal)) and not isinstance(v, bool) else None) for k, v in values.items()}
    skip = set(tainted(layout, matched.unread))
    model = model_for(layout)
    out = []
    for cell in layout.computed():
        printed = numeric.get(cell.id)
        if printed is None or cell.id in skip:
            continue
        for rule_id, deps, expected in _identities(layout, model.reference, cell, numeric):
            if skip.intersection(deps) or expected == printed:
                continue
            rule = spec.rule(rule_id)
            out.append(rule_code(spec, rule_id).at(
                sheet=cell.sheet, cell=place(matched.where.get(cell.id)), ids=[cell.id, *deps], label=cell.title,
                found=printed, expected=expected, rule_title=rule.title, rule_title_en=rule.title_en,
                fix=FIX, fix_en=FIX_EN))
    blank_totals = {c.id for c in layout.computed() if numeric.get(c.id) is None}
    for result in model.run_checks(numeric):
        ch = result.check
        ids = ch.lhs_ids + ch.rhs_ids
        if result.ok or skip.intersection(ids) or blank_totals.intersection(ids):
            continue
        out.append(unbalanced(spec, result, cell=place(matched.where.get(ch.rhs_ids[0]))))
    return out


def _identities(layout: Layout, reference: Model, cell: ValueCell, numeric: dict[str, Any]):
    """(rule, cells summed, value) for each identity a printed total must satisfy: its own
    formula over the printed cells, and at a crossing the other axis's formula, taken from a
    neighbour with that rule and fed this cell's row or column (the layout keeps one formula per
    cell; a published table has both directions printed)."""
    yield cell.rule, cell.depends, exact(reference.formulas[cell.id](numeric), cell.type.kind)
    seen = {cell.rule}
    for other in layout.table_cells(cell.table or ""):
        if not other.computed or other.rule in seen or not other.depends:
            continue
        deps = [layout.cells[d] for d in other.depends]
        if other.row_id == cell.row_id and all(d.col_id == other.col_id for d in deps):
            moved = {d.id: f"{d.table}.{d.row_id}.{cell.col_id}" for d in deps}
        elif other.col_id == cell.col_id and all(d.row_id == other.row_id for d in deps):
            moved = {d.id: f"{d.table}.{cell.row_id}.{d.col_id}" for d in deps}
        else:
            continue
        if not all(m in layout.cells for m in moved.values()):
            continue
        seen.add(other.rule)
        fed = {**numeric, **{d: numeric.get(m) for d, m in moved.items()}}
        yield other.rule, tuple(moved.values()), exact(reference.formulas[other.id](fed), cell.type.kind)


def _blanks(spec: FormSpec, matched: Matched) -> Iterable[Finding]:
    by_sheet: dict[str, list[str]] = {}
    for cid in sorted(matched.blank):
        by_sheet.setdefault(spec.layout.cells[cid].sheet, []).append(cid)
    for sheet, ids in by_sheet.items():
        cells = [f"{spec.layout.cells[i].title}（{place(matched.where.get(i)) or ''}）" for i in ids]
        yield BLANK.at(sheet=sheet, ids=ids, table=sheet, count=len(ids), cells=cells[:12])


def find_files(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """The files to import and their names in the output: a folder gives its importable files
    (recursively, names relative to it); a file is taken as given. Raises UsageError."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            out += [(f, f.relative_to(p).as_posix()) for f in found]
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise UsageError(f"不支持的文件类型 / unsupported file type: {p} (expected {', '.join(SUFFIXES)})")
            out.append((p, p.name))
        else:
            raise UsageError(f"找不到文件或目录 / no such file or folder: {p}")
    return out


def import_reports(paths: Iterable[Path], out_dir: Path, on_start: Callable[[int], None] | None = None,
                   on_file: Callable[[ImportResult], None] | None = None) -> list[ImportResult]:
    """Import every file (folders searched) and write out_dir/<name>.json for each; on_start(count)
    once the files are found, on_file(result) as each is read (a progress bar)."""

    files = find_files(paths)
    if on_start:
        on_start(len(files))
    out_dir = Path(out_dir)
    results = []
    for path, name in files:
        result = import_file(path, name)
        result.json = out_dir / f"{name}.json"
        result.json.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(result.json, dumps(result.document))
        results.append(result)
        if on_file:
            on_file(result)
    return results
