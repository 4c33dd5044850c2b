"""A returned file in one pass: read once, guarded, and read into a WorkbookData over the same
opened package, so each part is decompressed and parsed once for both.

The guard streams each sheet part through its scan while the package keeps the bytes; the
reader then parses those bytes, and the parts the guard parsed already (content types, the
workbook, its relationships) are not parsed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xltool.xlsx.guard import GuardResult, Limits, open_package
from xltool.xlsx.guard.inspect import read_file
from xltool.xlsx.model import WorkbookData
from xltool.xlsx.read import read_workbook


@dataclass
class Returned:
    guard: GuardResult                     # the verdict on the bytes; .data holds them when read
    workbook: WorkbookData | None = None   # read when the guard let it through and reading worked
    read_error: Exception | None = None    # why reading failed, for the caller to report

    def read(self) -> WorkbookData:
        """The workbook; raises what reading it raised (call only when the guard let it through)."""
        if self.read_error is not None:
            raise self.read_error
        if self.workbook is None:
            raise ValueError("the guard did not let this file through")
        return self.workbook


def open_return(path: Path, limits: Limits = Limits(), max_rows: int = 400, max_cols: int = 60) -> Returned:
    """Read the file at `path` once (never more than the size cap), guard and read it."""
    data = read_file(Path(path), limits)
    if isinstance(data, GuardResult):
        return Returned(data)
    return open_bytes(data, Path(path).name, limits, max_rows, max_cols)


def open_bytes(data: bytes, name: str, limits: Limits = Limits(), max_rows: int = 400,
               max_cols: int = 60) -> Returned:
    """Guard these bytes, a returned file named `name`, and read them when they pass."""
    judged, package = open_package(data, name, limits)
    judged.data = data
    if package is None:
        return Returned(judged)
    try:
        if not judged.parseable:
            return Returned(judged)
        try:
            return Returned(judged, read_workbook(data, max_rows, max_cols, package=package))
        except Exception as exc:  # a broken file is the caller's finding, not a crash (MemoryError too)
            return Returned(judged, read_error=exc)
    finally:
        package.close()
