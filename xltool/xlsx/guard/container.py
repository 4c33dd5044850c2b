"""The zip container, judged from its central directory alone before anything is decompressed:
entry count, names, compression methods, sizes and compression ratios."""

from __future__ import annotations

import io
import re
import zipfile

from xltool.findings import Finding
from xltool.xlsx.guard.codes import (
    ZIP_BOMB,
    ZIP_DUPLICATE_ENTRY,
    ZIP_ENTRY_TOO_LARGE,
    ZIP_TOO_MANY_ENTRIES,
    ZIP_TOTAL_TOO_LARGE,
    ZIP_TRUNCATED,
    ZIP_UNSAFE_NAME,
    ZIP_UNUSUAL_ENTRY,
)
from xltool.xlsx.guard.result import Limits, mb
from xltool.xlsx.package import Package

_CENTRAL_RECORD_SIGNATURE = b"PK\x01\x02"
_SAFE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def open_zip(data: bytes, limits: Limits) -> Package | Finding:
    """The package over these bytes, or why it cannot be opened."""
    # zipfile builds one object per central-directory record before we can count them:
    # count the record signatures first so 20 MB of empty records cannot cost gigabytes.
    if data.count(_CENTRAL_RECORD_SIGNATURE) > limits.max_entries:
        return ZIP_TOO_MANY_ENTRIES.at(limit=limits.max_entries)
    try:
        return Package(zipfile.ZipFile(io.BytesIO(data)), data)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return ZIP_TRUNCATED.at()

def container_findings(infos: list[zipfile.ZipInfo], limits: Limits) -> list[Finding]:
    """Everything the central directory alone can tell; nothing is decompressed yet."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for info in infos:
        if _is_unsafe_member_name(info.orig_filename):
            findings.append(ZIP_UNSAFE_NAME.at(name=info.orig_filename))
        # Part names are case-insensitive in OOXML; two spellings of one name are a
        # smuggling trick (one program reads the first copy, another the second).
        folded = info.filename.casefold()
        if folded in seen:
            findings.append(ZIP_DUPLICATE_ENTRY.at(name=info.filename))
        seen.add(folded)
        findings.extend(_entry_findings(info, limits))
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        findings.append(ZIP_TOTAL_TOO_LARGE.at(size_mb=mb(total), limit_mb=mb(limits.max_total_bytes)))
    return findings


def _entry_findings(info: zipfile.ZipInfo, limits: Limits) -> list[Finding]:
    part = info.filename
    if info.flag_bits & 0x1:
        return [ZIP_UNUSUAL_ENTRY.at(part=part, reason="单独加了 ZIP 密码",
                                     reason_en="is encrypted with a zip password")]
    if info.compress_type not in _SAFE_COMPRESSION:
        # zipfile inflates bzip2/lzma chunks without an output bound (and openpyxl would
        # too), so only the two methods Excel writes are accepted.
        return [ZIP_UNUSUAL_ENTRY.at(part=part, reason=f"使用了非常规的压缩方式（{info.compress_type} 号）",
                                     reason_en=f"uses compression method {info.compress_type}")]
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= limits.ratio_check_min_bytes and ratio > limits.max_ratio:
        return [ZIP_BOMB.at(part=part, ratio=round(ratio), limit=round(limits.max_ratio))]
    if info.file_size > limits.max_entry_bytes:
        return [ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=mb(info.file_size),
                                       limit_mb=mb(limits.max_entry_bytes))]
    return []


def _is_unsafe_member_name(name: str) -> bool:
    """Absolute, drive-letter or '..' names: harmless to zipfile reads, but a trap for
    anything that ever extracts the file, and never written by Excel."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"[A-Za-z]:", normalized):
        return True
    return ".." in normalized.split("/")

