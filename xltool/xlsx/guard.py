"""Guard: checks on a returned file before any spreadsheet parser touches it.

Every returned workbook is hostile until these checks pass. `inspect_file` decides what
the file is from its bytes, never from its extension. It checks the zip container from
the central directory alone (entry count, names, sizes, compression ratios) before it
decompresses anything. Then it reads a few small parts with bounded reads:
[Content_Types].xml, the workbook and its relationships, any external-link parts, the
head of every other XML part (for DTDs) and the sheet parts. Sheet parts are streamed in
chunks and scanned with byte regexes for their extent and for formulas that name other
files. Nothing is extracted to disk, and no link is followed.

`GuardResult.parseable` is True only when no error was found. The caller should then
hand openpyxl the open file object, not the path: openpyxl refuses a path whose
extension it does not know, and a `wrong-extension` file is still read by its content.
"""

from __future__ import annotations

import codecs
import html
import io
import os
import posixpath
import re
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePath
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from xltool.findings import ERROR, WARNING, Code, Finding, sort_key

try:
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET
except ImportError:  # reported by check_defusedxml_available(); nothing is parsed without it
    SafeET = None
    DefusedXmlException = ()  # type: ignore[assignment,misc]  # `except ()` catches nothing


# --------------------------------------------------------------------------- API types

@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_entries: int = 2000
    max_entry_bytes: int = 50 * 1024 * 1024      # uncompressed size of one zip member
    max_total_bytes: int = 200 * 1024 * 1024     # uncompressed total
    max_ratio: float = 200.0                      # per-entry compression ratio (zip bomb)
    max_rows: int = 2000                          # declared <dimension> / max row in a sheet part
    max_cols: int = 200
    # A small part can compress 300:1 without harm (a run of identical empty rows does).
    # A bomb only hurts when it is big, so the ratio is checked only from this size up.
    ratio_check_min_bytes: int = 1024 * 1024


@dataclass
class GuardResult:
    kind: str            # 'xlsx' | 'xlsm' | 'xltx' | 'xltm' | 'xls' | 'et' | 'ole-encrypted' | 'strict-ooxml'
    #                      | 'xlsb' | 'ods' | 'spreadsheetml-2003' | 'not-a-workbook' | 'zip' | 'empty'
    #                      | 'too-large' | 'not-a-file' | 'unreadable'
    findings: list[Finding]
    parseable: bool      # True only when it is safe to hand the file to openpyxl
    external_refs: list[str] = field(default_factory=list)  # other files it names (reporting only)
    data: bytes | None = None  # the bytes judged (inspect_file), for hashing and parsing


# --------------------------------------------------------------------------- codes

_RESUBMIT_ZH = "请用 Excel/WPS 打开原表格，“另存为 → Excel 工作簿(*.xlsx)”后再提交。"
_RESUBMIT_EN = "Open the original in Excel/WPS, use Save As > Excel Workbook (*.xlsx) and resubmit."

FILE_EMPTY = Code(
    "file-empty", ERROR,
    zh="文件是空的（0 字节），可能上传或拷贝没有完成。请重新保存表格后再提交。",
    en="The file is empty (0 bytes); the upload or copy probably did not finish. "
       "Save the workbook again and resubmit.")
FILE_TOO_LARGE = Code(
    "file-too-large", ERROR,
    zh="文件大小为 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的工作表、图片和空白行列，"
       "另存为 .xlsx 后再提交。",
    en="The file is {size_mb} MB, over the {limit_mb} MB limit. Delete extra sheets, pictures and "
       "blank rows/columns, save as .xlsx and resubmit.")
FILE_UNREADABLE = Code(
    "file-unreadable", ERROR,
    zh="无法打开文件（{reason}）。请确认文件没有被其他程序占用，重新提交一次。",
    en="The file could not be opened ({reason}). Make sure no other program holds it and resubmit.")
NOT_A_WORKBOOK = Code(
    "not-a-workbook", ERROR,
    zh="文件内容不是 Excel 工作簿，看起来是{looks_like}（可能改过扩展名或传错了文件）。"
       "请用 Excel/WPS 打开填好的表格，“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is not an Excel workbook; it looks like {looks_like_en} (renamed, or the wrong "
       "file). Open the filled-in form in Excel/WPS, Save As > Excel Workbook (*.xlsx) and resubmit.")
UNSUPPORTED_SPREADSHEET = Code(
    "unsupported-spreadsheet", ERROR,
    zh="文件是{format}格式，系统只能读取 .xlsx 工作簿。请在 Excel/WPS 中“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is in {format_en} format; only .xlsx workbooks can be read. "
       "Use Save As > Excel Workbook (*.xlsx) in Excel/WPS and resubmit.")
LEGACY_XLS = Code(
    "legacy-xls", ERROR,
    zh="文件是旧版{format}格式，系统只能读取 .xlsx。请在 Excel/WPS 中打开，“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is in the old {format_en} format; only .xlsx can be read. Open it in Excel/WPS, "
       "Save As > Excel Workbook (*.xlsx) and resubmit.")
ENCRYPTED = Code(
    "encrypted", ERROR,
    zh="文件已加密（设置了打开密码），无法读取。请在 Excel/WPS 中取消密码后另存为 .xlsx 再提交。",
    en="The file is encrypted (it has an open password) and cannot be read. Remove the password "
       "in Excel/WPS, save as .xlsx and resubmit.")
ZIP_TRUNCATED = Code(
    "zip-truncated", ERROR,
    zh="文件不完整或已损坏（找不到完整的文件结构），可能是下载、拷贝或上传中断。" + _RESUBMIT_ZH,
    en="The file is incomplete or damaged (its structure is cut off); a download, copy or upload "
       "was probably interrupted. " + _RESUBMIT_EN)
ZIP_CORRUPT = Code(
    "zip-corrupt", ERROR,
    zh="文件中的“{part}”部分已损坏，无法读取。" + _RESUBMIT_ZH,
    en="The part '{part}' of the file is damaged and cannot be read ({reason}). " + _RESUBMIT_EN)
ZIP_TOO_MANY_ENTRIES = Code(
    "zip-too-many-entries", ERROR,
    zh="文件内部的部件超过 {limit} 个，不像正常的表格文件，已拒绝读取。请只保留需要填报的工作表，"
       "另存为新的 .xlsx 后再提交。",
    en="The file holds more than {limit} internal parts, which no normal workbook does, so it was "
       "refused. Keep only the sheets of the form, save as a new .xlsx and resubmit.")
ZIP_ENTRY_TOO_LARGE = Code(
    "zip-entry-too-large", ERROR,
    zh="文件内部的“{part}”解压后有 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的数据、"
       "图片或空白行列，另存为 .xlsx 后再提交。",
    en="The part '{part}' is {size_mb} MB uncompressed, over the {limit_mb} MB limit. Delete "
       "extra data, pictures or blank rows/columns, save as .xlsx and resubmit.")
ZIP_TOTAL_TOO_LARGE = Code(
    "zip-total-too-large", ERROR,
    zh="文件解压后共 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的工作表、图片或空白行列，"
       "另存为 .xlsx 后再提交。",
    en="The file is {size_mb} MB uncompressed in total, over the {limit_mb} MB limit. Delete extra "
       "sheets, pictures or blank rows/columns, save as .xlsx and resubmit.")
ZIP_BOMB = Code(
    "zip-bomb", ERROR,
    zh="文件内部的“{part}”压缩比异常（{ratio} 倍，上限 {limit} 倍），可能是恶意构造的“压缩炸弹”，"
       "已拒绝读取。" + _RESUBMIT_ZH + "如果文件不是本单位制作的，请联系技术人员。",
    en="The part '{part}' has an abnormal compression ratio ({ratio}:1, limit {limit}:1) and may "
       "be a zip bomb, so it was refused. " + _RESUBMIT_EN
       + " If your office did not make this file, contact IT support.")
ZIP_UNSAFE_NAME = Code(
    "zip-unsafe-name", ERROR,
    zh="文件内部含有指向文件之外的非法路径“{name}”，正常的 Excel 文件不会这样，已拒绝读取。" + _RESUBMIT_ZH,
    en="The file contains the illegal internal path '{name}' pointing outside the file; no normal "
       "Excel file does this, so it was refused. " + _RESUBMIT_EN)
ZIP_DUPLICATE_ENTRY = Code(
    "zip-duplicate-entry", ERROR,
    zh="文件内部的“{name}”出现了不止一次，不同软件可能读到不同的内容，已拒绝读取。" + _RESUBMIT_ZH,
    en="The internal part '{name}' appears more than once, so different programs may read "
       "different data; the file was refused. " + _RESUBMIT_EN)
ZIP_UNUSUAL_ENTRY = Code(
    "zip-unusual-entry", ERROR,
    zh="文件内部的“{part}”{reason}，Excel/WPS 不会这样保存，已拒绝读取。" + _RESUBMIT_ZH,
    en="The internal part '{part}' {reason_en}, which Excel/WPS never write; the file was "
       "refused. " + _RESUBMIT_EN)
MISSING_WORKBOOK_PART = Code(
    "missing-workbook-part", ERROR,
    zh="文件结构不完整：缺少{part}，可能已损坏或由不规范的软件生成。" + _RESUBMIT_ZH,
    en="The file is incomplete: {part_en} is missing; it is damaged or was written by "
       "non-standard software. " + _RESUBMIT_EN)
XML_ENTITY = Code(
    "xml-entity", ERROR,
    zh="文件内部的“{part}”含有 DTD/实体声明（<!DOCTYPE>），正常的 Excel 文件不会有，"
       "可能是恶意构造的文件，已拒绝读取。" + _RESUBMIT_ZH,
    en="The part '{part}' contains a DTD/entity declaration (<!DOCTYPE>), which no normal Excel "
       "file has; it may be malicious and was refused. " + _RESUBMIT_EN)
XML_MALFORMED = Code(
    "xml-malformed", ERROR,
    zh="文件内部的“{part}”内容异常（{reason}），文件可能已损坏或被改动过。" + _RESUBMIT_ZH,
    en="The part '{part}' is abnormal ({reason_en}); the file is damaged or was altered. "
       + _RESUBMIT_EN)
STRICT_OOXML = Code(
    "strict-ooxml", ERROR,
    zh="文件保存成了“Strict Open XML 电子表格”格式，系统无法读取。请在 Excel 中“另存为 → "
       "Excel 工作簿(*.xlsx)”，不要选 Strict Open XML，然后再提交。",
    en="The file was saved as 'Strict Open XML Spreadsheet', which cannot be read. In Excel use "
       "Save As > Excel Workbook (*.xlsx), not Strict Open XML, and resubmit.")
SHEET_TOO_LARGE = Code(
    "sheet-too-large", ERROR,
    zh="工作表“{sheet}”的使用范围达到 {rows} 行 × {cols} 列（{extent}），超过允许的 {max_rows} 行 × "
       "{max_cols} 列。通常是误把内容或格式设置到了整行整列：请选中多余的行和列，右键“删除”"
       "（不是按 Delete 键清除），保存后再提交。",
    en="Sheet '{sheet}' extends to {rows} rows x {cols} columns ({extent}), over the allowed "
       "{max_rows} x {max_cols}. Content or formatting was probably applied to whole rows or "
       "columns: select the extra rows and columns, right-click > Delete (not the Delete key), "
       "save and resubmit.")
MACRO_ENABLED = Code(
    "macro-enabled", WARNING,
    zh="文件包含宏（VBA/宏表）。系统不会运行宏，只读取表格中的数据；如无必要，请另存为"
       "“Excel 工作簿(*.xlsx)”后再提交。",
    en="The file contains macros (VBA or macro sheets). Macros are never run and only the data "
       "is read; unless they are needed, save as 'Excel Workbook (*.xlsx)' before submitting.")
EXTERNAL_LINK = Code(
    "external-link", WARNING,
    zh="工作簿引用了 {count} 个其他文件中的数据（{targets}）。系统只读取单元格里已保存的数值，"
       "不会打开这些文件；为免数值过期，请在 Excel 中“数据 → 编辑链接 → 断开链接”，保存后再提交。",
    en="The workbook refers to data in {count} other file(s) ({targets}). Only the values saved "
       "in the cells are read and those files are never opened; to avoid stale values use "
       "Data > Edit Links > Break Link in Excel, save and resubmit.")
WRONG_EXTENSION = Code(
    "wrong-extension", WARNING,
    zh="文件扩展名是“{ext}”，但内容是 {actual} 文件，已按实际内容读取。以后请在“另存为”时直接选择"
       "正确的文件类型，不要手动修改扩展名。",
    en="The file name ends in '{ext}' but the content is a {actual} file; it was read by its "
       "content. Next time choose the right type in Save As instead of renaming the file.")

SKIPPED_NOT_REGULAR_FILE = Code(
    "skipped-not-regular-file", WARNING,
    zh="“{name}”不是普通文件（{what}），已跳过。请提交 .xlsx 表格文件本身。",
    en="'{name}' is not a regular file ({what_en}); skipped. Submit the .xlsx workbook itself.")


# --------------------------------------------------------------------------- constants

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")    # a local file header, or an empty archive
_CENTRAL_RECORD_SIGNATURE = b"PK\x01\x02"

STRICT_SPREADSHEETML_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

# openpyxl looks the workbook part up by content type, in this order; so do we.
_WORKBOOK_CONTENT_TYPES = {
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xltm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
_CONTENT_TYPES_PART = "[Content_Types].xml"
_DEFAULT_WORKBOOK_PART = "xl/workbook.xml"
_XML_PART_SUFFIXES = (".xml", ".rels", ".vml")
_EXTERNAL_LINK_PART = re.compile(r"^xl/externalLinks/[^/]+\.xml$")

_SAFE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_MEMBER_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                       RuntimeError)

_CHUNK_BYTES = 64 * 1024
_HEAD_BYTES = 4096
# The workbook, relationship and content-type parts are parsed whole; real ones are KBs.
_METADATA_PART_LIMIT = 4 * 1024 * 1024
# A single start tag longer than this cannot be scanned in a bounded window (see _SheetScan).
_MAX_TAG_BYTES = 1024 * 1024
# One hostile archive must not produce thousands of identical lines in a report.
_MAX_FINDINGS_PER_CODE = 5
_MAX_TARGETS_SHOWN = 5
# Formulas that may name another file, kept per sheet: enough for any real workbook,
# bounded for a hostile one. Excel formulas are at most 8192 characters.
_MAX_FORMULAS_KEPT = 10_000
_MAX_FORMULA_CHARS = 8192

_MB = 1024 * 1024


# --------------------------------------------------------------------------- public API

def check_defusedxml_available() -> None:
    """Fail loudly at start-up if returned XML could be parsed without defusedxml.

    The guard parses with defusedxml, and openpyxl switches to it only when it is installed
    and OPENPYXL_DEFUSEDXML is not "False"; both must hold before any return is read.
    """
    if SafeET is None:
        raise RuntimeError(
            "缺少 defusedxml 库，无法安全读取报送文件。请在运行环境中执行 `pip install defusedxml` 后重试。"
            " (defusedxml is required to read returned workbooks safely: pip install defusedxml)")
    try:
        import openpyxl
    except ImportError:
        return
    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise RuntimeError(
            "openpyxl 没有启用 defusedxml（可能设置了环境变量 OPENPYXL_DEFUSEDXML=False），"
            "无法安全读取报送文件。请取消该设置后重试。"
            " (openpyxl is not using defusedxml; unset OPENPYXL_DEFUSEDXML=False)")


def inspect_file(path: Path, limits: Limits = Limits()) -> GuardResult:
    """Read the returned file at `path` once and judge those bytes: `result.data` holds them
    (None when the file is not a regular file, is unreadable or over the size cap), so the
    caller hashes and parses exactly what was judged, even if the file is replaced meanwhile."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO planted in the inbox must not hang the whole ingest.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return _result("unreadable", [FILE_UNREADABLE.at(reason=exc.strerror or type(exc).__name__)])
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            what, what_en = describe_file_type(info.st_mode)
            return _result("not-a-file", [SKIPPED_NOT_REGULAR_FILE.at(
                name=path.name, what=what, what_en=what_en, severity=ERROR)])
        if info.st_size > limits.max_file_bytes:
            return _result("too-large", [FILE_TOO_LARGE.at(
                size_mb=_mb(info.st_size), limit_mb=_mb(limits.max_file_bytes))])
        try:
            data = fh.read(limits.max_file_bytes + 1)   # never more than the cap, even if the file grew
        except OSError as exc:
            return _result("unreadable", [FILE_UNREADABLE.at(reason=exc.strerror or type(exc).__name__)])
    result = inspect_bytes(data, path.name, limits)
    result.data = data if len(data) <= limits.max_file_bytes else None
    return result


def inspect_bytes(data: bytes, name: str, limits: Limits = Limits()) -> GuardResult:
    """Decide whether these bytes, a returned file named `name`, are safe to parse."""
    if SafeET is None:
        check_defusedxml_available()
    if len(data) == 0:
        return _result("empty", [FILE_EMPTY.at()])
    if len(data) > limits.max_file_bytes:
        return _result("too-large", [FILE_TOO_LARGE.at(
            size_mb=_mb(len(data)), limit_mb=_mb(limits.max_file_bytes))])
    head = data[:_HEAD_BYTES]
    path = PurePath(name)
    if head.startswith(ZIP_MAGICS):
        return _inspect_zip(io.BytesIO(data), path, limits)
    if head.startswith(OLE2_MAGIC):
        return _inspect_ole(data, path)
    return _inspect_other(head)


# --------------------------------------------------------------------------- not a zip

def _inspect_other(head: bytes) -> GuardResult:
    """Neither zip nor OLE2: say what the bytes look like, so the sender can fix it."""
    spreadsheet = _other_spreadsheet_format(head)
    if spreadsheet:
        kind, zh, en = spreadsheet
        return _result(kind, [UNSUPPORTED_SPREADSHEET.at(format=zh, format_en=en)])
    zh, en = _looks_like(head)
    return _result("not-a-workbook", [NOT_A_WORKBOOK.at(looks_like=zh, looks_like_en=en)])


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


# --------------------------------------------------------------------------- OLE2

# Stream names looked for in the compound file's directory.
_OLE_STREAMS = ("EncryptedPackage", "Workbook", "Book", "WordDocument", "PowerPoint Document")


def _inspect_ole(data: bytes, path: Path) -> GuardResult:
    """OLE2 compound file: an encrypted OOXML package, a legacy .xls/.et, or another document."""
    streams = _ole_stream_names(data, _OLE_STREAMS)
    if "EncryptedPackage" in streams:
        return _result("ole-encrypted", [ENCRYPTED.at()])
    if path.suffix.lower() in (".et", ".ett"):
        return _result("et", [LEGACY_XLS.at(format="WPS 表格(.et)", format_en="WPS Spreadsheet (.et)")])
    if streams & {"Workbook", "Book"}:
        return _result("xls", [LEGACY_XLS.at(format="Excel 97-2003 工作簿(.xls)",
                                             format_en="Excel 97-2003 Workbook (.xls)")])
    if "WordDocument" in streams:
        looks = ("Word 97-2003 文档(.doc)", "a Word 97-2003 document (.doc)")
    elif "PowerPoint Document" in streams:
        looks = ("PowerPoint 97-2003 演示文稿(.ppt)", "a PowerPoint 97-2003 presentation (.ppt)")
    else:
        looks = ("其他旧版 Office 文件（OLE 复合文档）", "another legacy Office file (OLE compound file)")
    return _result("not-a-workbook", [NOT_A_WORKBOOK.at(looks_like=looks[0], looks_like_en=looks[1])])


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


# --------------------------------------------------------------------------- zip container

def _inspect_zip(fh: IO[bytes], path: Path, limits: Limits) -> GuardResult:
    # zipfile builds one object per central-directory record before we can count them:
    # count the record signatures first so 20 MB of empty records cannot cost gigabytes.
    if _count_signatures(fh, _CENTRAL_RECORD_SIGNATURE, stop_after=limits.max_entries) > limits.max_entries:
        return _result("zip", [ZIP_TOO_MANY_ENTRIES.at(limit=limits.max_entries)])
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return _result("zip", [ZIP_TRUNCATED.at()])
    with archive:
        return _PackageInspection(archive, path, limits).run()


def _count_signatures(fh: IO[bytes], signature: bytes, stop_after: int) -> int:
    """Occurrences of `signature` in the file, counting no further than stop_after + 1."""
    fh.seek(0)
    count, tail = 0, b""
    while count <= stop_after and (chunk := fh.read(16 * _CHUNK_BYTES)):
        window = tail + chunk
        count += window.count(signature)
        # The kept tail is shorter than the signature, so nothing is counted twice.
        tail = window[-(len(signature) - 1):]
    return count


def _container_findings(infos: list[zipfile.ZipInfo], limits: Limits) -> list[Finding]:
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
        findings.append(ZIP_TOTAL_TOO_LARGE.at(size_mb=_mb(total), limit_mb=_mb(limits.max_total_bytes)))
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
        return [ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=_mb(info.file_size),
                                       limit_mb=_mb(limits.max_entry_bytes))]
    return []


def _is_unsafe_member_name(name: str) -> bool:
    """Absolute, drive-letter or '..' names: harmless to zipfile reads, but a trap for
    anything that ever extracts the file, and never written by Excel."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"[A-Za-z]:", normalized):
        return True
    return ".." in normalized.split("/")


# --------------------------------------------------------------------------- package

class _Rejected(Exception):
    """Raised deep inside a check when nothing after it can be trusted."""

    def __init__(self, finding: Finding):
        super().__init__(finding.code)
        self.finding = finding


@dataclass
class _Relationship:
    type: str
    target: str          # resolved part name, or the raw target when external
    external: bool


@dataclass
class _WorkbookPart:
    sheets: list[tuple[str, str]]            # (sheet name, relationship id)
    external_reference_ids: list[str]        # relationship ids, in [1], [2], ... order
    defined_name_formulas: list[str]


class _PackageInspection:
    """The checks on a zip that passed the magic-byte test, in the order they can run."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, limits: Limits):
        self.archive = archive
        self.path = path
        self.limits = limits
        self.infos = {info.filename: info for info in archive.infolist()}
        self.kind = "zip"
        self.findings: list[Finding] = []
        self.external_refs: list[str] = []
        self._per_code: Counter[str] = Counter()
        self._xml_checked: set[str] = set()     # parts whose DTD question is settled

    def run(self) -> GuardResult:
        try:
            self._inspect()
        except _Rejected as rejected:
            self._add(rejected.finding)
        return _result(self.kind, self.findings, self.external_refs)

    def _add(self, finding: Finding) -> None:
        self._per_code[finding.code] += 1
        if self._per_code[finding.code] <= _MAX_FINDINGS_PER_CODE:
            self.findings.append(finding)

    def _inspect(self) -> None:
        # archive.infolist(), not self.infos: the dict keeps only the last of two equal names
        container = _container_findings(self.archive.infolist(), self.limits)
        for finding in container:
            self._add(finding)
        if container:
            return
        workbook_part = self._locate_workbook()
        if workbook_part is None:
            return
        workbook = self._read_workbook(workbook_part)
        if workbook is None:
            return
        relationships = self._read_relationships(workbook_part, required=True)
        link_targets = self._collect_external_links(workbook, relationships)
        sheet_parts = self._sheet_parts(workbook, relationships)
        if not self._other_xml_prologs_are_clean(exclude={part for _, part in sheet_parts}):
            return
        for sheet_name, part in sheet_parts:
            self._scan_sheet(sheet_name, part, link_targets)
        for formula in workbook.defined_name_formulas:
            self._note_external(_external_targets_in_formula(formula, link_targets))
        self._report_external_links()
        self._check_macros()
        self._check_extension()

    # ---- what kind of package

    def _locate_workbook(self) -> str | None:
        """The workbook part, found the way openpyxl finds it; None when there is none."""
        if _CONTENT_TYPES_PART not in self.infos:
            self._classify_non_workbook()
            return None
        content_types = self._parse_xml(_CONTENT_TYPES_PART)
        overrides: dict[str, str] = {}
        for element in content_types:
            if _local(element.tag) == "Override":     # the first one wins, as in openpyxl
                overrides.setdefault(element.get("ContentType"), (element.get("PartName") or "").lstrip("/"))
        defaults = {el.get("ContentType") for el in content_types if _local(el.tag) == "Default"}
        for content_type, kind in _WORKBOOK_CONTENT_TYPES.items():
            if content_type in overrides or content_type in defaults:
                self.kind = kind
                part = overrides.get(content_type, _DEFAULT_WORKBOOK_PART)
                if part not in self.infos:
                    self._add(_missing_part(part))
                    return None
                return part
        self._classify_non_workbook()
        return None

    def _classify_non_workbook(self) -> None:
        """A zip without a declared workbook: a Word/PowerPoint/ODF file, xlsb, plain zip..."""
        names = self.infos.keys()
        if "xl/workbook.bin" in names:
            self.kind = "xlsb"
            self._add(UNSUPPORTED_SPREADSHEET.at(format="Excel 二进制工作簿(.xlsb)",
                                                 format_en="Excel Binary Workbook (.xlsb)"))
        elif "mimetype" in names and self._odf_mimetype() == "application/vnd.oasis.opendocument.spreadsheet":
            self.kind = "ods"
            self._add(UNSUPPORTED_SPREADSHEET.at(format="OpenDocument 电子表格(.ods)",
                                                 format_en="OpenDocument Spreadsheet (.ods)"))
        elif any(name.startswith("xl/") for name in names):
            self._add(self._missing_piece())
        else:
            self.kind = "not-a-workbook"
            zh, en = self._zip_lookalike()
            self._add(NOT_A_WORKBOOK.at(looks_like=zh, looks_like_en=en))

    def _missing_piece(self) -> Finding:
        """What keeps a zip with an xl/ folder from being a workbook openpyxl can open."""
        if _CONTENT_TYPES_PART not in self.infos:
            return _missing_part(_CONTENT_TYPES_PART)
        if _DEFAULT_WORKBOOK_PART not in self.infos:
            return _missing_part(_DEFAULT_WORKBOOK_PART)
        return MISSING_WORKBOOK_PART.at(part="“[Content_Types].xml”中的工作簿声明",
                                        part_en="the workbook entry of '[Content_Types].xml'")

    def _zip_lookalike(self) -> tuple[str, str]:
        names = self.infos.keys()
        if "word/document.xml" in names:
            return "Word 文档(.docx)", "a Word document (.docx)"
        if "ppt/presentation.xml" in names:
            return "PowerPoint 演示文稿(.pptx)", "a PowerPoint presentation (.pptx)"
        if "mimetype" in names:
            return "OpenDocument 文档", "an OpenDocument file"
        if not names:
            return "空的 ZIP 压缩包", "an empty ZIP archive"
        return "ZIP 压缩包（如果表格在压缩包里，请解压后单独提交 .xlsx）", "a ZIP archive (unzip it and submit the .xlsx)"

    def _odf_mimetype(self) -> str:
        return self._read_head("mimetype")[:256].decode("ascii", errors="replace").strip()

    # ---- workbook, relationships, external links

    def _read_workbook(self, part: str) -> _WorkbookPart | None:
        root = self._parse_xml(part)
        if _namespace(root.tag) == STRICT_SPREADSHEETML_NS:
            self.kind = "strict-ooxml"
            self._add(STRICT_OOXML.at())
            return None
        sheets, external_ids, defined_names = [], [], []
        for element in root.iter():
            name = _local(element.tag)
            if name == "sheet":
                sheets.append((element.get("name") or "", _relationship_id(element)))
            elif name == "externalReference":
                external_ids.append(_relationship_id(element))
            elif name == "definedName" and element.text and "[" in element.text:
                defined_names.append(element.text)
        return _WorkbookPart(sheets, external_ids, defined_names)

    def _read_relationships(self, source_part: str, required: bool = False) -> dict[str, _Relationship]:
        rels_part = posixpath.join(posixpath.dirname(source_part), "_rels",
                                   posixpath.basename(source_part) + ".rels")
        if rels_part not in self.infos:
            if required:   # openpyxl cannot find the sheets without it
                raise _Rejected(_missing_part(rels_part))
            return {}
        relationships = {}
        for element in self._parse_xml(rels_part):
            if _local(element.tag) != "Relationship":
                continue
            target = element.get("Target") or ""
            external = element.get("TargetMode") == "External"
            relationships[element.get("Id") or ""] = _Relationship(
                type=element.get("Type") or "", external=external,
                target=target if external else _resolve_target(source_part, target))
        return relationships

    def _sheet_parts(self, workbook: _WorkbookPart,
                     relationships: dict[str, _Relationship]) -> list[tuple[str, str]]:
        """(worksheet name, part name) for every worksheet; a missing part is reported here.
        A list, not a dict: two sheets given one name must both be scanned."""
        parts = []
        for sheet_name, rel_id in workbook.sheets:
            relationship = relationships.get(rel_id)
            if relationship is None or relationship.target not in self.infos:
                self._add(_missing_part(relationship.target if relationship else None, sheet=sheet_name))
            elif "chartsheet" not in relationship.type:      # openpyxl's own test
                parts.append((sheet_name, relationship.target))
        return parts

    def _collect_external_links(self, workbook: _WorkbookPart,
                                relationships: dict[str, _Relationship]) -> list[str]:
        """Note every file the workbook links to; return the target behind [1], [2], ..."""
        for relationship in relationships.values():
            if relationship.external and not relationship.type.endswith("/hyperlink"):
                self._note_external([relationship.target])
        referenced = [relationships[rel_id].target for rel_id in workbook.external_reference_ids
                      if rel_id in relationships]
        stray = sorted(name for name in self.infos
                       if _EXTERNAL_LINK_PART.match(name) and name not in referenced)
        targets_by_part = {}
        for part in referenced + stray:
            if part in self.infos:
                targets_by_part[part] = self._external_link_targets(part)
                self._note_external(targets_by_part[part])
        return [(targets_by_part.get(part) or [f"[{index}]"])[0]
                for index, part in enumerate(referenced, start=1)]

    def _external_link_targets(self, part: str) -> list[str]:
        root = self._parse_xml(part)
        relationships = self._read_relationships(part)
        targets = []
        for element in root.iter():
            name = _local(element.tag)
            if name in ("externalBook", "oleLink"):
                relationship = relationships.get(_relationship_id(element))
                targets.append(relationship.target if relationship else part)
            elif name == "ddeLink":
                targets.append(f"DDE {element.get('ddeService', '')}|{element.get('ddeTopic', '')}")
        return targets or [part]

    def _note_external(self, targets: list[str]) -> None:
        for target in targets:
            if target not in self.external_refs:
                self.external_refs.append(target)

    def _report_external_links(self) -> None:
        if self.external_refs:
            self._add(EXTERNAL_LINK.at(count=len(self.external_refs),
                                       targets=self.external_refs[:_MAX_TARGETS_SHOWN]))

    # ---- XML safety

    def _other_xml_prologs_are_clean(self, exclude: set[str]) -> bool:
        """Any DOCTYPE in any XML part is hostile, even in parts this module never parses:
        openpyxl parses most of them. Reading each part's first 4 KB settles it."""
        clean = True
        for part in self.infos:
            if part in exclude or part in self._xml_checked or not part.lower().endswith(_XML_PART_SUFFIXES):
                continue
            if self._declares_dtd(part, self._read_head(part)):
                self._add(XML_ENTITY.at(part=part))
                clean = False
            self._xml_checked.add(part)
        return clean

    def _declares_dtd(self, part: str, head: bytes) -> bool:
        verdict = _prolog_declares_dtd(head) if _ascii_compatible(head) else None
        if verdict is None:     # unusual encoding or a very long prolog: let the parser decide
            verdict = self._stream_declares_dtd(part)
        return verdict

    def _stream_declares_dtd(self, part: str) -> bool:
        with self._reading(part), self.archive.open(part) as stream:
            try:
                for _event, _element in SafeET.iterparse(stream, events=("start",), forbid_dtd=True):
                    return False    # the root element came first: no DTD is possible after it
            except DefusedXmlException:
                return True
            except ParseError:
                return False        # every parser stops at this error, before any later DTD
        return False

    def _parse_xml(self, part: str) -> Element:
        data = self._read_part(part, limit=min(self.limits.max_entry_bytes, _METADATA_PART_LIMIT))
        self._xml_checked.add(part)
        try:
            return SafeET.fromstring(data, forbid_dtd=True)
        except DefusedXmlException:
            raise _Rejected(XML_ENTITY.at(part=part)) from None
        except ParseError:
            raise _Rejected(XML_MALFORMED.at(part=part, reason="不是有效的 XML",
                                             reason_en="not well-formed XML")) from None

    # ---- bounded reads

    def _read_part(self, part: str, limit: int) -> bytes:
        """The whole part, but never more than limit + 1 bytes whatever its header claims."""
        info = self.infos[part]
        if info.file_size > limit:
            raise _Rejected(ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=_mb(info.file_size), limit_mb=_mb(limit)))
        with self._reading(part), self.archive.open(info) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise _Rejected(ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=f">{_mb(limit)}", limit_mb=_mb(limit)))
        return data

    def _read_head(self, part: str) -> bytes:
        with self._reading(part), self.archive.open(part) as stream:
            return stream.read(_HEAD_BYTES)

    @staticmethod
    @contextmanager
    def _reading(part: str) -> Iterator[None]:
        """Turn any way a damaged member can fail to read into a `zip-corrupt` finding."""
        try:
            yield
        except _MEMBER_READ_ERRORS as exc:
            raise _Rejected(ZIP_CORRUPT.at(part=part, reason=str(exc) or type(exc).__name__)) from exc

    # ---- sheets

    def _scan_sheet(self, sheet_name: str, part: str, link_targets: list[str]) -> None:
        scan = _SheetScan(self.limits)
        with self._reading(part), self.archive.open(part) as stream:
            head = stream.read(_CHUNK_BYTES)
            if not self._sheet_head_is_scannable(sheet_name, part, head):
                return
            scan.feed(head)
            while not scan.stopped and (chunk := stream.read(_CHUNK_BYTES)):
                scan.feed(chunk)
            scan.finish()
        if scan.problem:
            zh, en = scan.problem
            self._add(XML_MALFORMED.at(sheet=sheet_name, part=part, reason=zh, reason_en=en))
        elif scan.too_large:
            self._add(SHEET_TOO_LARGE.at(sheet=sheet_name, **scan.extent_args()))
        for formula in scan.formulas:
            self._note_external(_external_targets_in_formula(formula, link_targets))

    def _sheet_head_is_scannable(self, sheet_name: str, part: str, head: bytes) -> bool:
        """The body scan reads bytes as ASCII markup; refuse sheets where that would lie."""
        if not _ascii_compatible(head):
            if self._stream_declares_dtd(part):
                raise _Rejected(XML_ENTITY.at(sheet=sheet_name, part=part))
            self._add(XML_MALFORMED.at(sheet=sheet_name, part=part, reason="使用了非常规的文字编码或不是 XML",
                                       reason_en="unusual text encoding, or not XML"))
            return False
        if self._declares_dtd(part, head):
            raise _Rejected(XML_ENTITY.at(sheet=sheet_name, part=part))
        return True

    # ---- warnings

    def _check_macros(self) -> None:
        has_vba = any(posixpath.basename(name).lower() == "vbaproject.bin" for name in self.infos)
        has_macro_sheets = any(name.startswith("xl/macrosheets/") for name in self.infos)
        if has_vba or has_macro_sheets or self.kind in ("xlsm", "xltm"):
            self._add(MACRO_ENABLED.at())

    def _check_extension(self) -> None:
        expected = "." + self.kind
        suffix = self.path.suffix.lower()
        if suffix != expected:
            self._add(WRONG_EXTENSION.at(ext=suffix or "（无）", actual=expected))

# --------------------------------------------------------------------------- sheet scan

# Start-tag pieces. Attributes may hold '>' inside quotes, never '<' (not even in values).
# Any namespace prefix: NCNames may be non-ASCII (UTF-8 bytes), so no \w here.
_PREFIX = rb"(?:[^\s<>/:=\"'!?]+:)?"
_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*)"""
_ROW_OR_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])" + _ATTRS)
_PREFIXED_ROW_OR_CELL = re.compile(rb":(?:row|c)[\s/>]")
# What Excel, WPS, LibreOffice, openpyxl and xlsxwriter all write: r="" first, plain digits.
_CANONICAL_ROW = re.compile(rb'<row r="([1-9]\d{0,6})"')
_CANONICAL_CELL = re.compile(rb'<c r="([A-Z]{1,3})[1-9]\d{0,6}"')
_SHEET_DATA_START = re.compile(rb"<" + _PREFIX + rb"sheetData[\s/>]")
_DIMENSION_TAG = re.compile(rb"<" + _PREFIX + rb"dimension(?=[\s/>])" + _ATTRS)
_FORMULA = re.compile(rb"<" + _PREFIX + rb"f(?=[\s/>])" + _ATTRS + rb">([^<]*)")
_UNDROPPABLE_TAG = re.compile(rb"<" + _PREFIX + rb"(?:row|c|dimension)[\s/>]")
_ATTRIBUTE = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RANGE_CORNER = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,9})")
_CELL_COORDINATE = re.compile(r"([A-Za-z]{1,3})(\d.*)", re.S)


@dataclass(frozen=True)
class _OutlierPatterns:
    """Find the first row or cell tag that is not canonical or lies beyond the limits.

    A block where neither matches needs no per-tag work: every row and cell in it has an
    explicit, in-limit r="" that openpyxl will use as is. Both patterns start with a
    literal ('<c', '<row'), which the regex engine scans for at C speed.
    """
    cell: re.Pattern[bytes]
    row: re.Pattern[bytes]


@lru_cache(maxsize=8)
def _outlier_patterns(max_rows: int, max_cols: int) -> _OutlierPatterns:
    row_ok = _decimal_not_above(max_rows).encode()
    col_ok = _letters_not_above(max_cols).encode()
    return _OutlierPatterns(
        cell=re.compile(rb'<c(?=[\s/>])(?! r="' + col_ok + row_ok + rb'"[\s/>])'),
        row=re.compile(rb'<row(?=[\s/>])(?! r="' + row_ok + rb'"[\s/>])'))


def _decimal_not_above(limit: int) -> str:
    """Regex for 1..limit written without leading zeros."""
    digits = str(max(limit, 1))
    options = [r"[1-9]\d{0,%d}" % (len(digits) - 2)] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 else 0
        if int(digit) > lowest:
            options.append(digits[:i] + f"[{lowest}-{int(digit) - 1}]" + r"\d" * (len(digits) - i - 1))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


def _letters_not_above(limit: int) -> str:
    """Regex for column letters A..(column `limit`). Shorter names are always smaller, and
    names of equal length compare alphabetically, so this mirrors _decimal_not_above."""
    letters = _column_letter(max(limit, 1))
    options = [r"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, letter in enumerate(letters):
        if letter > "A":
            options.append(letters[:i] + f"[A-{chr(ord(letter) - 1)}]" + "[A-Z]" * (len(letters) - i - 1))
    options.append(letters)
    return "(?:" + "|".join(options) + ")"


class _SheetScan:
    """Streams one sheet part and keeps only what the guard needs, in bounded memory:
    the declared <dimension>, whether any row or cell lies beyond the limits, and the
    formulas that contain '[' (the only ones that can name another file).

    Rows and cells are numbered the way openpyxl numbers them: an explicit r="" wins, a
    row without one follows the previous row, a cell without one follows the previous
    cell of its row. Each chunk is cut at its last '<'; since '<' cannot occur inside a
    tag, every tag before the cut is complete, and so is formula text running up to it.
    A block whose tags are all canonical and in limits costs three C-speed searches;
    any other block is walked tag by tag.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.outliers = _outlier_patterns(limits.max_rows, limits.max_cols)
        self.max_row = self.max_col = 0
        self.row_tags = self.cell_tags = 0      # counted only in blocks walked tag by tag
        self.formulas: dict[str, None] = {}     # an ordered set
        self.problem: tuple[str, str] | None = None
        self.too_large = False
        self._extent: tuple[int, int, str] = (0, 0, "")
        self._row_counter = self._col_counter = 0
        self._before_sheet_data = True
        self._carry = b""

    @property
    def stopped(self) -> bool:
        return self.too_large or self.problem is not None

    def feed(self, chunk: bytes) -> None:
        buffer = self._carry + chunk
        cut = buffer.rfind(b"<")
        if cut == -1:           # all text: no tag can start in it
            self._carry = b""
            return
        self._scan_block(buffer[:cut])
        self._carry = buffer[cut:]
        if len(self._carry) > _MAX_TAG_BYTES:
            self._drop_carry()

    def finish(self) -> None:
        if not self.stopped:
            self._scan_block(self._carry)
        self._carry = b""

    def extent_args(self) -> dict[str, object]:
        rows, cols, extent = self._extent
        return dict(rows=rows, cols=cols, extent=extent,
                    max_rows=self.limits.max_rows, max_cols=self.limits.max_cols)

    def _drop_carry(self) -> None:
        # Huge text (a long value or formula) can be dropped: it holds no tag. A row, cell
        # or dimension tag this long cannot be read in bounded memory and no writer makes one.
        if _UNDROPPABLE_TAG.match(self._carry):
            self.problem = ("有异常超长的标签", "an oversized tag")
        self._carry = b""

    def _scan_block(self, block: bytes) -> None:
        if self._before_sheet_data:
            self._look_for_dimension(block)
            if self.stopped:
                return
        if (self.outliers.cell.search(block) or self.outliers.row.search(block)
                or _PREFIXED_ROW_OR_CELL.search(block)):
            self._take_tag_by_tag(block)
        else:
            self._follow_canonical(block)
        if not self.stopped and b"[" in block:
            self._collect_formulas(block)

    def _look_for_dimension(self, block: bytes) -> None:
        """Like openpyxl's read-only mode: the first <dimension> before <sheetData> counts."""
        sheet_data = _SHEET_DATA_START.search(block)
        region = block[:sheet_data.start()] if sheet_data else block
        tag = _DIMENSION_TAG.search(region)
        ref = _attribute(tag.group(1), b"ref") if tag else None
        if ref:
            rows, cols = _range_extent(ref)
            if rows > self.limits.max_rows or cols > self.limits.max_cols:
                self.too_large = True
                self._extent = (rows, cols, ref)
            self._before_sheet_data = False     # only the first dimension counts
        if sheet_data:
            self._before_sheet_data = False

    def _follow_canonical(self, block: bytes) -> None:
        """Every tag here is canonical and in limits: only carry openpyxl's counters
        forward (for implicit tags in later blocks) and the extent seen so far."""
        last_row_at = block.rfind(b'<row r="')
        last_cell_at = block.rfind(b'<c r="')
        row = _CANONICAL_ROW.match(block, last_row_at) if last_row_at >= 0 else None
        cell = _CANONICAL_CELL.match(block, last_cell_at) if last_cell_at >= 0 else None
        if row:
            self._row_counter = int(row.group(1))
            self._col_counter = 0
        if cell and last_cell_at > last_row_at:
            self._col_counter = _column_index(cell.group(1))
        self.max_row = max(self.max_row, self._row_counter)
        self.max_col = max(self.max_col, self._col_counter)

    def _take_tag_by_tag(self, block: bytes) -> None:
        for tag in _ROW_OR_CELL_TAG.finditer(block):
            ref = _attribute(tag.group(2), b"r")
            if tag.group(1) == b"row":
                self._take_row(ref)
            else:
                self._take_cell(ref)
            self._check_limits()
            if self.stopped:
                return

    def _take_row(self, ref: str | None) -> None:
        self.row_tags += 1
        if ref is None:
            self._row_counter += 1
        else:
            number = _row_number(ref)
            if number is None:
                self.problem = (f"行号“{ref[:40]}”无效", f"invalid row number '{ref[:40]}'")
                return
            self._row_counter = number
        self._col_counter = 0
        self.max_row = max(self.max_row, self._row_counter)

    def _take_cell(self, ref: str | None) -> None:
        self.cell_tags += 1
        if ref is None:
            self._col_counter += 1
            row, col = self._row_counter, self._col_counter
        else:
            coordinate = _cell_coordinate(ref)
            if coordinate is None:
                self.problem = (f"单元格地址“{ref[:40]}”无效", f"invalid cell reference '{ref[:40]}'")
                return
            row, col = coordinate
            self._col_counter = col
        self.max_row = max(self.max_row, row)
        self.max_col = max(self.max_col, col)

    def _check_limits(self) -> None:
        # The tag counts bound the tag-by-tag walk itself: a hostile part could repeat one
        # in-limit cell millions of times.
        limits = self.limits
        if not (self.max_row > limits.max_rows or self.max_col > limits.max_cols
                or self.row_tags > limits.max_rows
                or self.cell_tags > limits.max_rows * limits.max_cols):
            return
        self.too_large = True
        rows, cols = max(self.max_row, self.row_tags), self.max_col
        self._extent = (rows, cols, f"A1:{_column_letter(max(cols, 1))}{max(rows, 1)}")

    def _collect_formulas(self, block: bytes) -> None:
        for _attrs, text in _FORMULA.findall(block):
            if b"[" in text and len(self.formulas) < _MAX_FORMULAS_KEPT:
                formula = html.unescape(text[:4 * _MAX_FORMULA_CHARS].decode("utf-8", errors="replace"))
                self.formulas[formula[:_MAX_FORMULA_CHARS]] = None


def _attribute(attrs: bytes, name: bytes) -> str | None:
    """Attribute `name` as an XML parser reports it (character references decoded).
    Attributes are tokenised left to right, so r="..." quoted inside another value is
    not mistaken for the real one."""
    for match in _ATTRIBUTE.finditer(attrs):
        if match.group(1) == name:
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            return html.unescape(raw.decode("utf-8", errors="replace"))
    return None


def _row_number(text: str) -> int | None:
    """A row r="" as openpyxl reads it: an int, else an integral float; None if invalid."""
    number = _int_or_none(text)
    if number is not None:
        return number
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None     # inf and nan are not integral


def _cell_coordinate(text: str) -> tuple[int, int] | None:
    """A cell r="" as openpyxl reads it: 1-3 letters, then the row; (row, column)."""
    match = _CELL_COORDINATE.fullmatch(text)
    row = _int_or_none(match.group(2)) if match else None
    if row is None:
        return None
    return row, _column_index(match.group(1))


def _int_or_none(text: str) -> int | None:
    if len(text) > 32:      # also keeps int() clear of its 4300-digit limit
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _range_extent(ref: str) -> tuple[int, int]:
    """(last row, last column) named by a range such as 'A1:XFD1048576'."""
    corners = _RANGE_CORNER.findall(ref)
    if not corners:
        return 0, 0
    return max(int(digits) for _, digits in corners), max(_column_index(letters) for letters, _ in corners)


def _column_index(letters: bytes | str) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def _column_letter(index: int) -> str:
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --------------------------------------------------------------------------- formulas

# A workbook named in a formula: 'C:\dir\[book.xlsx]Sheet'!A1, '\\server\[b.xls]S'!A1, [b.xlsx]S!A1
_FILE_IN_FORMULA = re.compile(
    r"((?:[A-Za-z]:[\\/]|\\\\|/|https?://|file:/+)[^'\[\]!]*)?\[([^\[\]]+\.(?:xl[a-z]{1,2}|et|ett|csv))\]",
    re.IGNORECASE)
# Excel's own form, [1]Sheet1!A1, indexing <externalReferences>. Not a table reference:
# Table1[1] follows a name, and a nested [[#This Row],[1]] is followed by ']'.
_LINK_INDEX_IN_FORMULA = re.compile(r"(?<![\w\].])\[(\d{1,6})\](?=[^\]\s,:;)])")
_STRING_LITERAL = re.compile(r'"[^"]*"')


def _external_targets_in_formula(formula: str, link_targets: list[str]) -> list[str]:
    formula = _STRING_LITERAL.sub('""', formula)      # "[1]" inside a string is just text
    targets = [prefix + name for prefix, name in _FILE_IN_FORMULA.findall(formula)]
    for index in map(int, _LINK_INDEX_IN_FORMULA.findall(formula)):
        targets.append(link_targets[index - 1] if 1 <= index <= len(link_targets) else f"[{index}]")
    return targets


# --------------------------------------------------------------------------- XML prolog

_XML_DECLARATION = re.compile(rb"<\?xml[ \t\r\n][^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z0-9._\-]+)["']""")
_PROLOG_MISC = re.compile(rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_MARKUP_PROBE = "<?xml!DOCTYPE ENTITY -:/=\"'>[]&#;rowcfdimensionsheetData0123456789"


def _ascii_compatible(head: bytes) -> bool:
    """True when markup is plain ASCII bytes, so byte regexes see what expat sees.
    UTF-16 (BOM or NULs) and declared encodings such as EBCDIC cp037 are not."""
    body = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head
    if b"\x00" in body[:256] or not body.lstrip(b" \t\r\n").startswith(b"<"):
        return False
    declaration = _XML_DECLARATION.match(body)
    encoding = _DECLARED_ENCODING.search(declaration.group()) if declaration else None
    return encoding is None or _is_ascii_superset(encoding.group(1).decode("ascii"))


def _is_ascii_superset(encoding: str) -> bool:
    try:
        return _MARKUP_PROBE.encode(encoding) == _MARKUP_PROBE.encode("ascii")
    except (LookupError, UnicodeError):
        return False


def _prolog_declares_dtd(head: bytes) -> bool | None:
    """Whether a DOCTYPE comes before the root element; None when the head cannot tell
    (the prolog runs past it, or it is not XML at all)."""
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    rest = head[_PROLOG_MISC.match(head, start).end():]
    if rest.startswith(b"<!DOCTYPE"):
        return True
    if rest[:1] == b"<" and rest[1:2] not in (b"", b"!", b"?"):
        return False
    return None


# --------------------------------------------------------------------------- small helpers

def describe_file_type(mode: int) -> tuple[str, str]:
    if stat.S_ISDIR(mode):
        return "文件夹", "a folder"
    if stat.S_ISFIFO(mode):
        return "命名管道", "a named pipe"
    if stat.S_ISSOCK(mode):
        return "套接字", "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件", "a device"
    return "特殊文件", "a special file"


def _missing_part(part: str | None, sheet: str | None = None) -> Finding:
    if part is None:
        return MISSING_WORKBOOK_PART.at(sheet=sheet, part=f"工作表“{sheet}”的内容",
                                        part_en=f"the content of sheet '{sheet}'")
    return MISSING_WORKBOOK_PART.at(sheet=sheet, part=f"“{part}”", part_en=f"'{part}'")


def _resolve_target(source_part: str, target: str) -> str:
    """A relationship target as a part name, resolved the way openpyxl resolves it."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _relationship_id(element: Element) -> str:
    return next((value for key, value in element.attrib.items() if key.endswith("}id")), "")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _mb(size: int) -> str:
    return f"{size / _MB:.1f}"


def _result(kind: str, findings: list[Finding], external_refs: list[str] = ()) -> GuardResult:
    ordered = sorted(findings, key=sort_key)
    return GuardResult(kind=kind, findings=ordered, parseable=not any(f.is_error for f in ordered),
                       external_refs=list(external_refs))
