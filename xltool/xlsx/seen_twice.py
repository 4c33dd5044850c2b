"""A worker's bounded memory of what comes back from return to return: the parsed trees of parts
with the same bytes (package) and the parts with the same compressed member (repeated_parts).

Most of what a worker reads is seen once (the sheets an agency filled) and some comes back in
every return (the form's workbook, styles, unchanging sheets). So a value is kept only from the
second time its key is offered: the first time, only the key's hash is noted (a few tens of
bytes), so the values seen once never push out the ones that come back. What is kept stays
within a budget (each value's size as its owner counts it), the least recently used dropped
first.

The library API may be called from several threads: every step is taken under a lock. A forked
worker makes its own (a lock held by another thread at the fork would stay held in the child).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NOTED_MAX = 100_000      # hashes of keys seen once; past this the notes start again


class SeenTwice(Generic[K, V]):
    """Values kept from their key's second offer, within `budget` (size_of(key, value) each)."""

    def __init__(self, budget: int, size_of: Callable[[K, V], int]):
        self.budget = budget
        self.size_of = size_of
        self._kept: dict[K, V] = {}        # least recently used first
        self._size = 0
        self._noted: set[int] = set()
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):     # POSIX; elsewhere nothing forks
            this = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: (kept := this()) is not None and kept._new_lock())

    def get(self, key: K) -> V | None:
        """The value kept under `key`, now the most recently used; None when there is none."""
        with self._lock:
            value = self._kept.pop(key, None)
            if value is not None:
                self._kept[key] = value
            return value

    def offer(self, key: K, value: V) -> V | None:
        """Keep `value` under `key` if the key was offered before; the value kept under it then
        (this one, or the one another thread kept meanwhile), else None (the key is only noted)."""
        digest = hash(key)
        with self._lock:
            if key in self._kept:
                return self._kept[key]
            if digest not in self._noted:
                if len(self._noted) >= _NOTED_MAX:
                    self._noted.clear()
                self._noted.add(digest)
                return None
            self._size += self.size_of(key, value)
            while self._size > self.budget and self._kept:
                oldest = next(iter(self._kept))
                self._size -= self.size_of(oldest, self._kept.pop(oldest))
            self._kept[key] = value
            return value

    def __contains__(self, key: K) -> bool:
        return key in self._kept

    def keys(self) -> list[K]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._noted.clear()
            self._size = 0

    def _new_lock(self) -> None:
        self._lock = threading.Lock()
