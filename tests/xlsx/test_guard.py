"""Tests for xltool.guard: every hostile file is built from scratch in tmp_path."""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.make_corpus import ole2_container  # the synthetic OLE2 containers, built one way for both
from xltool.findings import ERROR, INFO, WARNING, Code
from xltool.ingest.walk import skip_reason
from xltool.xlsx.guard import GuardResult, Limits, check_defusedxml_available, inspect_file
from xltool.xlsx.guard import codes as guard_codes
from xltool.xlsx.guard import inspect as guard_entry
from xltool.xlsx.guard.links import external_targets_in_formula

SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
CONTENT_TYPES = "[Content_Types].xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --------------------------------------------------------------------------- builders

def make_workbook(path: Path, rows: int = 20, sheet_name: str = "填报表", vba: bytes | None = None,
                  extra=None) -> Path:
    """A plain form as an agency would return it, written by xlsxwriter."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet(sheet_name)
    sheet.write_row(0, 0, ["单位", "项目", "金额", "备注"])
    for r in range(1, rows):
        sheet.write_row(r, 0, [f"单位{r}", f"项目{r}", r * 10.5, ""])
    sheet.write_formula(rows, 2, f"=SUM(C2:C{rows})")
    if extra:
        extra(workbook, sheet)
    if vba is not None:
        vba_path = path.parent / "vbaProject.bin"
        vba_path.write_bytes(vba)
        workbook.add_vba_project(str(vba_path))
    workbook.close()
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(path: Path, parts: dict[str, bytes] | list[tuple[str, bytes]],
              compression: int = zipfile.ZIP_DEFLATED) -> Path:
    items = parts.items() if isinstance(parts, dict) else parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # zipfile warns about the duplicate names we plant
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def rewrite(src: Path, dst: Path, **replacements: bytes | None) -> Path:
    """Copy of the workbook at src with some parts replaced (bytes) or removed (None).
    Keyword names use the part path with '/' and '.' spelled as in PARTS below."""
    parts = members(src)
    for key, data in replacements.items():
        name = PARTS[key]
        if data is None:
            parts.pop(name, None)
        else:
            parts[name] = data
    return write_zip(dst, parts)


PARTS = {"sheet": SHEET, "workbook": WORKBOOK, "workbook_rels": WORKBOOK_RELS,
         "content_types": CONTENT_TYPES, "shared_strings": "xl/sharedStrings.xml"}


def codes(result: GuardResult) -> list[str]:
    return [finding.code for finding in result.findings]


def assert_result(result: GuardResult, kind: str, parseable: bool, expected_codes: list[str]) -> None:
    assert (result.kind, result.parseable, codes(result)) == (kind, parseable, expected_codes), result
    for finding in result.findings:     # every placeholder was filled, in both languages
        assert "{" not in finding.message and "{" not in finding.message_en, finding


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return make_workbook(tmp_path / "good.xlsx")


# --------------------------------------------------------------------------- the good case

def test_good_workbook_passes_with_no_findings(good: Path) -> None:
    result = inspect_file(good)
    assert_result(result, "xlsx", True, [])
    assert result.external_refs == []


def test_good_workbook_is_cheap_to_inspect(tmp_path: Path) -> None:
    # ~30 KB on disk, ~150 KB of sheet XML. The target is < 2 ms; the bound here only
    # catches regressions such as parsing every part in full (which costs ~10x more).
    path = make_workbook(tmp_path / "form.xlsx", rows=1200)
    assert 20_000 < path.stat().st_size < 60_000
    inspect_file(path)
    best = min(_timed(lambda: inspect_file(path)) for _ in range(20))
    assert best < 0.010, f"{best * 1000:.2f} ms"


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def test_openpyxl_reads_what_the_guard_passes(good: Path) -> None:
    import openpyxl
    assert inspect_file(good).parseable
    with good.open("rb") as fh:
        sheet = openpyxl.load_workbook(fh, read_only=True)["填报表"]
        assert sheet.max_row == 21


# --------------------------------------------------------------------------- file level

def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert_result(inspect_file(path), "empty", False, ["file-empty"])


def test_file_too_large_is_not_read(good: Path) -> None:
    result = inspect_file(good, Limits(max_file_bytes=1000))
    assert_result(result, "too-large", False, ["file-too-large"])


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    assert_result(inspect_file(tmp_path / "gone.xlsx"), "unreadable", False, ["file-unreadable"])


@pytest.mark.parametrize("content, looks_like_en", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40), "PNG"),
    ("单位,项目,金额\n教育局,校舍维修,1200\n".encode(), "CSV"),
    ("单位,项目,金额\n教育局,校舍维修,1200\n".encode("gbk"), "CSV"),
    ("\ufeff单位\t项目\n".encode("utf-16-le"), "CSV"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "HTML"),
    (b"MZ\x90\x00\x03" + bytes(100), "Windows program"),
    (bytes(range(256)) * 4, "binary"),
], ids=["pdf", "png", "csv-utf8", "csv-gbk", "utf16-text", "html", "exe", "binary"])
def test_renamed_files_are_identified_by_content(tmp_path: Path, content: bytes, looks_like_en: str) -> None:
    path = tmp_path / "return.xlsx"
    path.write_bytes(content)
    result = inspect_file(path)
    assert_result(result, "not-a-workbook", False, ["not-a-workbook"])
    assert looks_like_en in result.findings[0].args["looks_like_en"]


def test_docx_renamed_xlsx_is_not_a_workbook(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "report.xlsx", {
        CONTENT_TYPES: b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                       b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                       b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "word/document.xml": b"<w:document/>"})
    result = inspect_file(path)
    assert_result(result, "not-a-workbook", False, ["not-a-workbook"])
    assert "Word" in result.findings[0].args["looks_like_en"]


def test_plain_zip_is_not_a_workbook(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "returns.xlsx", {"填报表.xlsx": b"PK..."})
    result = inspect_file(path)
    assert_result(result, "not-a-workbook", False, ["not-a-workbook"])
    assert "ZIP" in result.findings[0].args["looks_like_en"]


@pytest.mark.parametrize("build, kind", [
    (lambda: write_zip_bytes({CONTENT_TYPES: b"<Types/>", "xl/workbook.bin": b"\x83\x01"}), "xlsb"),
    (lambda: write_zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                              "content.xml": b"<office:document-content/>"}), "ods"),
    (lambda: b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
             b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "spreadsheetml-2003"),
], ids=["xlsb", "ods", "excel-2003-xml"])
def test_other_spreadsheet_formats_are_told_to_save_as_xlsx(tmp_path: Path, build, kind: str) -> None:
    path = tmp_path / "return.xlsx"
    path.write_bytes(build())
    result = inspect_file(path)
    assert_result(result, kind, False, ["unsupported-spreadsheet"])
    assert "xlsx" in result.findings[0].message


def write_zip_bytes(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_xlsx_with_xls_extension_is_read_with_a_warning(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "return.xls")
    result = inspect_file(path)
    assert_result(result, "xlsx", True, ["wrong-extension"])
    assert result.findings[0].severity == WARNING
    assert result.findings[0].args == {"ext": ".xls", "actual": ".xlsx"}


def test_a_fifo_is_not_opened_for_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "trap.xlsx"
    os.mkfifo(fifo)
    outcome: list[GuardResult] = []
    worker = threading.Thread(target=lambda: outcome.append(inspect_file(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert outcome, "inspect_file hung on a FIFO"
    assert_result(outcome[0], "not-a-file", False, ["skipped-not-regular-file"])


# --------------------------------------------------------------------------- OLE2

def test_password_protected_workbook_is_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_bytes(ole2_container(["EncryptionInfo", "EncryptedPackage"]))
    result = inspect_file(path)
    assert_result(result, "ole-encrypted", False, ["encrypted"])
    assert "密码" in result.findings[0].message


@pytest.mark.parametrize("name, kind", [("return.xls", "xls"), ("return.xlsx", "xls"), ("return.et", "et")])
def test_legacy_binary_workbook(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(ole2_container(["Workbook", "\x05SummaryInformation"]))
    result = inspect_file(path)
    assert_result(result, kind, False, ["legacy-xls"])
    assert ".xlsx" in result.findings[0].message


def test_encryptedpackage_text_inside_a_stream_is_not_a_directory_entry(tmp_path: Path) -> None:
    # An .xls whose cell text happens to contain the UTF-16 name, at an unaligned offset.
    data = b"\x00" * 37 + "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
    path = tmp_path / "return.xls"
    path.write_bytes(ole2_container(["Workbook"], data_sector=data))
    assert_result(inspect_file(path), "xls", False, ["legacy-xls"])


def test_word_97_document_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "return.xls"
    path.write_bytes(ole2_container(["WordDocument", "1Table"]))
    result = inspect_file(path)
    assert_result(result, "not-a-workbook", False, ["not-a-workbook"])
    assert "Word" in result.findings[0].args["looks_like_en"]


# --------------------------------------------------------------------------- zip container

def test_truncated_zip(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert_result(inspect_file(path), "zip", False, ["zip-truncated"])


def test_too_many_entries(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.xlsx", {f"xl/media/{i}.bin": b"" for i in range(2001)})
    result = inspect_file(path)
    assert_result(result, "zip", False, ["zip-too-many-entries"])


def test_entry_too_large(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "big.xlsx")
    parts = members(path)
    parts["xl/media/image1.png"] = os.urandom(300_000)
    write_zip(path, parts)
    result = inspect_file(path, Limits(max_entry_bytes=200_000))
    assert_result(result, "zip", False, ["zip-entry-too-large"])
    assert result.findings[0].args["part"] == "xl/media/image1.png"


def test_total_too_large(good: Path) -> None:
    result = inspect_file(good, Limits(max_total_bytes=5_000))
    assert_result(result, "zip", False, ["zip-total-too-large"])


def test_zip_bomb_is_refused_without_inflating_it(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("xl/media/image1.png", "w") as bomb:
            for _ in range(100):
                bomb.write(bytes(1024 * 1024))          # 100 MB of zeros, ~100 KB compressed
    assert path.stat().st_size < 1024 * 1024
    result, peak = _with_peak_memory(lambda: inspect_file(path))
    assert_result(result, "zip", False, ["zip-bomb"])
    assert peak < 50 * 1024 * 1024


def test_lying_size_header_cannot_blow_memory(good: Path, tmp_path: Path) -> None:
    # The sheet really inflates to 100 MB but its headers claim 1,000 bytes: every
    # size check passes, so this exercises the bounded, streamed reads themselves.
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == SHEET:
                with dst.open(SHEET, "w") as sheet:
                    for _ in range(100):
                        sheet.write(b"<" * (1024 * 1024))
            else:
                dst.writestr(info, src.read(info))
    _patch_declared_size(path, SHEET, 1000)
    result, peak = _with_peak_memory(lambda: inspect_file(path))
    assert_result(result, "xlsx", False, ["zip-corrupt"])
    assert peak < 50 * 1024 * 1024


def _with_peak_memory(action):
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _patch_declared_size(path: Path, name: str, size: int) -> None:
    """Overwrite the uncompressed size in the member's local and central headers."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_length] == encoded:
            struct.pack_into("<I", data, central + 24, size)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
            break
        central = data.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError(f"{name} not found")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["../../evil.xlsx", "/etc/cron.d/evil", "C:/Windows/evil.dll",
                                  "xl\\..\\..\\evil.bat"])
def test_path_traversal_names_are_hostile(good: Path, tmp_path: Path, name: str) -> None:
    parts = members(good)
    parts[name] = b"x"
    path = write_zip(tmp_path / "traversal.xlsx", parts)
    result = inspect_file(path)
    assert_result(result, "zip", False, ["zip-unsafe-name"])


def test_duplicate_part_names_are_hostile(good: Path, tmp_path: Path) -> None:
    parts = list(members(good).items()) + [(SHEET.upper(), b"<worksheet/>")]
    path = write_zip(tmp_path / "dup.xlsx", parts)
    assert_result(inspect_file(path), "zip", False, ["zip-duplicate-entry"])


def test_unusual_compression_is_refused(good: Path, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bz.xlsx", members(good), compression=zipfile.ZIP_BZIP2)
    result = inspect_file(path)
    assert result.kind == "zip" and not result.parseable
    assert set(codes(result)) == {"zip-unusual-entry"}


# --------------------------------------------------------------------------- package structure

def test_missing_workbook_part(good: Path, tmp_path: Path) -> None:
    path = rewrite(good, tmp_path / "nowb.xlsx", workbook=None)
    assert_result(inspect_file(path), "xlsx", False, ["missing-workbook-part"])


def test_missing_sheet_part(good: Path, tmp_path: Path) -> None:
    path = rewrite(good, tmp_path / "nosheet.xlsx", sheet=None)
    result = inspect_file(path)
    assert_result(result, "xlsx", False, ["missing-workbook-part"])
    assert result.findings[0].sheet == "填报表"


def test_two_sheets_with_one_name_are_both_scanned(good: Path, tmp_path: Path) -> None:
    parts = members(good)
    parts["xl/worksheets/sheet2.xml"] = _sheet_xml(b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>')
    twin = '<sheet name="填报表" sheetId="2" r:id="rId99"/>'.encode()
    parts[WORKBOOK] = re.sub(rb"<sheet [^>]*/>", lambda match: twin + match.group(), parts[WORKBOOK])
    parts[WORKBOOK_RELS] = parts[WORKBOOK_RELS].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>')
    path = write_zip(tmp_path / "twins.xlsx", parts)
    assert_result(inspect_file(path), "xlsx", False, ["sheet-too-large"])


def test_workbook_not_declared_in_content_types(good: Path, tmp_path: Path) -> None:
    content_types = re.sub(rb'<Override PartName="/xl/workbook.xml"[^>]*/>', b"", members(good)[CONTENT_TYPES])
    path = rewrite(good, tmp_path / "undeclared.xlsx", content_types=content_types)
    result = inspect_file(path)
    assert_result(result, "zip", False, ["missing-workbook-part"])
    assert "工作簿声明" in result.findings[0].message


def test_strict_open_xml(good: Path, tmp_path: Path) -> None:
    workbook = members(good)[WORKBOOK].replace(MAIN_NS.encode(), b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    path = rewrite(good, tmp_path / "strict.xlsx", workbook=workbook)
    result = inspect_file(path)
    assert_result(result, "strict-ooxml", False, ["strict-ooxml"])
    assert "Strict Open XML" in result.findings[0].message


def test_malformed_workbook_xml(good: Path, tmp_path: Path) -> None:
    path = rewrite(good, tmp_path / "broken.xlsx", workbook=b"<workbook><sheets>")
    assert_result(inspect_file(path), "xlsx", False, ["xml-malformed"])


# --------------------------------------------------------------------------- XML entities

XXE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
          b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n')


def _with_doctype(xml: bytes, doctype: bytes) -> bytes:
    return doctype + xml.split(b"?>", 1)[1].lstrip()


@pytest.mark.parametrize("part", ["sheet", "shared_strings", "workbook", "content_types", "workbook_rels"])
def test_any_doctype_is_hostile(good: Path, tmp_path: Path, part: str) -> None:
    original = members(good)[PARTS[part]]
    path = rewrite(good, tmp_path / "xxe.xlsx", **{part: _with_doctype(original, XXE)})
    kind = "zip" if part == "content_types" else "xlsx"
    assert_result(inspect_file(path), kind, False, ["xml-entity"])


def test_billion_laughs_in_a_part_the_guard_does_not_parse(good: Path, tmp_path: Path) -> None:
    original = members(good)["xl/sharedStrings.xml"]
    path = rewrite(good, tmp_path / "laughs.xlsx", shared_strings=_with_doctype(original, LAUGHS))
    result = inspect_file(path)
    assert_result(result, "xlsx", False, ["xml-entity"])
    assert result.findings[0].args["part"] == "xl/sharedStrings.xml"


def test_doctype_hidden_behind_a_long_prolog(good: Path, tmp_path: Path) -> None:
    original = members(good)[SHEET]
    padded = b"<?xml version='1.0'?>" + b"<!--" + b"x" * 100_000 + b"-->" + XXE.split(b"\n", 1)[1] \
        + original.split(b"?>", 1)[1]
    path = rewrite(good, tmp_path / "padded.xlsx", sheet=padded)
    assert_result(inspect_file(path), "xlsx", False, ["xml-entity"])


def test_doctype_in_a_utf16_part(good: Path, tmp_path: Path) -> None:
    text = _with_doctype(members(good)["xl/styles.xml"], XXE).decode("utf-8")
    utf16 = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    parts = members(good)
    parts["xl/styles.xml"] = utf16
    path = write_zip(tmp_path / "utf16.xlsx", parts)
    assert_result(inspect_file(path), "xlsx", False, ["xml-entity"])


# --------------------------------------------------------------------------- sheet size

def test_declared_dimension_beyond_limits(good: Path, tmp_path: Path) -> None:
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', members(good)[SHEET])
    path = rewrite(good, tmp_path / "dim.xlsx", sheet=sheet)
    result = inspect_file(path)
    assert_result(result, "xlsx", False, ["sheet-too-large"])
    finding = result.findings[0]
    assert finding.sheet == "填报表"
    assert (finding.args["rows"], finding.args["cols"], finding.args["extent"]) == (1048576, 16384, "A1:XFD1048576")


def test_single_far_cell_behind_a_lying_dimension_is_found_fast(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "far.xlsx", extra=lambda wb, ws: ws.write(1048575, 16383, 1))
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:D21"/>', members(path)[SHEET])
    path = rewrite(path, tmp_path / "far-lying.xlsx", sheet=sheet)
    start = time.perf_counter()
    result = inspect_file(path)
    assert time.perf_counter() - start < 0.5
    assert_result(result, "xlsx", False, ["sheet-too-large"])
    assert result.findings[0].args["rows"] == 1048576


def test_rows_beyond_limit_without_a_dimension(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "tall.xlsx", rows=2100)
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', b"", members(path)[SHEET])
    path = rewrite(path, tmp_path / "tall-nodim.xlsx", sheet=sheet)
    result = inspect_file(path)
    assert_result(result, "xlsx", False, ["sheet-too-large"])
    assert result.findings[0].args["rows"] > 2000


def _sheet_xml(body: bytes, prefix: bytes = b"") -> bytes:
    colon = b":" if prefix else b""
    xmlns = b"xmlns" + colon + prefix
    return (b'<?xml version="1.0" encoding="UTF-8"?><' + prefix + colon + b"worksheet " + xmlns
            + b'="' + MAIN_NS.encode() + b'"><' + prefix + colon + b"sheetData>" + body
            + b"</" + prefix + colon + b"sheetData></" + prefix + colon + b"worksheet>")


@pytest.mark.parametrize("body, prefix", [
    (b"<row><c><v>1</v></c></row>" * 2001, b""),                               # implicit row numbers
    (b"<row r='1'>" + b"<c><v>1</v></c>" * 201 + b"</row>", b""),            # implicit columns
    (b'<x:row r="1048576"><x:c r="A1048576"><x:v>1</x:v></x:c></x:row>', b"x"),  # prefixed tags
    (b'<row r="5"><c t="n" r="XFD5"><v>1</v></c></row>', b""),                 # r not first
    (b"<row spans=' r=\"1\"' r=\"1048576\"><c r=\"A1\"><v>1</v></c></row>", b""),  # r inside another value
    (b'<row r="&#49;048576"><c><v>1</v></c></row>', b""),                      # character reference
    (b'<row r="1e6"><c><v>1</v></c></row>', b""),                              # float row, as openpyxl reads it
    ('<表:row r="3000"><表:c r="A3000"><表:v>1</表:v></表:c></表:row>'.encode(), "表".encode()),  # non-ASCII prefix
    (b'<row\tr="1048576"><c r="A1"><v>1</v></c></row>', b""),                  # tab instead of space
], ids=["implicit-rows", "implicit-cols", "prefixed", "r-not-first", "quoted-decoy", "char-ref", "float-row",
        "non-ascii-prefix", "tab"])
def test_unusual_spellings_cannot_hide_rows_or_columns(good: Path, tmp_path: Path, body: bytes, prefix: bytes) -> None:
    path = rewrite(good, tmp_path / "odd.xlsx", sheet=_sheet_xml(body, prefix))
    assert_result(inspect_file(path), "xlsx", False, ["sheet-too-large"])


def test_unusual_spellings_within_limits_pass(good: Path, tmp_path: Path) -> None:
    body = (b"<row><c><v>1</v></c><c t='n'><v>2</v></c></row>"
            b"<row r='7' spans='1:3'><c s='0' r='C7'><v>3</v></c></row>")
    path = rewrite(good, tmp_path / "odd-ok.xlsx", sheet=_sheet_xml(body))
    assert_result(inspect_file(path), "xlsx", True, [])


def test_invalid_cell_reference_is_malformed(good: Path, tmp_path: Path) -> None:
    path = rewrite(good, tmp_path / "badref.xlsx", sheet=_sheet_xml(b'<row r="1"><c r="1A"><v>1</v></c></row>'))
    result = inspect_file(path)
    assert_result(result, "xlsx", False, ["xml-malformed"])
    assert result.findings[0].sheet == "填报表"


def test_smaller_limits_apply(good: Path) -> None:
    result = inspect_file(good, Limits(max_rows=10, max_cols=200))
    assert_result(result, "xlsx", False, ["sheet-too-large"])


# --------------------------------------------------------------------------- warnings

def test_macro_enabled_workbook_is_read_with_a_warning(tmp_path: Path) -> None:
    # The VBA project is a stand-in blob: the guard only notes that one is present.
    path = make_workbook(tmp_path / "return.xlsm", vba=b"\xcc\x61" + bytes(510))
    result = inspect_file(path)
    assert_result(result, "xlsm", True, ["macro-enabled"])
    assert result.findings[0].severity == WARNING


def test_formula_naming_another_file(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "linked.xlsx", extra=lambda wb, ws: ws.write_formula(
        "F2", "='C:\\汇总\\[2024预算.xlsx]Sheet1'!A1+'\\\\server\\share\\[上报.xls]表1'!B2"))
    result = inspect_file(path)
    assert_result(result, "xlsx", True, ["external-link"])
    assert result.external_refs == ["C:\\汇总\\2024预算.xlsx", "\\\\server\\share\\上报.xls"]


def test_external_link_part_and_indexed_formula(good: Path, tmp_path: Path) -> None:
    parts = members(good)
    link_ns = b'xmlns="' + MAIN_NS.encode() + b'" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    parts["xl/externalLinks/externalLink1.xml"] = (
        b'<?xml version="1.0"?><externalLink ' + link_ns + b'><externalBook r:id="rId1">'
        b'<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>')
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLinkPath" Target="file:///C:/data/budget.xlsx" TargetMode="External"/></Relationships>')
    parts[WORKBOOK_RELS] = parts[WORKBOOK_RELS].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>')
    parts[WORKBOOK] = parts[WORKBOOK].replace(
        b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rId99"/></externalReferences>')
    parts[SHEET] = parts[SHEET].replace(b"<f>SUM(C2:C20)</f>", b"<f>SUM(C2:C20)+[1]Sheet1!$A$1</f>")
    assert b"[1]Sheet1" in parts[SHEET]
    path = write_zip(tmp_path / "linked.xlsx", parts)
    result = inspect_file(path)
    assert_result(result, "xlsx", True, ["external-link"])
    assert result.external_refs == ["file:///C:/data/budget.xlsx"]


def test_hyperlinks_and_table_references_are_not_external_links(tmp_path: Path) -> None:
    def extra(workbook, sheet):
        sheet.write_url("F1", "https://www.gov.cn/", string="政府网")
        sheet.add_table("H1:I3", {"name": "明细", "columns": [{"header": "金额"}, {"header": "合计"}]})
        sheet.write_formula("J2", "=SUM(明细[金额])")
        sheet.write_formula("J3", '=IF(A1="[1]",1,0)')
    path = make_workbook(tmp_path / "links.xlsx", extra=extra)
    result = inspect_file(path)
    assert_result(result, "xlsx", True, [])


@pytest.mark.parametrize("formula, expected", [
    ("[1]Sheet1!A1", ["book.xlsx"]),
    ("'[1]My Sheet'!A1+[2]!Total", ["book.xlsx", "[2]"]),
    ("SUM(Table1[1])", []),
    ("Table1[[#This Row],[1]]", []),
    ("Table1[[1]:[2]]", []),
    ('"see [1]x!"&A1', []),
    ("'https://example.com/share/[a.xlsx]S'!A1", ["https://example.com/share/a.xlsx"]),
    ("[rates.csv]rates!A1", ["rates.csv"]),
])
def test_external_targets_in_formula(formula: str, expected: list[str]) -> None:
    assert external_targets_in_formula(formula, ["book.xlsx"]) == expected


# --------------------------------------------------------------------------- skip_reason

def test_skip_reason(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    outside = tmp_path / "elsewhere"
    inbox.mkdir()
    outside.mkdir()
    (inbox / "区县A").mkdir()
    regular = make_workbook(inbox / "区县A" / "return.xlsx")
    (inbox / "~$return.xlsx").write_bytes(b"\x00" * 165)
    (inbox / ".DS_Store").write_bytes(b"\x00")
    (inbox / "__MACOSX").mkdir()
    (inbox / "__MACOSX" / "._return.xlsx").write_bytes(b"\x00")
    os.mkfifo(outside / "pipe.xlsx")            # would hang if the link were ever opened
    (inbox / "to-outside.xlsx").symlink_to(outside / "pipe.xlsx")
    (inbox / "to-inside.xlsx").symlink_to(regular)
    (inbox / "dangling.xlsx").symlink_to(inbox / "nothing.xlsx")
    (inbox / "dir-link").symlink_to(outside, target_is_directory=True)
    os.mkfifo(inbox / "fifo.xlsx")
    (inbox / "folder.xlsx").mkdir()

    def reason(name: str) -> tuple[str, str] | None:
        finding = skip_reason(inbox / name, inbox)
        return (finding.code, finding.severity) if finding else None

    assert reason("区县A/return.xlsx") is None
    assert reason("to-inside.xlsx") is None
    assert reason("~$return.xlsx") == ("skipped-lock-file", INFO)
    assert reason(".DS_Store") == ("skipped-hidden-file", INFO)
    assert reason("__MACOSX/._return.xlsx") == ("skipped-hidden-file", INFO)
    assert reason("to-outside.xlsx") == ("skipped-link-outside-inbox", WARNING)
    assert reason("dir-link/pipe.xlsx") == ("skipped-link-outside-inbox", WARNING)
    assert reason("dangling.xlsx") == ("skipped-not-regular-file", WARNING)
    assert reason("fifo.xlsx") == ("skipped-not-regular-file", WARNING)
    assert reason("folder.xlsx") == ("skipped-not-regular-file", WARNING)
    assert "收件目录之外" in skip_reason(inbox / "to-outside.xlsx", inbox).message


# --------------------------------------------------------------------------- defusedxml

def test_check_defusedxml_available(monkeypatch: pytest.MonkeyPatch) -> None:
    check_defusedxml_available()
    monkeypatch.setattr(guard_entry, "SafeET", None)
    with pytest.raises(RuntimeError, match="defusedxml"):
        check_defusedxml_available()


def test_check_defusedxml_requires_openpyxl_to_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError, match="OPENPYXL_DEFUSEDXML"):
        check_defusedxml_available()


# --------------------------------------------------------------------------- messages

GUARD_CODES = [code for code in Code.registry.values() if code in vars(guard_codes).values()]


@pytest.mark.parametrize("code", GUARD_CODES, ids=[code.code for code in GUARD_CODES])
def test_every_code_has_an_actionable_chinese_and_english_message(code: Code) -> None:
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", code.code)
    assert code.zh and code.en
    assert re.search(r"[\u4e00-\u9fff]", code.zh)
    if code.severity in (ERROR, WARNING):
        assert "请" in code.zh, code.code


def test_codes_are_distinct() -> None:
    assert len({code.code for code in GUARD_CODES}) == len(GUARD_CODES) >= 25


# --------------------------------------------------------------------------- robustness

@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_workbook(tmp_path_factory.mktemp("fuzz") / "good.xlsx").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_never_crash_the_guard(good_bytes: bytes, tmp_path: Path, data: st.DataObject) -> None:
    damaged = bytearray(good_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(damaged) // 2, len(damaged)))
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(bytes(damaged[:cut]))
    result = inspect_file(path)
    assert isinstance(result, GuardResult)
    assert result.parseable == (not any(f.is_error for f in result.findings))
