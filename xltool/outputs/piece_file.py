"""A file written as a run of named pieces, copying from its last write the pieces it already had.

values.csv holds a block of rows per accepted return: some 190 MB at 8,000 returns, all of it
decompressed and written again when one return changed. So each block is a piece named by a
digest of what it is made from, and an index kept beside the file says where each piece lies.
The next write copies the pieces it already has from the old file (os.copy_file_range: the
kernel copies, Python never sees the bytes; neighbouring pieces in one call) and makes only the
new ones. The file comes out byte for byte as a write from scratch would make it.

The old file is used only while it is the file the index was written for: the same size,
mtime, ctime and inode. A file opened and saved in a spreadsheet program, replaced or touched
is not, and every piece is made again. The new file is written atomically (fileio.atomic_path);
the old one is only read.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xltool.fileio import atomic_path, open_regular_file, write_atomic

BUFFER = 1 << 20
# copy_file_range may be missing (an old kernel, another system) or refused for these files
# (another file system, a special one): the bytes are then copied through this process
_NO_KERNEL_COPY = {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM, errno.EBADF}

Stat = tuple[int, int, int, int]


def index_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.pieces")


class PieceWriter:
    """Writes a file's bytes in order: plain bytes (`write`) and named pieces (`piece`)."""

    def __init__(self, fd: int, old_fd: int | None, old_pieces: dict[str, tuple[int, int]]):
        self._fd, self._old_fd, self._old_pieces = fd, old_fd, old_pieces
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._copy_from, self._copy_length = 0, 0     # old bytes to copy next, not yet copied
        self._kernel_copy = hasattr(os, "copy_file_range")
        self.offset = 0
        self.pieces: list[tuple[str, int, int]] = []   # (name, offset, length) of each piece written
        self.copied = 0                                # pieces taken from the old file

    def write(self, data: bytes) -> None:
        self._flush_copy()
        self._pending.append(data)
        self._pending_size += len(data)
        self.offset += len(data)
        if self._pending_size >= BUFFER:
            self._flush_pending()

    def piece(self, name: str, make: Callable[[], bytes]) -> None:
        """The piece named `name`: copied from the old file when it had it, else make()."""
        old = self._old_pieces.get(name)
        if old is None or self._old_fd is None:
            start = self.offset
            self.write(make())
            self.pieces.append((name, start, self.offset - start))
            return
        offset, length = old
        if self._copy_length and self._copy_from + self._copy_length == offset:
            self._copy_length += length          # the old file's next bytes: one copy for both
        else:
            self._flush_copy()
            self._copy_from, self._copy_length = offset, length
        self.pieces.append((name, self.offset, length))
        self.offset += length
        self.copied += 1

    def finish(self) -> None:
        self._flush_copy()
        self._flush_pending()

    def _flush_pending(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            _write_all(self._fd, data)

    def _flush_copy(self) -> None:
        if not self._copy_length:
            return
        self._flush_pending()      # the copy goes where the file's offset is: after what was written
        offset, left = self._copy_from, self._copy_length
        self._copy_length = 0
        while left > 0:
            n = self._copy_some(offset, left)
            if n == 0:
                raise OSError(errno.EIO, "the old file ended before a piece its index names")
            offset += n
            left -= n

    def _copy_some(self, offset: int, length: int) -> int:
        assert self._old_fd is not None
        if self._kernel_copy:
            try:
                return os.copy_file_range(self._old_fd, self._fd, length, offset)
            except OSError as e:
                if e.errno not in _NO_KERNEL_COPY:
                    raise
                self._kernel_copy = False
        data = os.pread(self._old_fd, min(length, BUFFER), offset)
        _write_all(self._fd, data)
        return len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:     # os.write may write less than it is given
        view = view[os.write(fd, view):]


@contextmanager
def piece_file(target: Path) -> Iterator[PieceWriter]:
    """Write `target` atomically through a PieceWriter, copying the pieces the file on disk has;
    then record where this write put its pieces (index_path)."""
    target = Path(target)
    old_fd, old_pieces = _old_file(target)
    try:
        with atomic_path(target) as tmp:
            fd = os.open(tmp, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                writer = PieceWriter(fd, old_fd, old_pieces)
                yield writer
                writer.finish()
            finally:
                os.close(fd)
    finally:
        if old_fd is not None:
            os.close(old_fd)
    st = os.stat(target)    # after the rename, which may change the ctime
    index = {"stat": list(_stat_of(st)), "pieces": writer.pieces}
    write_atomic(index_path(target), json.dumps(index, separators=(",", ":")), fsync=False)


def _stat_of(st: os.stat_result) -> Stat:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _old_file(target: Path) -> tuple[int | None, dict[str, tuple[int, int]]]:
    """The file on disk, opened, and its pieces, when it is the file its index was written for;
    else (None, {}): every piece is made."""
    try:
        index = json.loads(index_path(target).read_text(encoding="utf-8"))
        recorded = tuple(index["stat"])
        pieces = {str(name): (int(offset), int(length)) for name, offset, length in index["pieces"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}
    try:    # a FIFO put in its place is not waited on: only a regular file is read
        fd, st = open_regular_file(target)
    except OSError:
        return None, {}
    if _stat_of(st) == recorded and all(o >= 0 and n >= 0 and o + n <= st.st_size for o, n in pieces.values()):
        return fd, pieces
    os.close(fd)
    return None, {}
