"""OLE2 compound files: an encrypted OOXML package, a legacy .xls or .et, or another old
Office document, told apart by the stream names in the compound file's directory."""

from __future__ import annotations

import re
from pathlib import PurePath

from xltool.xlsx.guard.codes import ENCRYPTED, LEGACY_XLS, NOT_A_WORKBOOK
from xltool.xlsx.guard.result import GuardResult, result

# Stream names looked for in the compound file's directory.
_OLE_STREAMS = ("EncryptedPackage", "Workbook", "Book", "WordDocument", "PowerPoint Document")


def inspect_ole(data: bytes, path: PurePath) -> GuardResult:
    """OLE2 compound file: an encrypted OOXML package, a legacy .xls/.et, or another document."""
    streams = _ole_stream_names(data, _OLE_STREAMS)
    if "EncryptedPackage" in streams:
        return result("ole-encrypted", [ENCRYPTED.at()])
    if path.suffix.lower() in (".et", ".ett"):
        return result("et", [LEGACY_XLS.at(format="WPS 表格(.et)", format_en="WPS Spreadsheet (.et)")])
    if streams & {"Workbook", "Book"}:
        return result("xls", [LEGACY_XLS.at(format="Excel 97-2003 工作簿(.xls)",
                                             format_en="Excel 97-2003 Workbook (.xls)")])
    if "WordDocument" in streams:
        looks = ("Word 97-2003 文档(.doc)", "a Word 97-2003 document (.doc)")
    elif "PowerPoint Document" in streams:
        looks = ("PowerPoint 97-2003 演示文稿(.ppt)", "a PowerPoint 97-2003 presentation (.ppt)")
    else:
        looks = ("其他旧版 Office 文件（OLE 复合文档）", "another legacy Office file (OLE compound file)")
    return result("not-a-workbook", [NOT_A_WORKBOOK.at(looks_like=looks[0], looks_like_en=looks[1])])


def _ole_stream_names(data: bytes, candidates: tuple[str, ...]) -> set[str]:
    """Which of `candidates` are named in the compound file's directory.

    No FAT walk is needed: the 512-byte header and every sector are multiples of 128
    bytes, so each 128-byte directory entry starts on a 128-byte boundary, with its
    UTF-16LE name at offset 0 and the name's byte length (terminator included) at
    offset 64. A match at such an offset with that length is a directory entry, not
    stream data that happens to contain the name. Names compare case-insensitively, as
    in the compound file format itself.
    """
    found = set()
    for name in candidates:
        entry_name = name.encode("utf-16-le") + b"\x00\x00"
        length_field = len(entry_name).to_bytes(2, "little")
        for match in re.finditer(re.escape(entry_name), data, re.IGNORECASE):
            at = match.start()
            if at % 128 == 0 and data[at + 64:at + 66] == length_field:
                found.add(name)
                break
    return found

