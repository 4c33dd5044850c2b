"""The lists of names a run goes through, kept so that their memory does not grow with them.

An inbox may hold 100,000 files. A run needs their names in the order of their bytes (the
ledger's order) and the ones left to check as a queue: each is a table of a scratch SQLite
database (PathSpool: SQLite's own temporary file, in the system's temp folder, removed when the
spool is closed), of which the run holds a page of names at a time.
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator

_PAGE = 512       # names read or written at a time


class PathSpool:
    """The scratch database of one run: its lists are made with sorted_paths and queue."""

    def __init__(self):
        self._db = sqlite3.connect("", isolation_level=None)   # "": a private temporary database
        # a list is written once and read once, in order: a small cache serves, the file system keeps the rest
        self._db.execute("PRAGMA cache_size = -256")
        self._tables = 0

    def sorted_paths(self, paths: Iterable[str]) -> SortedPaths:
        """`paths`, read now, given back in the order of their bytes."""
        return SortedPaths(self._db, self._table(), paths)

    def queue(self) -> PathQueue:
        return PathQueue(self._db, self._table())

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PathSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _table(self) -> str:
        self._tables += 1
        return f"t{self._tables}"


class SortedPaths:
    """Paths in the order of their bytes (os.fsencode): the walk's candidates. Put in as they come
    and sorted by SQLite as they are read (its sorter keeps to the cache and spills the rest)."""

    def __init__(self, db: sqlite3.Connection, table: str, paths: Iterable[str]):
        self._db, self._table = db, table
        db.execute(f"CREATE TABLE {table} (key BLOB)")
        self._length = _insert_pages(db, f"INSERT INTO {table} VALUES (?)", ((os.fsencode(p),) for p in paths))

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[str]:
        for (key,) in self._db.execute(f"SELECT key FROM {self._table} ORDER BY key"):
            yield os.fsdecode(key)


class PathQueue:
    """Paths first in, first out (what workers.run_all takes from): the newest page of those put
    in and the next page to take out are in memory, the rest on disk."""

    def __init__(self, db: sqlite3.Connection, table: str):
        self._db, self._table = db, table
        db.execute(f"CREATE TABLE {table} (n INTEGER PRIMARY KEY, key BLOB)")
        self._written = 0          # names on disk, numbered from 1
        self._read = 0             # the last one of them taken into `_out`
        self._in: list[bytes] = []
        self._out: deque[str] = deque()
        self._length = 0

    def append(self, path: str) -> None:
        self._in.append(os.fsencode(path))
        self._length += 1
        if len(self._in) >= _PAGE:
            _insert_pages(self._db, f"INSERT INTO {self._table} VALUES (?, ?)",
                          ((self._written + 1 + i, key) for i, key in enumerate(self._in)))
            self._written += len(self._in)
            self._in.clear()

    def popleft(self) -> str:
        if not self._out:
            if self._read < self._written:
                page = self._db.execute(f"SELECT n, key FROM {self._table} WHERE n > ? ORDER BY n LIMIT {_PAGE}",
                                        (self._read,)).fetchall()
                self._read = page[-1][0]
                self._db.execute(f"DELETE FROM {self._table} WHERE n <= ?", (self._read,))
                self._out.extend(os.fsdecode(key) for _, key in page)
            elif self._in:
                self._out.extend(os.fsdecode(key) for key in self._in)
                self._in.clear()
            else:
                raise IndexError("pop from an empty queue")
        self._length -= 1
        return self._out.popleft()

    def __len__(self) -> int:
        return self._length


def _insert_pages(db: sqlite3.Connection, statement: str, rows: Iterable[tuple]) -> int:
    """Insert `rows` a page at a time, in one transaction; returns how many."""
    count = 0
    page: list[tuple] = []
    db.execute("BEGIN")
    try:
        for row in rows:
            page.append(row)
            if len(page) >= _PAGE:
                db.executemany(statement, page)
                count += len(page)
                page.clear()
        db.executemany(statement, page)
        count += len(page)
    finally:
        db.execute("COMMIT")
    return count
