"""What a file is when it is not a zip: the magic bytes and the text it starts with.

A returned file that is no workbook at all (a PDF, a picture, a web page saved as .xls, a CSV)
gets a message that says what it looks like, so the sender can send the right file.
"""

from __future__ import annotations

import codecs

from xltool.xlsx.guard.codes import NOT_A_WORKBOOK, UNSUPPORTED_SPREADSHEET
from xltool.xlsx.guard.result import GuardResult, result

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")    # a local file header, or an empty archive

def inspect_other(head: bytes) -> GuardResult:
    """Neither zip nor OLE2: say what the bytes look like, so the sender can fix it."""
    spreadsheet = _other_spreadsheet_format(head)
    if spreadsheet:
        kind, zh, en = spreadsheet
        return result(kind, [UNSUPPORTED_SPREADSHEET.at(format=zh, format_en=en)])
    zh, en = _looks_like(head)
    return result("not-a-workbook", [NOT_A_WORKBOOK.at(looks_like=zh, looks_like_en=en)])


_MAGIC_LOOKALIKES = (
    (b"%PDF-", "PDF 文档", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG 图片", "a PNG image"),
    (b"\xff\xd8\xff", "JPEG 图片", "a JPEG image"),
    (b"GIF8", "GIF 图片", "a GIF image"),
    (b"Rar!\x1a\x07", "RAR 压缩包", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包", "a 7z archive"),
    (b"\x1f\x8b", "gzip 压缩包", "a gzip archive"),
    (b"{\\rtf", "RTF 文档", "an RTF document"),
    (b"MZ", "Windows 程序（exe）", "a Windows program (exe)"),
)


def _looks_like(head: bytes) -> tuple[str, str]:
    for magic, zh, en in _MAGIC_LOOKALIKES:
        if head.startswith(magic):
            return zh, en
    text = _decode_text(head)
    if text is None:
        return "无法识别的二进制文件", "an unrecognised binary file"
    lowered = text.lstrip().lower()
    if lowered.startswith("mime-version:"):
        return "MHT 网页存档", "an MHT web archive"
    if "<html" in lowered[:1024] or lowered.startswith("<!doctype html"):
        return "网页（HTML）文件", "a web page (HTML)"
    if lowered.startswith("<"):
        return "XML 文件", "an XML file"
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    if any(sep in first_line for sep in ",\t;"):
        return "CSV/文本表格", "a CSV or text table"
    return "纯文本文件", "a plain text file"


def _other_spreadsheet_format(head: bytes) -> tuple[str, str, str] | None:
    """Excel 2003 XML is a spreadsheet, just not one we read: that deserves its own advice."""
    text = (_decode_text(head) or "").lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in text or 'progid="excel.sheet"' in text:
        return "spreadsheetml-2003", "Excel 2003 XML 表格", "Excel 2003 XML Spreadsheet"
    return None


def _decode_text(head: bytes) -> str | None:
    """The head as text when it plausibly is text (UTF-16 with BOM, UTF-8 or GB18030)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:   # not just a character cut at the end of the head
                continue
            text = head[:exc.start].decode(encoding)
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        return text if controls <= len(text) // 100 else None
    return None

