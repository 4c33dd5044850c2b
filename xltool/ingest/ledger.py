"""The ingest ledger: an SQLite database in the output folder that remembers every file seen.

`files` holds the latest verdict per inbox path (size, mtime, sha256, form, agency, year,
status, the JSON written, the run-report entry); `history` keeps every verdict ever given, so
a superseded or replaced return is never forgotten. Each file's record is committed on its
own, right after its JSON is written: a run killed at any moment loses at most the file in
flight, which the next run processes again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xltool.form.canonical import dumps, loads

LEDGER_NAME = "ledger.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
    form TEXT, agency TEXT, year INTEGER, status TEXT, json TEXT, entry TEXT, seen_at TEXT);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
    form TEXT, agency TEXT, year INTEGER, status TEXT, json TEXT, seen_at TEXT);
CREATE INDEX IF NOT EXISTS history_by_agency ON history (agency, year);
"""


@dataclass(frozen=True)
class Known:
    size: int
    mtime_ns: int
    sha256: str
    json: str | None
    entry: dict[str, Any]


class Ledger:
    def __init__(self, folder: Path):
        self.path = Path(folder) / LEDGER_NAME
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def known(self) -> dict[str, Known]:
        """Every path's last record, loaded at once (a re-run over thousands of files stays fast)."""
        out = {}
        for path, size, mtime_ns, sha, json_path, entry in self.db.execute(
                "SELECT path, size, mtime_ns, sha256, json, entry FROM files"):
            out[path] = Known(size, mtime_ns, sha, json_path, loads(entry))
        return out

    def record(self, entry: dict[str, Any], mtime_ns: int, remember: bool = True) -> None:
        """One file's verdict: appended to `history` and, when `remember`, kept in `files` as the
        verdict to reuse while the content stays the same. Committed now."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        row = (entry["path"], entry["size"], mtime_ns, entry["sha256"], entry.get("form"), entry.get("agency"),
               entry.get("year"), entry["status"], entry.get("json"))
        with self.db:  # one transaction per file
            self.db.execute("BEGIN")
            if remember:
                self.db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?)", row + (dumps(entry), now))
            else:
                self.db.execute("DELETE FROM files WHERE path = ?", (entry["path"],))
            self.db.execute("INSERT INTO history (path, size, mtime_ns, sha256, form, agency, year, status, json, seen_at)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?)", row + (now,))

    def touch(self, path: str, mtime_ns: int) -> None:
        """Same content, new modification time (copied again, touched): remember the new time."""
        self.db.execute("UPDATE files SET mtime_ns = ? WHERE path = ?", (mtime_ns, path))

    def history(self, agency: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT path, sha256, form, agency, year, status, json, seen_at FROM history"
        rows = self.db.execute(q + (" WHERE agency = ?" if agency else "") + " ORDER BY id", (agency,) if agency else ())
        keys = ("path", "sha256", "form", "agency", "year", "status", "json", "seen_at")
        return [dict(zip(keys, r)) for r in rows]

    def close(self) -> None:
        self.db.close()
