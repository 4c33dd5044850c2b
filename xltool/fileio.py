"""Files read and written safely: the one atomic write every output goes through, and the one
hash of a file's bytes (bounded, never blocking on a FIFO).

A reader (a colleague opening report.html, the next run, a crash) never sees half a file: the
bytes go to a temp file beside the target, are flushed to disk (fsync), given the mode a plain
`open()` would give under the current umask (temp files are created 0600, which would hide
report.html from colleagues on a shared drive), and renamed over the target. Leftover
`.tmp-*` files of a killed run are cleared by the next ingest, which holds the output lock.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path

TEMP_PREFIX = ".tmp-"


@lru_cache(maxsize=1)
def _umask() -> int:
    # os.umask can only be read by setting it; read once, before any worker thread exists
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode `open(path, "w")` gives a new file here: 0666 less the umask."""
    return 0o666 & ~_umask()


@contextmanager
def atomic_path(target: Path, fsync: bool = True, mode: int | None = None,
                prefix: str = TEMP_PREFIX) -> Iterator[Path]:
    """A temp path beside `target`; when the block succeeds, the file written there is flushed,
    given the umask's mode (or `mode`: 0o600 for secrets) and renamed to `target`. On failure the
    temp file is removed. The temp file is created 0600, so a secret is never readable by others; a
    `prefix` other than TEMP_PREFIX keeps it out of the way of ingest's clear_temp_files."""
    target = Path(target)
    fd, tmp = _new_temp_file(os.fspath(target), prefix, 0o600)
    os.close(fd)
    try:
        yield Path(tmp)
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, file_mode() if mode is None else mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(target: Path, content: str | bytes, fsync: bool = True, mode: int | None = None,
                 prefix: str = TEMP_PREFIX) -> None:
    """Write text (UTF-8, \\n line ends) or bytes to `target` atomically (`mode` as for atomic_path).

    The same steps as atomic_path in fewer system calls (ingest writes one JSON document per
    return): the temp file is made with its final mode (0600 for a secret from the start, else
    what open() gives under the umask) and a name of this process's own."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = os.fspath(target)
    fd, tmp = _new_temp_file(target, prefix, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)   # exactly `mode`, whatever the umask
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


_temp_names = itertools.count()


def _new_temp_file(target: str, prefix: str, mode: int) -> tuple[int, str]:
    """A new file beside `target` (its folder made if missing), opened for writing: (fd, path).
    Named by this process's id and a counter; O_EXCL: a name left by an earlier process is never reused."""
    folder, name = os.path.split(target)
    suffix = os.path.splitext(name)[1]
    for attempt in range(100):
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{next(_temp_names)}{suffix}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if attempt:
                raise
            Path(folder or ".").mkdir(parents=True, exist_ok=True)
    raise FileExistsError(errno.EEXIST, "no free temp file name", folder)


def open_regular_file(path: Path | str) -> tuple[int, os.stat_result]:
    """A regular file opened for reading, and its stat. Never blocks on a FIFO or a device put in
    its place (opened non-blocking, checked with fstat): OSError for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def sha256_of(path: Path, limit: int | None = None) -> str:
    """The sha256 of a regular file's bytes (open_regular_file); with `limit`, a longer file raises
    OSError (EFBIG), so that the ingest process itself never reads an unbounded amount."""
    h = hashlib.sha256()
    fd, st = open_regular_file(path)
    with os.fdopen(fd, "rb") as fh:
        if limit is not None and st.st_size > limit:
            raise OSError(errno.EFBIG, "file too large to hash here", str(path))
        read = 0
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            read += len(chunk)
            if limit is not None and read > limit:
                raise OSError(errno.EFBIG, "file too large to hash here", str(path))
            h.update(chunk)
    return h.hexdigest()


def entries_of(folder: str, on_error: Callable[[OSError], None] | None = None) -> Iterator[os.DirEntry]:
    """A folder's entries as os.scandir reads them, never listed whole (an inbox or an output
    folder is often one folder of thousands of files). A folder that cannot be opened, or fails
    while being read, ends its entries there, and the error goes to `on_error`."""
    try:
        listing = os.scandir(folder)
    except OSError as e:
        if on_error is not None:
            on_error(e)
        return
    with listing:
        while True:
            try:
                entry = next(listing)
            except StopIteration:
                return
            except OSError as e:
                if on_error is not None:
                    on_error(e)
                return
            yield entry


def _files_below(folder: str) -> Iterator[os.DirEntry]:
    """Every entry below `folder` that is not a folder, in one walk of entries_of: links to
    folders are not followed, a folder that cannot be read adds nothing (more), and no file is
    stat'ed. (Listing each folder whole held some 6 MB of entries for an output folder of
    20,000 returns.)"""
    pending = [folder]
    while pending:
        for entry in entries_of(pending.pop()):
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                yield entry


def files_under(folder: Path, sub: str, suffix: str) -> Iterator[str]:
    """The files below `folder`/`sub` whose names end in `suffix` (regular files, or links to
    them), named relative to `folder` with / separators ("json/区县/a.xlsx.json"), as the walk
    finds them: one walk, with no stat per file (a re-run of 10,000 returns asks about thousands
    of outputs)."""
    start = len(os.path.join(os.fspath(folder), ""))
    return (entry.path[start:].replace(os.sep, "/") for entry in _files_below(os.path.join(folder, sub))
            if entry.name.endswith(suffix) and entry.is_file())


def clear_temp_files(folder: Path) -> None:
    """Temp files left by a run that was killed mid-write (call only while holding the folder's
    lock), found by one walk (a pathlib glob of an output folder of 10,000 returns took tens of
    milliseconds of every re-run)."""
    # removed once the folder has been read to its end: a network share's listing can skip
    # names when the folder changes while it is read
    for path in [entry.path for entry in _files_below(os.fspath(folder)) if entry.name.startswith(TEMP_PREFIX)]:
        with suppress(OSError):
            os.unlink(path)


class FolderBusy(RuntimeError):
    """Another process holds the folder's lock; `pid` is what it wrote there ("?" if nothing)."""

    def __init__(self, path: Path, pid: str):
        super().__init__(f"{path} is held by process {pid}")
        self.path, self.pid = path, pid


class FolderLock:
    """One process at a time on a folder: a POSIX record lock on FOLDER/NAME, holding the owner's
    pid. Released when the process dies (even by SIGKILL) and not inherited by forked workers."""

    def __init__(self, folder: Path, name: str):
        self.path = Path(folder) / name
        self.fh = None

    def acquire(self) -> None:
        """Take the lock or raise FolderBusy naming the holder's pid."""
        fh = open(self.path, "a+")
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            fh.close()
            raise FolderBusy(self.path, pid) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self.fh = fh

    def release(self) -> None:
        if self.fh:
            self.fh.close()   # closing releases the lock
            self.fh = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
