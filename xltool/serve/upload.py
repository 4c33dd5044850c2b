"""Receiving one upload: the multipart body streamed to a temp file under the size cap, then put into
the agency's inbox folder atomically under a new timestamped name.

The bytes go to OUT/.serve-incoming/ while they arrive, counted as they are written: past the cap
the file is deleted and the upload refused (nothing is kept). A complete upload is fsynced and
hard-linked into the inbox under a name made here (time, random part, and a suffix chosen from the
candidate list, never the client's name), so the inbox only ever holds whole files and two uploads
never share a name (a link fails if the name exists, like O_EXCL). A restart mid-upload leaves only
the temp file, which the next start removes.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

INCOMING = ".serve-incoming"      # inside OUT: uploads still arriving
FILE_FIELD = "file"
MAX_FIELDS = 8                    # a form has the file and the CSRF field; anything past this is not ours
MAX_FIELD_BYTES = 1024
DRAIN_LIMIT = 64 * 1024 * 1024    # read (and discard) at most this much past the cap, so the client sees the 413
# Suffixes kept from the client's file name (only these constants reach the file system); the
# guard judges the bytes whatever the name says.
KEPT_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xltx", ".et", ".ods", ".csv", ".xlsb")


class UploadRefused(Exception):
    """The body is not an upload we accept: `status` is the HTTP status, the message is for people."""

    def __init__(self, status: int, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.status, self.zh, self.en = status, zh, en


def too_large(cap: int) -> UploadRefused:
    mb = cap / (1024 * 1024)
    return UploadRefused(413, f"文件超过 {mb:.0f} MB 的上限，未保存。请另存为只含报表的 .xlsx 后再上传。",
                         f"The file is over the {mb:.0f} MB limit and was not kept. Save the report alone as .xlsx and upload it again.")


@dataclass
class Received:
    """A complete upload in the temp folder."""

    temp: Path
    size: int
    suffix: str                       # one of KEPT_SUFFIXES, or "" (the guard will say what it is)
    fields: dict[str, str] = field(default_factory=dict)


class _Parts:
    """python-multipart callbacks: the `file` part to disk (counted against the cap), small fields kept."""

    def __init__(self, temp: Path, cap: int):
        self.temp, self.cap = temp, cap
        self.fh = None
        self.size = 0
        self.over = False
        self.files = 0
        self.fields: dict[str, str] = {}
        self.suffix = ""
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()
        self._is_file = False
        self.count = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.count += 1
        if self.count > MAX_FIELDS:
            raise UploadRefused(400, "表单字段过多。", "Too many form fields.")
        self._headers, self._name, self._value, self._is_file = {}, None, bytearray(), False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = self._name == FILE_FIELD
        if self._is_file:
            self.files += 1
            if self.files > 1:
                raise UploadRefused(400, "一次只能上传一个文件。", "Upload one file at a time.")
            self.suffix = kept_suffix(params.get(b"filename", b"").decode("utf-8", "replace"))
            self.fh = open(self.temp, "xb")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.size += end - start
            if self.size > self.cap:
                self.over = True
            elif self.fh is not None:
                self.fh.write(data[start:end])
        elif len(self._value) + (end - start) <= MAX_FIELD_BYTES:
            self._value += data[start:end]

    def part_end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self.fh is not None:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            self.fh = None


def kept_suffix(client_name: str) -> str:
    """The suffix the stored file gets: the client's, only when it is one of ours (as our constant)."""
    suffix = PurePosixPath(client_name.replace("\\", "/")).suffix.lower()
    return next((s for s in KEPT_SUFFIXES if s == suffix), "")


async def receive(request, out: Path, cap: int) -> Received:
    """Stream the request's multipart body: the `file` part to OUT/.serve-incoming/, at most `cap`
    bytes. Raises UploadRefused (413 over the cap, 400 not a form with one file); nothing is kept then."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise UploadRefused(400, "请用页面上的表单上传文件。", "Send the file as multipart/form-data in the field 'file'.")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap + DRAIN_LIMIT:
        raise too_large(cap)
    incoming = Path(out) / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"part-{secrets.token_hex(12)}"
    parts = _Parts(temp, cap)
    parser = MultipartParser(params[b"boundary"], parts.callbacks())
    try:
        async for chunk in request.stream():
            if parts.over:
                if parts.size > cap + DRAIN_LIMIT:
                    break
                parts.size += len(chunk)       # drained, not parsed: the answer is 413 already
                continue
            parser.write(chunk)
        if not parts.over:
            parser.finalize()
    except UploadRefused:
        _discard(parts, temp)
        raise
    except Exception as e:  # a broken multipart body, a client gone mid-upload
        _discard(parts, temp)
        raise UploadRefused(400, "上传未完成或格式有误，请重新上传。", f"The upload was incomplete or malformed ({type(e).__name__}).") from None
    if parts.over:
        _discard(parts, temp)
        raise too_large(cap)
    if parts.files == 0:
        _discard(parts, temp)
        raise UploadRefused(400, "请先选择要上传的报表文件。", "Choose the workbook to upload (field 'file').")
    parts.close()
    return Received(temp, parts.size, parts.suffix, parts.fields)


def _discard(parts: _Parts, temp: Path) -> None:
    if parts.fh is not None:
        parts.fh.close()
        parts.fh = None
    temp.unlink(missing_ok=True)


def upload_name(suffix: str) -> str:
    """A new upload's name: UTC time to the microsecond and a random part, so names sort by arrival
    and never repeat. No dots but the suffix's."""
    now = datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S-%f}-{secrets.token_hex(3)}{suffix}"


def store(received: Received, inbox: Path, folder: str) -> str:
    """Put a complete upload into inbox/<folder>/ under a new name; returns its path relative to the
    inbox. Never overwrites: a link fails if the name exists, and another name is drawn."""
    target_dir = Path(inbox) / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    source = received.temp
    try:
        for _ in range(20):
            name = upload_name(received.suffix)
            try:
                _link(source, target_dir / name, target_dir)
            except FileExistsError:
                continue
            _fsync_dir(target_dir)
            return f"{folder}/{name}"
        raise FileExistsError(f"no free name in {target_dir}")
    finally:
        source.unlink(missing_ok=True)


def _link(source: Path, target: Path, target_dir: Path) -> None:
    try:
        os.link(source, target)
    except OSError as e:
        if isinstance(e, FileExistsError) or e.errno != 18:   # 18: EXDEV, the inbox is on another file system
            raise
        # copy next to the target under a hidden name (the inbox walk skips it), then link
        hidden = target_dir / f".serve-{secrets.token_hex(8)}.part"
        try:
            with open(source, "rb") as src, open(hidden, "xb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.link(hidden, target)
        finally:
            hidden.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_leftovers(out: Path, inbox: Path, folders: list[str]) -> int:
    """Remove what uploads cut short by a restart left: OUT/.serve-incoming/* and hidden copies in
    the agencies' folders. Returns how many files were removed."""
    removed = 0
    incoming = Path(out) / INCOMING
    candidates = list(incoming.glob("part-*")) if incoming.is_dir() else []
    for folder in folders:
        d = Path(inbox) / folder
        if d.is_dir():
            candidates += list(d.glob(".serve-*.part"))
    for p in candidates:
        try:
            p.unlink()
            removed += 1
        except OSError:
            pass
    return removed
