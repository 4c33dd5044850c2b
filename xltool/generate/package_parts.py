"""A drawn workbook as its parts, the parts zipped again, and whether two drawings are the same workbook.

Two drawings of one workbook differ only in when they were written: docProps/core.xml carries the
time (to the second). The writer and the stamper compare a fast way of making a workbook with
xlsxwriter's own drawing of it, part by part, with that time left out.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Container

WRITTEN_AT = re.compile(rb"<dcterms:(created|modified) [^>]*>[^<]*</dcterms:\1>")


def parts(xlsx: bytes) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of each part of a workbook, in the package's order."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return tuple((info.filename, z.read(info)) for info in z.infolist())


def same_drawing(one: bytes, other: bytes) -> bool:
    """Whether two workbooks have the same parts, in the same order, apart from the time of writing."""
    return _timeless(parts(one)) == _timeless(parts(other))


def _timeless(named: tuple[tuple[str, bytes], ...]) -> list[tuple[str, bytes]]:
    return [(name, WRITTEN_AT.sub(b"", data)) for name, data in named]


def zipped(named: list[tuple[str, bytes]], same_each_time: Container[str] = ()) -> bytes:
    """The parts zipped as xlsxwriter zips a workbook in memory (Workbook._store_workbook, through
    zipfile), byte for byte. The parts named in `same_each_time` (the theme, the styles: the same in
    every workbook of a form) are compressed once per process and kept: compressing is most of the
    time of a stamped workbook. The archive is put together here, with the entries' fields zipfile
    gives them (learnt from zipfile once per process, and checked against it: where this Python's
    zipfile writes otherwise, it zips them all)."""
    global _FAST
    if _FAST is None:
        sample = [("[Content_Types].xml", b"<Types/>" * 40), ("xl/_rels/x.rels", b"")]
        _FAST = _put_together(sample, ()) == _by_zipfile(sample)
    return _put_together(named, same_each_time) if _FAST else _by_zipfile(named)


_WRITTEN = (1980, 1, 1, 0, 0, 0)         # the time xlsxwriter gives every part it zips in memory
_FAST: bool | None = None                # whether _put_together writes what zipfile writes
_KEPT_MAX = 256
_KEPT: dict[bytes, tuple[int, bytes]] = {}


def _by_zipfile(named: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=False) as z:
        for name, data in named:
            info = zipfile.ZipInfo(name, _WRITTEN)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


@functools.cache
def _zipfile_fields() -> dict[str, int]:
    """The fields zipfile gives an entry that writestr() is handed as a ZipInfo."""
    with zipfile.ZipFile(io.BytesIO(_by_zipfile([("x.xml", b"x")]))) as z:
        info = z.infolist()[0]
    return {k: getattr(info, k) for k in ("create_version", "create_system", "extract_version", "reserved",
                                          "flag_bits", "internal_attr", "external_attr")}


def _put_together(named: list[tuple[str, bytes]], same_each_time: Container[str]) -> bytes:
    fields = _zipfile_fields()
    out = bytearray()
    entries = []
    for name, data in named:
        crc, packed = _deflated(data, keep=name in same_each_time)
        info = zipfile.ZipInfo(name, _WRITTEN)
        for k, v in fields.items():
            setattr(info, k, v)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.CRC, info.compress_size, info.file_size, info.header_offset = crc, len(packed), len(data), len(out)
        if max(info.file_size, info.compress_size, info.header_offset) > zipfile.ZIP64_LIMIT:
            raise ValueError("a workbook too large to zip without Zip64")     # xlsxwriter refuses it too
        out += info.FileHeader(zip64=False)
        out += packed
        entries.append(info)
    start = len(out)
    dos_date, dos_time = (_WRITTEN[0] - 1980) << 9 | _WRITTEN[1] << 5 | _WRITTEN[2], 0
    for info in entries:       # the central directory, as zipfile.ZipFile._write_end_record writes it
        filename, flag_bits = info._encodeFilenameFlags()
        out += struct.pack(zipfile.structCentralDir, zipfile.stringCentralDir, info.create_version,
                           info.create_system, info.extract_version, info.reserved, flag_bits, info.compress_type,
                           dos_time, dos_date, info.CRC, info.compress_size, info.file_size, len(filename),
                           len(info.extra), len(info.comment), 0, info.internal_attr, info.external_attr,
                           info.header_offset)
        out += filename + info.extra + info.comment
    out += struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, len(entries), len(entries),
                       len(out) - start, start, 0)
    return bytes(out)


def _deflated(data: bytes, keep: bool) -> tuple[int, bytes]:
    """(CRC-32, raw deflate stream) of a part, as zipfile's compressor makes them."""
    if keep and data in _KEPT:
        return _KEPT[data]
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    made = zlib.crc32(data), compressor.compress(data) + compressor.flush()
    if keep:
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        _KEPT[data] = made
    return made
