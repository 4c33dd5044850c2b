"""Generate workbooks: one for an agency, or one per roster row into a folder (in parallel with `jobs`;
each row stamped from a workbook drawn once per kind of row, generate.stamp)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from xltool.fileio import atomic_path, write_atomic
from xltool.form.spec import FormSpec
from xltool.generate.roster import RosterRow
from xltool.generate.stamp import stamped
from xltool.generate.writer import Agency, WriteOptions, write_workbook

CHUNK = 25      # rows a worker writes per task: few enough for a smooth progress bar, enough to pay the hand-off


def generate_one(spec: FormSpec, out: Path, agency: Agency, options: WriteOptions | None = None,
                 fsync: bool = True) -> Path:
    """Write one workbook atomically (a half-written .xlsx never appears under its name); with
    fsync=False the caller flushes it to disk itself, together with others."""
    out = Path(out)
    with atomic_path(out, fsync=fsync) as tmp:
        write_workbook(spec, tmp, agency, options)
    return out


def stamp_or_draw(spec: FormSpec, out: Path, agency: Agency, options: WriteOptions | None = None,
                  fsync: bool = True) -> Path:
    """generate_one, by stamping a drawn workbook of the same kind (generate.stamp) where it can:
    the same workbook, several times faster."""
    data = stamped(spec, agency, options)
    if data is None:
        return generate_one(spec, out, agency, options, fsync)
    write_atomic(Path(out), data, fsync=fsync)
    return Path(out)


def generate_roster(spec: FormSpec, rows: list[RosterRow], outdir: Path, options: WriteOptions | None = None,
                    on_done: Callable[[RosterRow, Path], None] | None = None, jobs: int = 1) -> list[Path]:
    """One workbook per roster row into `outdir`, in `jobs` processes; on_done(row, path) in this
    process as each is written. The paths come back in the roster's order. The workbooks are
    flushed to disk together at the end (one sync, not one per workbook)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: dict[int, Path] = {}
    for index, path in _written(spec, rows, outdir, options, max(1, jobs)):
        written[index] = path
        if on_done:
            on_done(rows[index], path)
    os.sync()
    return [written[i] for i in range(len(rows))]


def _written(spec, rows, outdir, options, jobs) -> Iterator[tuple[int, Path]]:
    if jobs == 1 or len(rows) <= CHUNK:
        for i, row in enumerate(rows):
            yield i, stamp_or_draw(spec, outdir / row.file, row.agency, options, fsync=False)
        return
    global _JOB
    # forked workers inherit the spec, its compiled layout and the options (an `annotate` callable
    # included) instead of having them pickled for every task
    _JOB = (spec, rows, outdir, options)
    chunks = [range(i, min(i + CHUNK, len(rows))) for i in range(0, len(rows), CHUNK)]
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, os.cpu_count() or 1, len(chunks))) as pool:
            for done in pool.imap_unordered(_write_chunk, chunks):
                yield from done
    finally:
        _JOB = None


_JOB: tuple | None = None


def _write_chunk(indices: range) -> list[tuple[int, Path]]:
    spec, rows, outdir, options = _JOB
    return [(i, stamp_or_draw(spec, outdir / rows[i].file, rows[i].agency, options, fsync=False)) for i in indices]
