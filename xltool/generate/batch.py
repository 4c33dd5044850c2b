"""Generate workbooks: one for an agency, or one per roster row into a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xltool.fileio import atomic_path
from xltool.form.spec import FormSpec
from xltool.generate.roster import RosterRow
from xltool.generate.writer import Agency, WriteOptions, write_workbook


def generate_one(spec: FormSpec, out: Path, agency: Agency, options: WriteOptions | None = None) -> Path:
    """Write one workbook atomically (a half-written .xlsx never appears under its name)."""
    out = Path(out)
    with atomic_path(out) as tmp:
        write_workbook(spec, tmp, agency, options)
    return out


def generate_roster(spec: FormSpec, rows: list[RosterRow], outdir: Path, options: WriteOptions | None = None,
                    on_done: Callable[[RosterRow, Path], None] | None = None) -> list[Path]:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for row in rows:
        path = generate_one(spec, outdir / row.file, row.agency, options)
        written.append(path)
        if on_done:
            on_done(row, path)
    return written
