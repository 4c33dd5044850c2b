"""Rosters: the CSV list of agencies a coordinator generates workbooks for.

Format (docs/roster.md): a header row, then one agency per row. Columns, by Chinese or
English name: 单位名称/agency (required), 年度/year, 地区/region, 代码/code, 文件名/file.
UTF-8 (with or without BOM) or GB18030 (what Excel on Chinese Windows saves as "CSV").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from xltool.generate.writer import Agency

COLUMNS = {
    "agency": ("单位名称", "单位", "agency", "name"),
    "year": ("年度", "报告年度", "year"),
    "region": ("地区", "所属地区", "region"),
    "code": ("代码", "单位代码", "统一社会信用代码", "code"),
    "file": ("文件名", "file", "filename"),
}
_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@dataclass(frozen=True)
class RosterRow:
    line: int
    agency: Agency
    file: str


class RosterError(ValueError):
    def __init__(self, path: Path, problems: list[tuple[int, str]]):
        self.path, self.problems = path, problems
        lines = "\n".join(f"  {path}:{line}: {msg}" if line else f"  {path}: {msg}" for line, msg in problems)
        super().__init__(f"名单文件有 {len(problems)} 处问题，未生成任何文件 / the roster has {len(problems)} problem(s), "
                         f"nothing was generated:\n{lines}")


def safe_filename(name: str, max_len: int = 100) -> str:
    """A file name that Windows, macOS and Linux all accept, keeping Chinese characters."""
    stem = _WINDOWS_BAD.sub("_", name).strip().rstrip(". ")
    stem = stem[:max_len] or "_"
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return stem


class _BadQuote(ValueError):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(line number of its first line, fields) of every record. A quote that never closes would
    swallow the rest of the file into one field ("未闭合,某市..."): that is an error at its line."""
    reader = csv.reader(io.StringIO(text), strict=True)
    out = []
    line = 1
    try:
        for rec in reader:
            out.append((line, rec))
            line = reader.line_num + 1
    except csv.Error:
        raise _BadQuote(line) from None
    return out


def _unreadable(path: Path) -> str | None:
    """What stops the roster from being read at all, in words (zh / en), or None."""
    if not path.exists():
        return "找不到名单文件，请检查路径 / no such file; check the path"
    if path.is_dir():
        return "这是一个文件夹，不是名单文件（CSV） / this is a folder, not a roster file (CSV)"
    try:
        size = path.stat().st_size
    except OSError as e:
        return f"无法读取（{e.strerror}） / cannot read it ({e.strerror})"
    if size > MAX_ROSTER_BYTES:
        return f"文件有 {size // 1024 // 1024} MB，不像名单文件（CSV） / {size // 1024 // 1024} MB: too large for a roster"
    if path.suffix.lower() in (".xlsx", ".xls", ".et"):
        return "这是 Excel 表格，请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”后使用 / this is a workbook: save it as CSV UTF-8"
    return None


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("roster", raw, 0, 1, "neither UTF-8 nor GB18030")


MAX_ROSTER_BYTES = 20 * 1024 * 1024     # a roster of every agency of a province is well under 1 MB


def read_roster(path: Path, default_year: int | None = None,
                notes: list[tuple[int, str]] | None = None) -> list[RosterRow]:
    """All rows of a roster, or a RosterError listing every bad line (line numbers as in Excel).
    Header columns xltool does not use are not an error: each is added to `notes` (line, message)."""
    path = Path(path)
    problem = _unreadable(path)
    if problem:
        raise RosterError(path, [(0, problem)])
    try:
        text = _decode(path.read_bytes())
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(path, [(0, f"无法读取（{e}），请在 Excel 中另存为“CSV UTF-8” / cannot read it ({e}); "
                                    f"save it from Excel as CSV UTF-8")]) from None
    try:
        records = _records(text)
    except _BadQuote as e:
        raise RosterError(path, [(e.line, "引号不成对（从这一行起的引号没有闭合），请在 Excel 中打开名单检查后另存为 CSV / "
                                          "unbalanced quote: a quote opened on this line is never closed; open the "
                                          "roster in Excel, check it and save it as CSV again")]) from None
    if not records:
        raise RosterError(path, [(1, "文件为空，第一行应为表头，如：单位名称,地区,代码 / empty file: the first line is the header")])
    _, header = records[0]
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        key = next((k for k, names in COLUMNS.items() if h.strip().lower() in names), None)
        if key:
            index[key] = i
        elif h.strip() and notes is not None:
            notes.append((1, f"“{h.strip()}”列不是名单的列，已忽略（可用的列见 docs/roster.md） / column '{h.strip()}' "
                             f"is not a roster column and is ignored"))
    if "agency" not in index:
        raise RosterError(path, [(1, f"表头缺少“单位名称”列（现有：{', '.join(header)}）/ the header needs an agency column")])
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    seen_files: dict[str, int] = {}
    for line, rec in records[1:]:
        if not any(x.strip() for x in rec):
            continue
        extra = [x for x in rec[len(header):] if x.strip()]
        if extra:
            problems.append((line, f"这一行有 {len(rec)} 列，表头只有 {len(header)} 列，多出“{'、'.join(extra)}”："
                                   f"单位名称中的逗号请用引号括起来，或删去多余的内容 / {len(rec)} fields but the header "
                                   f"has {len(header)}; quote a name that contains a comma, or remove the extra text"))
            continue
        if any("\n" in x or "\r" in x for x in rec):
            problems.append((line, "单元格内有换行，请删去换行 / a field holds a line break; remove it"))
            continue
        get = lambda k: rec[index[k]].strip() if k in index and index[k] < len(rec) else ""  # noqa: E731
        name = get("agency")
        if not name:
            problems.append((line, "单位名称为空 / agency name is empty"))
            continue
        year_text = get("year")
        year = default_year
        if year_text:
            if not re.fullmatch(r"\d{4}", year_text):
                problems.append((line, f"年度“{year_text}”应为四位数字，如 2024 / year must be four digits"))
                continue
            year = int(year_text)
        file = safe_filename(get("file") or (f"{name}_{year}" if year else name))
        if not file.lower().endswith(".xlsx"):
            file += ".xlsx"
        if file.lower() in seen_files:
            problems.append((line, f"文件名“{file}”与第 {seen_files[file.lower()]} 行重复 / same file name as line "
                                   f"{seen_files[file.lower()]}; add a 文件名 column or make the names differ"))
            continue
        seen_files[file.lower()] = line
        rows.append(RosterRow(line, Agency(name, year, get("region") or None, get("code") or None), file))
    if problems:
        raise RosterError(path, problems)
    if not rows:
        raise RosterError(path, [(2, "名单中没有任何单位 / the roster lists no agency")])
    return rows
