"""A set of names to look up that keeps 8 bytes a name, whatever their length: the outputs a
run finds in its output folder (thousands of JSON and feedback files) are looked up by name."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from heapq import merge


class NameSet:
    """Names to look up (`name in names`), kept as the sorted 64-bit hashes of the names (8 bytes
    a name, in memory) rather than the names. Two names with one hash would both read as present:
    for an output folder of 100,000 files, about one chance in 10**9 that any name has a twin.
    Then a lost output is made again only by a run with --full, or a stale feedback workbook is
    kept until the next run. The hashes are Python's own, salted per process (and kept by a
    forked child): never stored."""

    def __init__(self, names: Iterable[str]):
        self._hashes = _sorted_hashes(names)

    def __contains__(self, name: str) -> bool:
        h = hash(name)
        i = bisect_left(self._hashes, h)
        return i < len(self._hashes) and self._hashes[i] == h

    def __len__(self) -> int:
        return len(self._hashes)


_RUN = 16_384    # hashes sorted at a time, as Python ints (some 40 bytes each while sorted)


def _sorted_hashes(names: Iterable[str]) -> array:
    """The names' hashes in order, made without holding them all as Python ints: sorted a run at
    a time into arrays of 8 bytes a hash, the runs then merged (sorting a set of 100,000 ints
    took 9 MB at once; this takes under 2)."""
    runs: list[array] = []
    run: list[int] = []
    for name in names:
        run.append(hash(name))
        if len(run) >= _RUN:
            run.sort()
            runs.append(array("q", run))
            run.clear()
    run.sort()
    if not runs:
        return array("q", run)
    runs.append(array("q", run))
    del run
    return array("q", merge(*runs))
