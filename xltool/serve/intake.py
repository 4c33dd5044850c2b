"""What the server serves from: the folders, the roster and its keyring, the checker, and the
verdicts as the pages read them (the ledger's, cached until it changes, plus this process's)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltool.ingest.ledger import LEDGER_NAME, Ledger
from xltool.serve.agencies import Member
from xltool.serve.checker import Checker
from xltool.serve.tokens import TOKENS_FILE, Keyring, load_keyring


@dataclass
class Intake:
    """What the app serves from: the folders, the roster, the keyring and the checker."""

    inbox: Path
    out: Path
    members: list[Member]
    keyring: Keyring
    checker: Checker
    form_labels: dict[str, str]     # agency name -> which form it reports on, for its page
    max_bytes: int
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)   # this process's verdicts by path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: tuple[tuple, dict[str, dict[str, Any]]] | None = None
    generation: int = 0
    in_flight: int = 0
    _ring_stamp: tuple[int, int, int] | None = None

    def ring(self) -> Keyring:
        """The keyring, read again when its file changed: `xltool serve --rotate` run beside a
        running server takes effect at the next request."""

        try:
            st = os.stat(self.out / TOKENS_FILE)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            return self.keyring
        if stamp != self._ring_stamp:
            with self._lock:
                self.keyring = load_keyring(self.out) or self.keyring
                self._ring_stamp = stamp
        return self.keyring

    def changed(self) -> None:
        with self._lock:
            self.generation += 1

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every file's latest run-report entry by inbox path: the ledger's, then this process's."""

        with self._lock:
            gen = (self.generation, _ledger_stamp(self.out))   # an `xltool ingest` run beside us changes it too
            if self._cache and self._cache[0] == gen:
                return self._cache[1]
        ledger = Ledger(self.out)
        try:
            known = ledger.entries()
        finally:
            ledger.close()
        with self._lock:
            for path, entry in self.verdicts.items():   # the ledger wins: a later `ingest --full` may judge anew
                known.setdefault(path, entry)
            self._cache = (gen, known)
        return known


def _ledger_stamp(out: Path) -> tuple:
    """Changes whenever the ledger is written (its WAL file or the database itself)."""

    stamp = []
    for name in (LEDGER_NAME, LEDGER_NAME + "-wal"):
        try:
            st = os.stat(Path(out) / name)
            stamp.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)
