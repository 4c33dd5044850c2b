"""A file of named pieces: the pieces its last write had are copied from it, and the file comes out
as a write from scratch would make it; a file changed since that write is never copied from."""

from __future__ import annotations

import errno
import os

import pytest

from xltool.outputs import piece_file as pf
from xltool.outputs.piece_file import index_path, piece_file


def write(target, pieces: list[tuple[str, bytes]], made: list[str], head: bytes = b"HEAD\n") -> int:
    """`pieces` (name, content) after `head`; the names of the pieces made are added to `made`."""
    def maker(name, content):
        def make():
            made.append(name)
            return content
        return make

    with piece_file(target) as fh:
        fh.write(head)
        for name, content in pieces:
            fh.piece(name, maker(name, content))
    return fh.copied


def content(pieces, head: bytes = b"HEAD\n") -> bytes:
    return head + b"".join(c for _, c in pieces)


A, B, C, D = (("a", b"alpha " * 300), ("b", b"beta\n" * 7), ("c", b"gamma " * 5000), ("d", b"delta"))


def test_the_pieces_the_file_had_are_copied_the_others_made(tmp_path):
    target, made = tmp_path / "values.csv", []
    assert write(target, [A, B, C, D], made) == 0 and made == ["a", "b", "c", "d"]
    made.clear()
    x, e = ("x", b"new rows\n"), ("e", b"epsilon" * 100)
    then = [A, x, C, D, e]     # b replaced by x, e added: c and d are copied in one go
    assert write(target, then, made, head=b"A LONGER HEAD\n") == 3
    assert made == ["x", "e"]
    assert target.read_bytes() == content(then, b"A LONGER HEAD\n")
    made.clear()
    again = [e, D, A, C]       # another order, one piece gone
    assert write(target, again, made) == 4 and made == []
    assert target.read_bytes() == content(again)


def test_a_file_changed_since_its_last_write_is_never_copied_from(tmp_path):
    target, made = tmp_path / "values.csv", []
    write(target, [A, B, C], made)
    data = target.read_bytes()
    st = os.stat(target)
    target.write_bytes(data.replace(b"beta", b"BETA"))    # opened and saved by hand: the same size and mtime
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    made.clear()
    assert write(target, [A, B, C], made) == 0 and made == ["a", "b", "c"]
    assert target.read_bytes() == content([A, B, C])


@pytest.mark.parametrize("index", ["{not json", '{"stat": [1, 2], "pieces": []}', '{"pieces": [["a", 0, 5]]}'])
def test_a_damaged_index_means_every_piece_is_made(tmp_path, index):
    target, made = tmp_path / "values.csv", []
    write(target, [A, B], made)
    index_path(target).write_text(index)
    made.clear()
    assert write(target, [A, B], made) == 0 and made == ["a", "b"]
    assert target.read_bytes() == content([A, B])


def test_an_index_naming_bytes_past_the_end_is_not_used(tmp_path):
    import json

    target, made = tmp_path / "values.csv", []
    write(target, [A, B], made)
    index = json.loads(index_path(target).read_text())
    index["pieces"][0][2] = 10 ** 9
    index_path(target).write_text(json.dumps(index))
    made.clear()
    assert write(target, [A, B], made) == 0 and target.read_bytes() == content([A, B])


@pytest.mark.parametrize("kernel", ["refused", "missing"])
def test_without_the_kernels_copy_the_bytes_are_copied_here(tmp_path, monkeypatch, kernel):
    target, made = tmp_path / "values.csv", []
    write(target, [A, B, C], made)
    if kernel == "missing":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    else:
        def refused(*args):
            raise OSError(errno.EXDEV, "cross-device")
        monkeypatch.setattr(os, "copy_file_range", refused)
    monkeypatch.setattr(pf, "BUFFER", 1000)    # pieces longer than one read
    made.clear()
    assert write(target, [C, B, A], made) == 3 and made == []
    assert target.read_bytes() == content([C, B, A])


def test_a_write_that_fails_leaves_the_file_and_its_index_as_they_were(tmp_path):
    target, made = tmp_path / "values.csv", []
    write(target, [A, B], made)
    before, index_before = target.read_bytes(), index_path(target).read_bytes()
    with pytest.raises(RuntimeError), piece_file(target) as fh:
        fh.piece("a", lambda: b"never")
        raise RuntimeError("the rows could not be read")
    assert target.read_bytes() == before and index_path(target).read_bytes() == index_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".values.csv.pieces", "values.csv"]
    made.clear()
    assert write(target, [B, A], made) == 2 and target.read_bytes() == content([B, A])


def test_a_fifo_in_the_files_place_is_not_waited_on(tmp_path):
    """A FIFO where the file was (with its index still there) is not opened for reading, which
    would wait for a writer for ever: every piece is made, and the FIFO is replaced."""
    import signal

    target, made = tmp_path / "values.csv", []
    write(target, [A, B], made)
    target.unlink()
    os.mkfifo(target)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("waited on the FIFO"))
    signal.alarm(10)
    try:
        made.clear()
        assert write(target, [A, B], made) == 0 and made == ["a", "b"]
    finally:
        signal.alarm(0)
    assert target.is_file() and target.read_bytes() == content([A, B])
