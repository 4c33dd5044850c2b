"""The roster as the server sees it: each agency with its name, code, year and inbox folder.

The folder an agency's uploads go to is derived from its roster row only (the roster's own
safe file name), never from anything a client sends; read_roster already makes those names
unique and safe on every file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xltool.generate.roster import RosterError, read_roster


@dataclass(frozen=True)
class Member:
    """One agency on the roster."""

    name: str
    code: str | None
    year: int | None
    folder: str          # its folder in the inbox: a safe name from the roster row


def folder_for(file_name: str) -> str:
    """The inbox folder for a roster row's safe file name: its stem, never hidden (the inbox walk
    skips names starting with '.') nor looking like an Excel lock file ('~$')."""
    stem = Path(file_name).stem if file_name.lower().endswith(".xlsx") else file_name
    stem = stem.strip() or "_"
    return "_" + stem if stem[0] in ".~" else stem


def load_members(roster: Path, default_year: int | None = None) -> list[Member]:
    """The roster's agencies; a RosterError (every bad line) when it cannot be used. Names must be
    unique: a link is issued per agency name."""
    rows = read_roster(roster, default_year=default_year)
    members, seen, folders, problems = [], {}, {}, []
    for row in rows:
        name = row.agency.name or ""
        folder = folder_for(row.file)
        if name in seen:
            problems.append((row.line, f"单位“{name}”与第 {seen[name]} 行重复，每个单位只能有一个上传链接 / "
                                       f"same agency as line {seen[name]}: one link per agency"))
            continue
        if folder.lower() in folders:
            problems.append((row.line, f"文件夹名“{folder}”与第 {folders[folder.lower()]} 行相同，请在“文件名”列区分 / "
                                       f"same folder as line {folders[folder.lower()]}: make the 文件名 column differ"))
            continue
        seen[name], folders[folder.lower()] = row.line, row.line
        members.append(Member(name, row.agency.code, row.agency.year, folder))
    if problems:
        raise RosterError(Path(roster), problems)
    return members
