"""The files of a run report: a sequence in the names' byte order, in memory or on disk.

A run's readers (the totals, the cross-file checks, the roster, run.json, report.html, the
terminal) each go over every file, but most read a few fields of each only. So a run's files
answer three questions besides `files[i]`:

- `fields(*names)`: those fields of every file, in order, with its place: a row each, no result;
- `groups(*names)`: the places of the files that share those fields (two or more, none empty);
- `save(i, result)`: a result changed by a check (a finding added, superseded), kept.

`ListedFiles` is a list of results in memory: what an import of published reports or a test
builds. Ingest builds outputs.stored_run_files.StoredRunFiles, which holds none of them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from xltool.findings import SKIPPED

# What fields() and groups() can read of a file: FileResult's and PackedResult's attributes.
FIELDS = ("path", "raw_path", "status", "agency", "year", "mtime", "sha256", "superseded_by", "unchanged", "errors",
          "warnings", "finding_codes", "json", "feedback", "form", "issued_agency", "code")


class RunFiles(Sequence):
    """A run's files in order; see the module's docstring."""

    @abstractmethod
    def fields(self, *names: str) -> Iterator[tuple]:
        """(place, *values) for every file, in order: `names` from FIELDS."""

    @abstractmethod
    def groups(self, *names: str, in_use: bool = False) -> Iterator[list[int]]:
        """The places of the files, not skipped, whose `names` are all set (not None, not empty,
        not 0) and the same, in groups of two or more, each group in order. `in_use`: only the
        files not superseded."""

    @abstractmethod
    def any_with(self, name: str, value: Any) -> bool:
        """Whether some file's field `name` is `value`."""

    @property
    def revision(self) -> int | None:
        """A number that changes whenever a file is added or saved, so that what is worked out
        from the files (the totals) can be kept until then; None: not known (a list's results
        can be changed in place)."""
        return None

    @abstractmethod
    def save(self, i: int, result: Any) -> None:
        """Keep what a check changed in `result`, which is files[i]."""


class ListedFiles(RunFiles):
    """A run's files as a list of results in memory."""

    def __init__(self, results: Iterable[Any]):
        self._results = list(results)

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, i):
        return self._results[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._results)

    def fields(self, *names: str) -> Iterator[tuple]:
        known_fields(names)
        for i, r in enumerate(self._results):
            yield (i, *(getattr(r, n) for n in names))

    def groups(self, *names: str, in_use: bool = False) -> Iterator[list[int]]:
        known_fields(names)
        first: dict[tuple, int] = {}
        shared: dict[tuple, list[int]] = {}
        for i, r in enumerate(self._results):
            key = tuple(getattr(r, n) for n in names)
            if r.status == SKIPPED or not all(key) or (in_use and r.superseded_by is not None):
                continue
            seen = first.setdefault(key, i)
            if seen != i:
                shared.setdefault(key, [seen]).append(i)
        return iter(shared.values())

    def any_with(self, name: str, value: Any) -> bool:
        known_fields((name,))
        return any(getattr(r, name) == value for r in self._results)

    def save(self, i: int, result: Any) -> None:
        self._results[i] = result


def known_fields(names: tuple[str, ...]) -> None:
    """ValueError for a name that is not one of FIELDS."""
    for n in names:
        if n not in FIELDS:
            raise ValueError(f"not a field of a run's files: {n!r} (one of {', '.join(FIELDS)})")


def as_run_files(files: RunFiles | Iterable[Any]) -> RunFiles:
    return files if isinstance(files, RunFiles) else ListedFiles(files)
