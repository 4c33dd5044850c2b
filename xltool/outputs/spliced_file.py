"""A file written as a short head and tail around a long body, reusing the body of the last write.

run.json and report.html hold a part per inbox file: at thousands of files the body is megabytes,
and making it is most of the work of a re-run. A re-run with nothing changed makes the same body,
though, and only the counts around it differ ("10,000 unchanged"). So the caller names the body
by a key (a hash of everything the body is made from, computed without making it), and a record
kept beside the file says which key its body had and where the body lies in it. The next write
with the same key copies those bytes instead of making them again.

The bytes are copied only from a file that is exactly as it was written (its sha256 is the one
recorded) and only when the body's own bytes are the ones recorded (its sha256 too: a record
edited by hand cannot make the copy take the wrong range). A file that came out the same as the
one on disk is not written again, so its mtime says when its content last changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from xltool.fileio import atomic_path, sha256_of, write_atomic

CHUNK = 1 << 20


@dataclass(frozen=True)
class BodyRecord:
    """What the last write of a file left: its body's key and place, and the whole file's sha256."""

    key: str | None
    offset: int
    length: int
    body_sha256: str
    sha256: str


def record_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.body")


def write_spliced(target: Path, head: bytes, body_key: str | None, make_body: Callable[[Callable[[bytes], None]], None],
                  tail: bytes) -> str:
    """Write `target` atomically as head, body, tail; the body is copied from the file on disk when
    its record has `body_key` (None: never), else made by make_body(put). Returns the sha256 of
    the content; the file is left as it is when that content is what it already holds."""
    target = Path(target)
    before = _intact_record(target)
    whole, body = hashlib.sha256(), hashlib.sha256()
    written = False
    try:
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            def put_head_or_tail(data: bytes) -> None:
                whole.update(data)
                fh.write(data)

            def put(data: bytes) -> None:
                body.update(data)
                put_head_or_tail(data)

            put_head_or_tail(head)
            offset = fh.tell()
            if body_key is not None and before is not None and before.key == body_key and _body_intact(target, before):
                _copy_range(target, before.offset, before.length, put)
            else:
                make_body(put)
            length = fh.tell() - offset
            put_head_or_tail(tail)
            fh.flush()
            if before is not None and whole.hexdigest() == before.sha256:
                raise _SameContent()
            written = True
    except _SameContent:
        pass
    if written:
        record = BodyRecord(body_key, offset, length, body.hexdigest(), whole.hexdigest())
        write_atomic(record_path(target), json.dumps(asdict(record)), fsync=False)
    return whole.hexdigest()


class _SameContent(Exception):
    pass


def _intact_record(target: Path) -> BodyRecord | None:
    """The record of the file on disk, if the file is still exactly what that record describes."""
    try:
        data = json.loads(record_path(target).read_text(encoding="utf-8"))
        record = BodyRecord(data["key"], int(data["offset"]), int(data["length"]), str(data["body_sha256"]),
                            str(data["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        if record.offset < 0 or record.length < 0 or sha256_of(target) != record.sha256:
            return None     # edited, truncated or replaced since: made again
    except OSError:
        return None
    return record


def _body_intact(target: Path, record: BodyRecord) -> bool:
    """The recorded range holds the recorded body (read once more, from the page cache)."""
    digest = hashlib.sha256()
    try:
        _copy_range(target, record.offset, record.length, digest.update)
    except OSError:
        return False
    return digest.hexdigest() == record.body_sha256


def _copy_range(path: Path, offset: int, length: int, put: Callable[[bytes], None]) -> None:
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{path} ended {left} bytes before its recorded body did")
            put(chunk)
            left -= len(chunk)
