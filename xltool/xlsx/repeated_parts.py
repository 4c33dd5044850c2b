"""Parts that come back byte for byte, known by their compressed bytes: what zipfile would give
for them, without inflating them again, and what was worked out from those bytes.

A worker reads thousands of returns saved by the same program from the same template, and more
than half of each one's XML (the content types, the workbook, its relationships, the styles, the
sheets nobody fills in) is, compressed, the very bytes of the return before. zipfile would
decompress them again, check their CRC, and each reader would look at them again: the guard's
DTD test and sheet scan, the reader's parse.

So a part read whole through zipfile is remembered by everything zipfile reads to produce it: the
central directory's fields (name, method, flags, CRC, sizes), the local header's name bytes and
UTF-8 flag, and the compressed bytes themselves. The same record in another package means the
same output from zipfile, byte for byte, so those bytes are given without opening the member.
Anything unusual in the record (a truncated or foreign local header, a member that runs past the
file or into the next one) means it is not recognised, and zipfile reads it as usual.

What is worked out from a remembered part's bytes alone (the DTD test, the guard's sheet scan)
is remembered with it: `PartRecord.derived`. What also depends on the rest of its package (a
sheet's cells name the package's shared strings) is kept with everything it depends on, the
latest one only: `PartRecord.latest`.

Bounded like package's shared trees (seen_twice): only parts up to 64 KB, only once seen twice (a
hash of the first sighting is what is kept), and some 2 MB of them in all, least recently used
dropped first; what is kept with a part is one value per computation.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from xltool.xlsx.seen_twice import SeenTwice

_LOCAL_HEADER = struct.Struct(zipfile.structFileHeader)
_LOCAL_SIGNATURE = zipfile.stringFileHeader
# The local header's fields zipfile reads, by their place in structFileHeader (the zip format's order)
_SIGNATURE, _FLAG_BITS, _NAME_LENGTH, _EXTRA_LENGTH = 0, 3, 10, 11
_UTF8_NAME = 0x800           # the general purpose flag that says the local header's name is UTF-8
PART_MAX_BYTES = 64 * 1024   # a larger part is read by zipfile, and parsed, every time
_KEPT_BYTES = 2 * 1024 * 1024

MemberKey = tuple

_Derived = TypeVar("_Derived")


class PartRecord:
    """A remembered part: its bytes as zipfile gives them, and what was worked out from them."""

    __slots__ = ("data", "_derived")

    def __init__(self, data: bytes):
        self.data = data
        self._derived: dict[Hashable, Any] = {}

    def derived(self, key: Hashable, compute: Callable[[bytes], _Derived]) -> _Derived:
        """compute(data), once per remembered part: `key` names the computation and every argument
        it takes besides the bytes; the result is shared, and never changed by callers. What
        raises is not remembered."""
        if key not in self._derived:
            self._derived[key] = compute(self.data)
        return self._derived[key]

    def latest(self, key: Hashable, condition: Hashable, compute: Callable[[bytes], _Derived]) -> _Derived:
        """compute(data) under `condition` (what else it was worked out from): kept under `key`
        with its condition, one at a time, so a call under another condition works it out again
        and keeps that one instead. Bounded, where derived() keyed by every condition would not be."""
        kept = self._derived.get(key)
        if kept is None or kept[0] != condition:
            kept = self._derived[key] = (condition, compute(self.data))
        return kept[1]


def member_key(source: bytes, info: zipfile.ZipInfo) -> MemberKey | None:
    """Everything zipfile reads to produce the member's bytes; None when its record is unusual
    (then zipfile reads it, and says what is wrong)."""
    if info.file_size > PART_MAX_BYTES or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    start = info.header_offset
    header = source[start:start + _LOCAL_HEADER.size]
    if len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    if fields[_SIGNATURE] != _LOCAL_SIGNATURE:
        return None
    name_start = start + _LOCAL_HEADER.size
    name_end = name_start + fields[_NAME_LENGTH]
    data_start = name_end + fields[_EXTRA_LENGTH]
    data_end = data_start + info.compress_size
    end_offset = getattr(info, "_end_offset", None)     # newer zipfiles refuse overlapping members
    if data_end > len(source) or (end_offset is not None and data_end > end_offset):
        return None
    return (info.orig_filename, info.compress_type, info.flag_bits, info.CRC, info.file_size, info.compress_size,
            fields[_FLAG_BITS] & _UTF8_NAME, source[name_start:name_end], source[data_start:data_end])


# The remembered parts of one process: a part's footprint is its bytes and the compressed bytes
# that name it.
REPEATED_PARTS: SeenTwice[MemberKey, PartRecord] = SeenTwice(_KEPT_BYTES, lambda key, _record: key[4] + key[5])


def recognised(key: MemberKey) -> PartRecord | None:
    """The remembered part this member is, if it is one."""
    return REPEATED_PARTS.get(key)


def remembered(key: MemberKey, data: bytes) -> PartRecord | None:
    """zipfile gave `data` for the member `key`, all of it (its CRC checked): its record when the
    same member was read before (kept from now on), else None (only noted)."""
    if len(data) != key[4]:
        return None
    return REPEATED_PARTS.offer(key, PartRecord(data))
