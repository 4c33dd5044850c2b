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
        lines = "\n".join(f"  {path}:{line}: {msg}" for line, msg in problems)
        super().__init__(f"名单文件有 {len(problems)} 处问题，未生成任何文件 / the roster has {len(problems)} problem(s), "
                         f"nothing was generated:\n{lines}")


def safe_filename(name: str, max_len: int = 100) -> str:
    """A file name that Windows, macOS and Linux all accept, keeping Chinese characters."""
    stem = _WINDOWS_BAD.sub("_", name).strip().rstrip(". ")
    stem = stem[:max_len] or "_"
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return stem


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("roster", raw, 0, 1, "neither UTF-8 nor GB18030")


def read_roster(path: Path, default_year: int | None = None) -> list[RosterRow]:
    """All rows of a roster, or a RosterError listing every bad line (line numbers as in Excel)."""
    try:
        text = _decode(Path(path).read_bytes())
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(path, [(0, f"无法读取（{e}）/ cannot read it; save it as CSV UTF-8")]) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise RosterError(path, [(1, "文件为空，第一行应为表头，如：单位名称,地区,代码 / empty file: the first line is the header")])
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        key = next((k for k, names in COLUMNS.items() if h.strip().lower() in names), None)
        if key:
            index[key] = i
    if "agency" not in index:
        raise RosterError(path, [(1, f"表头缺少“单位名称”列（现有：{', '.join(header)}）/ the header needs an agency column")])
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    seen_files: dict[str, int] = {}
    for line, rec in enumerate(reader, start=2):
        if not any(x.strip() for x in rec):
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
