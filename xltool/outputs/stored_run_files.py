"""A run's files on disk (outputs.run_files), in a scratch SQLite database beside the outputs, so
that a run of any number of returns holds none of them: each file's few fields in a row of one
table (`fields` and `groups` are SQL over them), its result packed in a row of another
(`files[i]` makes it again from there).
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from xltool.fileio import TEMP_PREFIX
from xltool.findings import SKIPPED
from xltool.outputs.packed_result import PackedResult, StoredEntries
from xltool.outputs.run_files import FIELDS, RunFiles, known_fields

# Each field's column (a text unless said), and the conversions to it and back: SQLite has no
# tuple or bool, and a text that holds a name's undecodable bytes (surrogateescape) is kept as bytes.
_NOT_TEXT = {"year": "", "mtime": "REAL", "unchanged": "INTEGER", "errors": "INTEGER", "warnings": "INTEGER",
             "finding_codes": "BLOB", "raw_path": "BLOB", "feedback": "BLOB", "json": "BLOB"}
_COLUMNS = {name: _NOT_TEXT.get(name, "TEXT") for name in FIELDS}


def _name_bytes(name: str | None) -> bytes | None:
    return None if name is None else name.encode("utf-8", "surrogateescape")


def _name_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


_RAW, _CODES, _JSON, _FEEDBACK = (FIELDS.index(name) for name in ("raw_path", "finding_codes", "json", "feedback"))
_FROM_COLUMN = {"unchanged": bool, "finding_codes": marshal.loads, "raw_path": _name_text, "feedback": _name_text,
                "json": _name_text}
_PAGE = 512      # rows read or written at a time


class StoredRunFiles(RunFiles):
    """A run's files in a scratch SQLite database in the output folder, named like the folder's
    temp files (a run killed midway leaves it for the next run to clear). Made in two steps:
    `add` each result as it comes (in any order), then `finish`, which puts them in the names'
    byte order. The database is removed when this object is let go of, or at exit; a forked
    child reads it over a connection of its own and never removes it."""

    def __init__(self, folder: Path, stored: StoredEntries):
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}run-files-", suffix=".sqlite", dir=folder)
        os.close(fd)
        self.path = Path(name)
        self._stored = stored
        self._length = 0
        self._pending: list[tuple] = []
        self._pending_states: list[tuple] = []
        self._last_key = b""
        self._in_order = True
        self._revision = 0
        self._local = _Connections(self.path)
        self._finalizer = weakref.finalize(self, _remove, self._local, self.path, os.getpid())
        _create_tables(self._local.get(), "")

    # ---- making it

    def add(self, result: PackedResult) -> None:
        """A result of the run, in any order (kept in pages: the run holds at most one page)."""
        key = os.fsencode(result.raw_path)
        if key <= self._last_key:
            self._in_order = False
        self._last_key = key
        row = _row(result)
        self._pending.append((self._length, key, *row[:-1]))
        self._pending_states.append((self._length, row[-1]))
        self._length += 1
        self._revision += 1
        if len(self._pending) >= _PAGE:
            self._flush()

    def finish(self) -> StoredRunFiles:
        """The results added, in the order of their raw names' bytes (the ledger's and the walk's
        order), each at its place. A re-run adds the files it kept in that order, as the walk
        reaches them: nothing is moved unless a file was checked again."""
        self._flush()
        db = self._local.get()
        if not self._in_order:   # each place given again, in the keys' order
            names = ", ".join(("key", *_COLUMNS))
            _create_tables(db, "ordered_")
            db.execute("CREATE TEMP TABLE moves AS SELECT place AS old, row_number() OVER (ORDER BY key) - 1 AS new FROM files")
            db.execute(f"INSERT INTO ordered_files SELECT moves.new, {names} FROM files JOIN moves ON files.place = moves.old "
                       "ORDER BY moves.new")
            db.execute("INSERT INTO ordered_states SELECT moves.new, state FROM states JOIN moves ON states.place = moves.old "
                       "ORDER BY moves.new")
            for table in ("files", "states"):
                db.execute(f"DROP TABLE {table}")
                db.execute(f"ALTER TABLE ordered_{table} RENAME TO {table}")
            db.execute("DROP TABLE moves")
            self._in_order = True
        db.commit()
        return self

    def _flush(self) -> None:
        if self._pending:
            marks = ", ".join("?" * (len(_COLUMNS) + 2))
            db = self._local.get()
            db.executemany(f"INSERT INTO files VALUES ({marks})", self._pending)
            db.executemany("INSERT INTO states VALUES (?, ?)", self._pending_states)
            self._pending.clear()
            self._pending_states.clear()

    # ---- reading it

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._length))]
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(i)
        row = self._local.get().execute("SELECT state FROM states WHERE place = ?", (i,)).fetchone()
        return PackedResult.from_state(row[0], self._stored)

    def __iter__(self) -> Iterator[PackedResult]:
        stored = self._stored
        for _, state in self._pages("state", "states"):
            yield PackedResult.from_state(state, stored)

    def fields(self, *names: str) -> Iterator[tuple]:
        known_fields(names)
        convert = [(k + 1, _FROM_COLUMN[n]) for k, n in enumerate(names) if n in _FROM_COLUMN]
        for row in self._pages(", ".join(names)):
            if convert:
                row = list(row)
                for k, f in convert:
                    row[k] = f(row[k]) if row[k] is not None else row[k]
                row = tuple(row)
            yield row

    def groups(self, *names: str, in_use: bool = False) -> Iterator[list[int]]:
        known_fields(names)
        where = " AND ".join([f"status != '{SKIPPED}'", *(_is_set(n) for n in names),
                              *(["superseded_by IS NULL"] if in_use else [])])
        keys = ", ".join(names)
        query = (f"SELECT place, {keys} FROM files WHERE {where} AND ({keys}) IN "
                 f"(SELECT {keys} FROM files WHERE {where} GROUP BY {keys} HAVING count(*) > 1) ORDER BY {keys}, place")
        group: list[int] = []
        last = None
        for place, *key in self._local.get().execute(query).fetchall():   # all read before a caller saves
            if group and key != last:
                yield group
                group = []
            group.append(place)
            last = key
        if group:
            yield group

    def any_with(self, name: str, value) -> bool:
        """One query, on an index made the first time a field is asked about."""
        known_fields((name,))
        if _COLUMNS[name] != "TEXT" or not isinstance(value, str):
            return any(v == value for _, v in self.fields(name))
        db = self._local.get()
        db.execute(f"CREATE INDEX IF NOT EXISTS files_{name} ON files ({name})")
        return db.execute(f"SELECT 1 FROM files WHERE {name} = ? LIMIT 1", (value,)).fetchone() is not None

    def save(self, i: int, result: PackedResult) -> None:
        sets = ", ".join(f"{n} = ?" for n in _COLUMNS)
        db = self._local.get()
        row = _row(result)
        db.execute(f"UPDATE files SET {sets} WHERE place = ?", (*row[:-1], i))
        db.execute("UPDATE states SET state = ? WHERE place = ?", (row[-1], i))
        db.commit()
        self._revision += 1

    @property
    def revision(self) -> int:
        return self._revision

    def _pages(self, columns: str, table: str = "files") -> Iterator[tuple]:
        """(place, *columns) of every file in order, a page at a time, each page by a statement
        of its own (a caller may save between two rows)."""
        after = -1
        while True:
            rows = self._local.get().execute(
                f"SELECT place, {columns} FROM {table} WHERE place > ? ORDER BY place LIMIT {_PAGE}", (after,)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield from rows


def _create_tables(db: sqlite3.Connection, prefix: str) -> None:
    """The few fields of each file that its readers go through (`files`), and apart from them, so
    that a pass over them reads a third of the pages, each result as a whole (`states`)."""
    columns = ", ".join(f"{n} {t}".strip() for n, t in _COLUMNS.items())
    db.execute(f"CREATE TABLE {prefix}files (place INTEGER PRIMARY KEY, key BLOB, {columns})")
    db.execute(f"CREATE TABLE {prefix}states (place INTEGER PRIMARY KEY, state BLOB)")


def _row(r: PackedResult) -> list:
    """The columns of a result, in FIELDS' order, then its state (a bool is bound as 0 or 1)."""
    row = list(r.fields())
    row[_RAW] = _name_bytes(row[_RAW])
    row[_JSON] = _name_bytes(row[_JSON])
    row[_FEEDBACK] = _name_bytes(row[_FEEDBACK])
    row[_CODES] = _codes_blob(row[_CODES])
    row.append(r.to_state())
    return row


_CODES_BLOBS: dict[tuple, bytes] = {}    # most returns have one of a few lists of codes


def _codes_blob(codes: tuple[str, ...]) -> bytes:
    blob = _CODES_BLOBS.get(codes)
    if blob is None:
        blob = marshal.dumps(tuple(codes))
        if len(_CODES_BLOBS) < 1000:
            _CODES_BLOBS[codes] = blob
    return blob


def _is_set(name: str) -> str:
    """SQL for Python's truth of the field: not None, not empty, not 0 (a text column would read
    0 as '0', which is set)."""
    return f"{name} IS NOT NULL AND {name} != ''" if _COLUMNS[name] == "TEXT" else f"{name} IS NOT NULL AND {name} NOT IN ('', 0)"


class _Connections:
    """One connection per process and thread: a forked child opens its own, as SQLite asks."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self.opened: list[tuple[int, sqlite3.Connection]] = []

    def get(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            db = sqlite3.connect(self.path, check_same_thread=False)
            # scratch: made again by every run, so nothing in it is worth a journal or a sync
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            # read in order, a page at a time, and written once: a small cache serves, and whatever the
            # number of files, this process holds no more of them than that (the file system caches the rest)
            db.execute("PRAGMA cache_size = -256")
            self._local.db, self._local.pid = db, os.getpid()
            self.opened.append((os.getpid(), db))
        return db


def _remove(connections: _Connections, path: Path, owner: int) -> None:
    if os.getpid() != owner:
        return    # a forked child: the file is its parent's
    for pid, db in connections.opened:
        if pid == owner:
            with suppress(sqlite3.Error):
                db.close()
    with suppress(OSError):
        path.unlink()

