"""The ingest ledger: an SQLite database in the output folder that remembers every file seen.

`files` holds the latest verdict per inbox path, keyed by the path's raw bytes (two names that
print alike, one UTF-8 and one GBK, are two files): what identifies the content (size, mtime,
ctime, inode, sha256), the verdict, the run-report entry (packed) and its head (what a run reads
of every file: the entry without its findings, so that a re-run decodes none), and, for an accepted return,
its share of the summary (outputs.summary_rows.SummaryRow: its numbers to add up, its finished
row of the 明细 sheet and of values.csv), so that summary.xlsx and values.csv are put together
from stored pieces and never read the JSON documents back. `history` keeps every verdict ever
given, so a superseded or replaced return is never
forgotten.

Records are committed in batches (every BATCH_FILES files or BATCH_SECONDS), each after the
files' JSON are written and flushed to disk (once per batch, by the caller's `before_commit`): a run killed at any moment loses at most the last batch's records, and
the next run processes those files again. The schema has a version (PRAGMA user_version): a
ledger that is not one (garbage, truncated, an older layout) is moved aside, kept under a dated
name, and rebuilt from the inbox; one written by a newer xltool is refused. A ledger of an older
layout keeps its history; its files are checked again once (version 1), or its records are
kept and given a head column (version 2).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from xltool.findings import WARNING, Code
from xltool.form.canonical import loads
from xltool.outputs.packed_result import StoredVerdict, entry_head, read_head, unpack_entry
from xltool.outputs.summary_rows import unpack_sums

LEDGER_NAME = "ledger.sqlite"
SCHEMA_VERSION = 3
BATCH_FILES = 64
BATCH_SECONDS = 0.5
_FILES_COLUMNS = ("key", "path", "size", "mtime_ns", "ctime_ns", "ino", "sha256", "form", "agency", "year",
                  "status", "json", "feedback", "entry", "sums", "sheet_row", "csv_rows", "seen_at", "head")
# What a re-run reads of each record (KnownRecords): its head, not its entry, unless it has no head
_KNOWN_COLUMNS = ("key, size, mtime_ns, ctime_ns, ino, sha256, json, feedback, head, "
                  "CASE WHEN head IS NULL THEN entry END")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (
    key BLOB PRIMARY KEY, path TEXT, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER, sha256 TEXT,
    form TEXT, agency TEXT, year INTEGER, status TEXT, json TEXT, feedback TEXT, entry BLOB, sums BLOB,
    sheet_row BLOB, csv_rows BLOB, seen_at TEXT, head TEXT);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB, path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
    form TEXT, agency TEXT, year INTEGER, status TEXT, json TEXT, seen_at TEXT);
CREATE INDEX IF NOT EXISTS history_by_agency ON history (agency, year);
PRAGMA user_version = {SCHEMA_VERSION};
"""

LEDGER_MOVED_ASIDE = Code(
    "ledger-moved-aside", WARNING,
    zh="输出目录中的台账文件 {name} 已损坏或不是本程序的台账（{reason}），已改名保存为 {kept}，并根据收件目录重新建立；"
       "本次所有文件都重新校验。",
    en="The ledger {name} in the output folder was damaged or not an xltool ledger ({reason}); it was kept as {kept} "
       "and rebuilt from the inbox. Every file was checked again in this run.")


class LedgerTooNew(RuntimeError):
    """The ledger was written by a newer xltool: its layout is not known here."""


def _utf8_name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# A stored name (the file system's bytes) as os.fsdecode gives it; where the file system's
# encoding is UTF-8, as on every Linux, the decode itself: a re-run decodes thousands of names
_name = (_utf8_name if (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()) == ("utf-8", "surrogateescape")
         else os.fsdecode)


class Known(NamedTuple):
    """A file's record as a re-run reads it of every file (a named tuple: one per file, made as the walk reaches it)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    sha256: str
    json: str | None
    feedback: str | None
    head: str | None               # what a run reads of the verdict (packed_result.entry_head)
    entry_packed: bytes | None     # the entry itself (pack_entry): only for a record without a head


@dataclass(frozen=True, slots=True)
class FileStat:
    """What tells the ledger a file may have changed: any difference means the content is hashed again."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    @classmethod
    def missing(cls) -> FileStat:
        return cls(0, 0, 0, 0)


def _raw(key: str) -> bytes:
    return os.fsencode(key)


class StoredSummaryRows:
    """outputs.summary.SummaryRows over the ledger: the chosen returns' stored SummaryRow fields,
    read one return at a time each time they are asked for, sorted by SQLite in the summary's order
    (form, year, agency; agencies never repeat within a form and year among the returns in use,
    the newest accepted one having superseded the others). The chosen returns' names are put in
    a table of that read's own (SQLite's temporary storage), not held."""

    _COLUMNS = {"form": "form", "year": "year", "agency": "COALESCE(agency, '')", "sums": "sums",
                "sheet_row": "sheet_row", "csv_rows": "csv_rows"}

    def __init__(self, path: Path, keys: Callable[[], Iterable[str]]):
        self.path, self.keys = path, keys

    def __call__(self, *fields: str):
        """Each call reads over a connection of its own, so that two threads can read at once
        (values.csv is written beside summary.xlsx); it sees what the ledger has committed."""
        columns = ", ".join(self._COLUMNS[f] for f in fields)
        sums = fields.index("sums") if "sums" in fields else None
        db = sqlite3.connect(self.path)
        try:
            db.execute("PRAGMA temp.cache_size = -256")
            db.execute("CREATE TEMP TABLE chosen (key BLOB PRIMARY KEY) WITHOUT ROWID")
            db.executemany("INSERT OR IGNORE INTO chosen VALUES (?)", ((_raw(k),) for k in self.keys()))
            for values in db.execute(
                    f"SELECT {columns} FROM files WHERE sums IS NOT NULL AND key IN chosen "
                    "ORDER BY form, COALESCE(year, -1), COALESCE(agency, ''), path, key"):
                values = list(values)
                if sums is not None:
                    values[sums] = unpack_sums(values[sums])
                yield tuple(values)
        finally:
            db.close()


class LedgerEntries:
    """The entries the ledger stores, read back by raw inbox path (outputs.packed_result.StoredEntries):
    a run's results keep their scalars, not their entries' text.

    While the run's ledger is open, reads go through its connection (they see the records of its
    batch not yet committed: the upload server answers an upload the moment its verdict is
    recorded). After the run, and in a forked child (report.html's drawer), through a connection
    of this process's own, opened at the first read; a result read after its run checks that the
    entry is still its own (PackedResult: the same hash and time)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.path = ledger.path
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._inherited: list[sqlite3.Connection] = []   # a parent's: never used, never closed in a child

    def packed(self, key: str) -> bytes:
        row = self._connection().execute("SELECT entry FROM files WHERE key = ?", (_raw(key),)).fetchone()
        if row is None or not isinstance(row[0], bytes):   # KeyError: read as a damaged record (PackedResult)
            raise KeyError(f"the ledger {self.path} holds no verdict for {key!r}")
        return row[0]

    def forget(self, key: str) -> None:
        """The entry of `key` cannot be read back: its record is made one no run reuses (no size, no
        hash), so that its file is checked again next run. Only while this process's run holds the
        ledger: a forked child, or a result read after its run, writes nothing."""
        if self.ledger.db is not None and self.ledger.pid == os.getpid():
            self.ledger.forget(key)

    def close(self) -> None:
        """Close this process's own connection (the next read opens another)."""
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    def _connection(self) -> sqlite3.Connection:
        if self.ledger.db is not None and self.ledger.pid == os.getpid():
            return self.ledger.db
        if self._db is not None and self._pid != os.getpid():
            self._inherited.append(self._db)
            self._db = None
        if self._db is None:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._pid = os.getpid()
        return self._db


class KnownRecords:
    """The ledger's records met in the order of their raw names' bytes (Ledger.known_records):
    `take` the record of each name in turn, in ascending byte order; the records of names never
    asked for (files no longer in the inbox) are passed over. Read a page at a time, each page by a
    statement of its own, so that the run may write to the ledger between two pages."""

    PAGE = 512

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._page: list[tuple] = []
        self._at = 0
        self._ended = False

    def take(self, raw: bytes) -> Known | None:
        """The record of the raw name `raw`, or None (a row that cannot be read is None too, so
        that its file is simply checked again). Names must be asked for in ascending byte order."""
        while True:
            if self._at == len(self._page):
                if self._ended or not self._next_page():
                    return None
            row = self._page[self._at]
            if row[0] > raw:
                return None
            self._at += 1
            if row[0] == raw:
                key, size, mtime_ns, ctime_ns, ino, sha, json_path, feedback, head, entry = row
                if isinstance(head, str) or isinstance(entry, bytes):
                    return Known(size, mtime_ns, ctime_ns, ino, sha, json_path, feedback, head, entry)
                return None

    def _next_page(self) -> bool:
        after = self._page[-1][0] if self._page else b""
        self._page, self._at = self.ledger._known_page(after, self.PAGE), 0
        self._ended = len(self._page) < self.PAGE
        return bool(self._page)


class Ledger:
    db: sqlite3.Connection | None = None

    def __init__(self, folder: Path, before_commit: Callable[[], None] | None = None):
        """`before_commit`: called before each batch is committed (the outputs the batch's records
        name are flushed to disk there, once per batch rather than once per file)."""
        self.path = Path(folder) / LEDGER_NAME
        self.pid = os.getpid()   # the process its connection belongs to (a forked child never uses it)
        self.before_commit = before_commit
        self.moved_aside = None   # the finding about a ledger that was moved aside, for the run report
        try:
            self.db = self._open()
            self._read_every_row()
        except sqlite3.DatabaseError as e:
            if self.db is not None:
                self.db.close()
            self.moved_aside = self._move_aside(f"{type(e).__name__}: {e}")
            self.db = self._open()
        self._pending = 0
        self._last_commit = time.monotonic()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version > SCHEMA_VERSION:
                raise LedgerTooNew(
                    f"输出目录中的台账 {self.path} 由更新版本的 xltool 写入（台账版本 {version}，本程序为 {SCHEMA_VERSION}），"
                    f"请使用新版本的 xltool，或换一个输出目录。 / The ledger {self.path} was written by a newer xltool "
                    f"(ledger version {version}; this one knows {SCHEMA_VERSION}). Use the newer xltool or another output folder.")
            if version == 1 and {"files", "history"} <= tables:
                self._upgrade_from_1(db)
            elif version == 2 and "files" in tables:
                self._upgrade_from_2(db)
            elif version < SCHEMA_VERSION and tables:
                raise sqlite3.DatabaseError(f"ledger version {version}, expected {SCHEMA_VERSION}")
            if version == SCHEMA_VERSION:
                columns = tuple(row[1] for row in db.execute("PRAGMA table_info(files)"))
                if columns != _FILES_COLUMNS:
                    raise sqlite3.DatabaseError("unexpected columns")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return db
        except BaseException:
            db.close()
            raise

    @staticmethod
    def _upgrade_from_1(db: sqlite3.Connection) -> None:
        """Version 1 kept each return's summary values as one JSON document: its `files` table is
        dropped (every file is checked again, once), its history kept."""
        db.executescript(f"BEGIN; DROP TABLE files; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    @staticmethod
    def _upgrade_from_2(db: sqlite3.Connection) -> None:
        """Version 2 kept no head beside each entry: the column is added and filled from the
        entries, once (a record whose entry cannot be read keeps none, and is read as before)."""
        db.execute("BEGIN")
        db.execute("ALTER TABLE files ADD COLUMN head TEXT")
        heads = []
        for key, packed in db.execute("SELECT key, entry FROM files"):
            try:
                heads.append((entry_head(loads(unpack_entry(packed))), key))
            except (TypeError, ValueError, KeyError, zlib.error):
                continue
        db.executemany("UPDATE files SET head = ? WHERE key = ?", heads)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")

    def _move_aside(self, reason: str):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kept = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        n = 1
        while kept.exists():
            kept, n = self.path.with_name(f"{self.path.name}.broken-{stamp}-{n}"), n + 1
        os.replace(self.path, kept)
        for extra in ("-wal", "-shm"):   # the old journal belongs to the old file
            side = self.path.with_name(self.path.name + extra)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + extra))
        return LEDGER_MOVED_ASIDE.at(name=self.path.name, reason=reason[:200], kept=kept.name)

    def known_records(self) -> KnownRecords:
        """Every path's last record, as a walk in the order of the names' bytes meets them: a
        re-run reads each record as its file is reached, and holds none of the others (an inbox of
        100,000 files is not held twice over)."""
        return KnownRecords(self)

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None

    def _read_every_row(self) -> None:
        """Read what a re-run reads of every record, keeping nothing: a truncated file shows here."""
        for _ in self.db.execute(f"SELECT {_KNOWN_COLUMNS} FROM files"):
            pass

    def _known_page(self, after: bytes, limit: int) -> list[tuple]:
        """The next `limit` records after the raw name `after`, in the names' byte order (SQLite
        orders BLOBs as memcmp does; a key that is not a BLOB sorts before them all, and never shows)."""
        return self.db.execute(f"SELECT {_KNOWN_COLUMNS} FROM files WHERE key > ? ORDER BY key LIMIT ?",
                               (after, limit)).fetchall()

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every path's last run-report entry (by raw path), decoded; a record that cannot be read is left out."""
        out = {}
        for key, packed in self.db.execute("SELECT key, entry FROM files"):
            try:
                out[os.fsdecode(key)] = loads(unpack_entry(packed))
            except (TypeError, ValueError, zlib.error):
                continue
        return out

    def record(self, verdict: StoredVerdict) -> None:
        """One file's verdict: appended to `history` and kept in `files`, with its stat as taken
        before the file was read, and for an accepted return its share of the summary. A verdict
        to retry (a time-out, a crash: more about this run than about the file) is kept for this
        run's summary but never reused: it is stored with no stat and no hash. Committed with its
        batch. The head is decoded here for the columns alone: SQLite keeps a UTF-8 copy inside
        each str it is given, which a string kept for the run (a name, an agency) would carry."""
        entry = read_head(verdict.head)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        raw = _raw(verdict.key)
        stat = FileStat(*verdict.stat) if verdict.stat is not None and not verdict.retry else FileStat.missing()
        sha = "" if verdict.retry else entry["sha256"]
        self._begin()
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (raw, entry["path"], stat.size, stat.mtime_ns, stat.ctime_ns, stat.ino, sha,
                         entry.get("form"), entry.get("agency"), entry.get("year"), entry["status"], entry.get("json"),
                         entry.get("feedback"), verdict.packed, verdict.sums, verdict.sheet_row, verdict.csv_rows, now,
                         verdict.head))
        self.db.execute("INSERT INTO history (key, path, size, mtime_ns, sha256, form, agency, year, status, json, seen_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (raw, entry["path"], stat.size, stat.mtime_ns, entry["sha256"], entry.get("form"),
                         entry.get("agency"), entry.get("year"), entry["status"], entry.get("json"), now))
        self._done_one()

    def touch(self, key: str, stat: FileStat) -> None:
        """Same content, new times or inode (copied again, touched): remember them."""
        self._begin()
        self.db.execute("UPDATE files SET mtime_ns = ?, ctime_ns = ?, ino = ? WHERE key = ?",
                        (stat.mtime_ns, stat.ctime_ns, stat.ino, _raw(key)))
        self._done_one()

    def entries_digest(self, keys: Iterable[str]) -> bytes:
        """What the run report's entries of `keys` (in the names' byte order) are made from, in
        that order: each file's name, its mtime (the newest return supersedes) and its verdict as
        stored (packed). The two orders are merged: neither is held."""
        self.commit()
        digest = hashlib.sha256()
        wanted = (_raw(k) for k in keys)
        want = next(wanted, None)
        for key, mtime_ns, entry in self.db.execute("SELECT key, mtime_ns, entry FROM files ORDER BY key"):
            while want is not None and want < key:
                want = next(wanted, None)
            if want is None:
                break
            if want == key:
                digest.update(key + f"\0{mtime_ns}\0".encode() + entry)
        return digest.digest()

    def forget(self, key: str) -> None:
        """Keep the record of `key` but never reuse it: its file is checked again next run."""
        self._begin()
        self.db.execute("UPDATE files SET size = -1, sha256 = '' WHERE key = ?", (_raw(key),))
        self._done_one()

    def summary_rows(self, keys: Callable[[], Iterable[str]]) -> StoredSummaryRows:
        """The stored summary rows of the returns whose raw paths keys() gives (accepted, in use),
        in summary order."""
        self.commit()
        return StoredSummaryRows(self.path, keys)

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def _done_one(self) -> None:
        self._pending += 1
        if self._pending >= BATCH_FILES or time.monotonic() - self._last_commit >= BATCH_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.db.in_transaction:
            if self.before_commit is not None:
                self.before_commit()
            self.db.execute("COMMIT")
        self._pending = 0
        self._last_commit = time.monotonic()

    def history(self, agency: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT path, sha256, form, agency, year, status, json, seen_at FROM history"
        rows = self.db.execute(q + (" WHERE agency = ?" if agency else "") + " ORDER BY id", (agency,) if agency else ())
        keys = ("path", "sha256", "form", "agency", "year", "status", "json", "seen_at")
        return [dict(zip(keys, r)) for r in rows]

    def close(self) -> None:
        if self.db is not None:
            self.commit()
            self.db.close()
            self.db = None
