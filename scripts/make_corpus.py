"""Build a corpus of bad returned files (hostile containers, wrong formats, tampered forms) for `xltool ingest`.

Usage:  python scripts/make_corpus.py OUTDIR

OUTDIR becomes an inbox: one file per kind of bad file (plus a few good controls), and
OUTDIR/expected.json mapping each relative path to what `xltool ingest OUTDIR` must say:

    {"<relative path>": {"kind": "...", "status": "accepted|rejected|skipped",
                         "codes": [finding codes that must appear], "why": "...",
                         "known_defect": "..."   # only where xltool is wrong today (see the report)
                         }}

Every file is built from scratch, small on disk (the size-cap file is sparse; the bombs are
a few hundred KB), deterministic in content apart from zip timestamps. The real .xls/.et
are converted by LibreOffice when `soffice` exists, else synthetic OLE2 containers are
written; a real password-encrypted workbook is made with msoffcrypto-tool when it is
importable, else a synthetic EncryptedPackage container. Neither changes what is expected.
expected.json itself is not a candidate (ingest ignores .json files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from xltool.form.forms import get_spec
from xltool.form.layout import META_SHEET
from xltool.generate.synth import balance, random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

MB = 1024 * 1024

# Files whose expected verdict xltool does not give yet (tests mark them xfail(strict=True), so a fix
# makes them fail until the entry goes). None today: the defects this corpus found are fixed.
KNOWN_DEFECTS: dict[str, str] = {}
F2021, F2019 = "govinfo-annual-2021", "govinfo-annual-2019"
T3 = "三、依申请公开"        # sheet 4 of both forms (xl/worksheets/sheet4.xml as xlsxwriter writes it)
T4 = "四、复议诉讼"
BASIC = "基本信息"


# --------------------------------------------------------------------------- zip helpers

def read_parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_parts(path: Path, parts: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # zipfile warns about the duplicate names planted on purpose
        with zipfile.ZipFile(path, "w", compression) as archive:
            for name, data in parts:
                archive.writestr(name, data)
    return path


def edit_parts(path: Path, **edits: Callable[[bytes], bytes]) -> Path:
    """Rewrite the package at `path` in place, applying edit(bytes) -> bytes per part.
    Keys name parts with '/' -> '__' and '.' -> '_' (xl__workbook_xml); see part_key()."""
    parts = []
    for name, data in read_parts(path):
        fn = edits.get(part_key(name))
        parts.append((name, fn(data) if fn else data))
    return write_parts(path, parts)


def part_key(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "_", name.replace("/", "__"))


SHEET4 = "xl__worksheets__sheet4_xml"     # 三、依申请公开
SHEET1 = "xl__worksheets__sheet1_xml"     # 基本信息


def set_cell_xml(cell: str, inner: str) -> Callable[[bytes], bytes]:
    """Replace the content of cell `cell` (keeping its style) in a sheet part."""
    pattern = re.compile(r'<c r="%s"( s="\d+")?(?: t="\w+")?\s*(?:/>|>.*?</c>)' % cell, re.S)

    def edit(data: bytes) -> bytes:
        text = data.decode("utf-8")
        new, n = pattern.subn(lambda m: f'<c r="{cell}"{m.group(1) or ""}>{inner}</c>', text, count=1)
        assert n == 1, f"cell {cell} not found"
        return new.encode("utf-8")
    return edit


def cell_xml(data: bytes, cell: str) -> str:
    match = re.search(r'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % cell, data.decode("utf-8"), re.S)
    assert match, cell
    return match.group(0)


def zip_bytes(parts: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in parts:
            archive.writestr(name, data)
    return buffer.getvalue()


def add_streamed_entry(path: Path, name: str, chunks, level: int = 6) -> None:
    """Append a deflated entry to the zip at `path`, written chunk by chunk (never whole in memory)."""
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        with archive.open(name, "w", force_zip64=True) as fh:
            for chunk in chunks:
                fh.write(chunk)


def sparse_mib(total_mib: int, gap: int, seed: int):
    """`total_mib` MiB of zeros with one random byte every `gap` bytes: deflates about
    gap/5:1 (gap 900 gives ~180:1), so a large entry stays under the zip-bomb ratio."""
    rng = random.Random(seed)
    block = bytearray(MB)
    for i in range(0, MB - gap, gap):
        block[i + rng.randrange(gap)] = rng.randrange(1, 256)
    block = bytes(block)
    for _ in range(total_mib):
        yield block


def zeros(total: int, chunk: int = 4 * MB):
    while total > 0:
        yield bytes(min(chunk, total))
        total -= chunk


# --------------------------------------------------------------------------- OLE2 containers

def ole2_container(streams: list[str], data_sector: bytes = b"") -> bytes:
    """A synthetic OLE2 compound file (as in tests/test_guard.py): a 512-byte header, one FAT
    sector, one directory sector naming `streams` after the Root Entry, an optional data sector."""
    ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 0x2C, 1, 1, 0, 4096)
    struct.pack_into("<IIII", header, 0x3C, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header[0x4C:0x200] = struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108
    fat = [FATSECT, ENDOFCHAIN] + ([ENDOFCHAIN] if data_sector else [])
    fat_sector = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", FREESECT) * (128 - len(fat))

    def entry(name: str, object_type: int, right_sibling: int, child: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        raw = bytearray(128)
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 64, len(encoded), object_type, 1)
        struct.pack_into("<III", raw, 68, NOSTREAM, right_sibling, child)
        struct.pack_into("<I", raw, 116, ENDOFCHAIN)
        return bytes(raw)

    entries = [entry("Root Entry", 5, NOSTREAM, 1 if streams else NOSTREAM)]
    for number, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, number + 1 if number < len(streams) else NOSTREAM, NOSTREAM))
    directory = b"".join(entries)
    directory = directory.ljust(512 * ((len(directory) + 511) // 512), b"\x00")
    return bytes(header) + fat_sector + directory + data_sector.ljust(512 if data_sector else 0, b"\x00")


# --------------------------------------------------------------------------- the builder

class Corpus:
    def __init__(self, out: Path):
        self.out = out
        self.expected: dict[str, dict] = {}
        self._agency_number = 0
        self._seed = 100
        self.tmp = Path(tempfile.mkdtemp(prefix="xltool-corpus-"))

    # -- bookkeeping

    def expect(self, rel: str, kind: str, status: str, codes: list[str], why: str, **extra) -> None:
        assert rel not in self.expected, rel
        if rel in KNOWN_DEFECTS:
            extra["known_defect"] = KNOWN_DEFECTS[rel]
        self.expected[rel] = {"kind": kind, "status": status, "codes": codes, "why": why, **extra}

    def agency(self) -> str:
        self._agency_number += 1
        return f"语料{self._agency_number:02d}局"

    def seed(self) -> int:
        self._seed += 1
        return self._seed

    # -- workbooks

    def filled(self, name: str, form: str = F2021, year: int = 2024, agency: str | None = None,
               values: dict | None = None, raw: dict | None = None, seed: int | None = None,
               folder: Path | None = None) -> Path:
        """A workbook generated by xltool and filled with consistent random numbers."""
        spec = get_spec(form)
        base = random_inputs(spec.layout, random.Random(self.seed() if seed is None else seed))
        base.update(values or {})
        path = (folder or self.out) / name
        write_workbook(spec, path, Agency(agency or self.agency(), year),
                       WriteOptions(values=base, raw=raw or {}))
        return path

    def scratch(self, name: str, **kw) -> Path:
        """A filled workbook in the scratch folder (to be transformed into a corpus file)."""
        return self.filled(name, folder=self.tmp, **kw)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def openpyxl_edit(path: Path, edit: Callable, unprotect: tuple[str, ...] = ()) -> Path:
    """What a clerk does in a spreadsheet program: open, change, save (openpyxl stands in)."""
    wb = openpyxl.load_workbook(path)
    for name in unprotect:
        wb[name].protection.sheet = False
    edit(wb)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- 1. files and containers

def file_level(c: Corpus) -> None:
    out = c.out

    # size cap: a sparse file (no disk blocks) just over the 20 MB limit
    path = out / "size_cap_21MB.xlsx"
    with open(path, "wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(21 * MB)
    c.expect(path.name, "size cap", "rejected", ["file-too-large"],
             "21 MB (sparse): refused from its size alone, before any byte is parsed")

    path = out / "not_a_zip_random_bytes.xlsx"
    path.write_bytes(random.Random(7).randbytes(8192))
    c.expect(path.name, "not a zip", "rejected", ["not-a-workbook"], "random binary named .xlsx")

    good = c.scratch("truncated.xlsx")
    data = good.read_bytes()
    path = out / "truncated_upload.xlsx"
    path.write_bytes(data[:len(data) // 2])
    c.expect(path.name, "truncated zip", "rejected", ["zip-truncated"],
             "the first half of a real workbook: the central directory is missing")

    path = out / "empty_0_bytes.xlsx"
    path.write_bytes(b"")
    c.expect(path.name, "empty file", "rejected", ["file-empty"], "0 bytes: an interrupted copy")

    # a spreadsheet-looking zip with 2,100 entries
    good = c.scratch("many.xlsx")
    parts = read_parts(good) + [(f"xl/media/image{i}.png", b"\x89PNG") for i in range(2100)]
    write_parts(out / "too_many_entries.xlsx", parts)
    c.expect("too_many_entries.xlsx", "too many entries", "rejected", ["zip-too-many-entries"],
             "2,100 extra parts; counted from the central-directory signatures before zipfile builds its list")

    # one member of 51 MiB that deflates ~180:1 (under the bomb ratio): only the size limit applies
    path = out / "entry_too_large_51MB.xlsx"
    shutil.copyfile(c.scratch("big-entry.xlsx"), path)
    add_streamed_entry(path, "xl/media/image1.bin", sparse_mib(51, 900, seed=1))
    c.expect(path.name, "entry too large", "rejected", ["zip-entry-too-large"],
             "one 51 MiB member (limit 50 MiB), ratio ~180:1 so it is not a bomb")

    # five members of 42 MiB each: each is allowed, together 210 MiB > 200 MiB
    path = out / "total_too_large_210MB.xlsx"
    shutil.copyfile(c.scratch("big-total.xlsx"), path)
    for i in range(5):
        add_streamed_entry(path, f"xl/media/image{i + 1}.bin", sparse_mib(42, 900, seed=10 + i))
    c.expect(path.name, "total too large", "rejected", ["zip-total-too-large"],
             "5 x 42 MiB members (each under 50 MiB, ratio ~180:1): 210 MiB uncompressed in total")

    # a real deflate bomb: 200,000,000 zero bytes deflate to ~200 KB (ratio ~1000:1)
    path = out / "zip_bomb_200MB_zeros.xlsx"
    shutil.copyfile(c.scratch("bomb.xlsx"), path)
    add_streamed_entry(path, "xl/printerSettings/printerSettings1.bin", zeros(200_000_000), level=9)
    c.expect(path.name, "compression ratio bomb", "rejected", ["zip-bomb"],
             "a real 200 MB deflate bomb inside an otherwise good workbook; never decompressed")

    # nested zip: a zip holding the workbook, renamed .xlsx (what a clerk's 'send as archive' makes)
    inner = c.scratch("inner.xlsx").read_bytes()
    path = out / "nested_zip_holding_workbook.xlsx"
    path.write_bytes(zip_bytes([("某局报表.xlsx", inner)]))
    c.expect(path.name, "nested zip (archive renamed .xlsx)", "rejected", ["not-a-workbook"],
             "a plain zip archive containing an .xlsx, renamed .xlsx: told to unzip it")

    # nested zip bomb embedded in a good workbook: an unreferenced part nobody opens
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as fh:
            for chunk in zeros(100_000_000):
                fh.write(chunk)
    path = out / "nested_zip_bomb_embedded.xlsx"
    good = c.scratch("embedded.xlsx")
    write_parts(path, read_parts(good) + [("xl/embeddings/oleObject1.zip", bomb.getvalue())])
    c.expect(path.name, "nested zip bomb embedded in a workbook", "accepted", [],
             "an inner 100 MB zip bomb stored as an embedded part: the outer ratio is ~1:1 and "
             "nothing ever opens the inner zip, so the form is read normally")

    good = c.scratch("traversal.xlsx")
    write_parts(out / "zip_path_traversal.xlsx",
                read_parts(good) + [("../../../../tmp/evil.sh", b"#!/bin/sh\necho owned\n")])
    c.expect("zip_path_traversal.xlsx", "path traversal names in the zip", "rejected", ["zip-unsafe-name"],
             "a member named ../../../../tmp/evil.sh")

    good = c.scratch("absolute.xlsx")
    write_parts(out / "zip_absolute_member_name.xlsx",
                read_parts(good) + [("/etc/cron.d/evil", b"* * * * * root true\n")])
    c.expect("zip_absolute_member_name.xlsx", "absolute member name in the zip", "rejected", ["zip-unsafe-name"],
             "a member named /etc/cron.d/evil")

    good = c.scratch("dup.xlsx")
    parts = read_parts(good)
    sheet = dict(parts)["xl/worksheets/sheet4.xml"]
    forged = set_cell_xml("D5", "<v>999999</v>")(sheet)
    write_parts(out / "zip_duplicate_entry.xlsx", parts + [("xl/worksheets/sheet4.xml", forged)])
    c.expect("zip_duplicate_entry.xlsx", "duplicate zip entries", "rejected", ["zip-duplicate-entry"],
             "xl/worksheets/sheet4.xml twice, the second copy with other numbers (readers disagree on which wins)")

    good = c.scratch("bzip2.xlsx")
    parts = read_parts(good)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            archive.writestr(name, data, compress_type=zipfile.ZIP_BZIP2 if name.endswith("sheet4.xml")
                             else zipfile.ZIP_DEFLATED)
    (out / "zip_bzip2_member.xlsx").write_bytes(buffer.getvalue())
    c.expect("zip_bzip2_member.xlsx", "unusual zip compression", "rejected", ["zip-unusual-entry"],
             "a sheet compressed with bzip2 (method 12): zipfile would inflate it without an output bound")


# --------------------------------------------------------------------------- 2. XML attacks and extents

BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE worksheet [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">\n' for i in range(1, 10))
    + "]>\n")
XXE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')


def _with_prolog(prolog: str, entity_use: str | None = None) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        text = data.decode("utf-8")
        text = re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
        if entity_use:
            text = text.replace(entity_use[0], entity_use[1], 1)
        return (prolog + text).encode("utf-8")
    return edit


def xml_attacks(c: Corpus) -> None:
    out = c.out
    path = shutil.copyfile(c.scratch("lol.xlsx"), out / "xml_billion_laughs_in_sheet.xlsx")
    edit_parts(path, **{SHEET4: _with_prolog(BILLION_LAUGHS, ("<v>", "<v>&lol9;"))})
    c.expect(path.name, "XML entity expansion (billion laughs) in a sheet", "rejected", ["xml-entity"],
             "10^9 'lol's declared in the DOCTYPE of 三、依申请公开 and used in a cell")

    path = shutil.copyfile(c.scratch("xxe-ss.xlsx"), out / "xml_external_entity_sharedStrings.xlsx")
    edit_parts(path, xl__sharedStrings_xml=_with_prolog(XXE.format(root="sst"), ("<t>", "<t>&xxe;")))
    c.expect(path.name, "XML external entity in sharedStrings.xml", "rejected", ["xml-entity"],
             'SYSTEM "file:///etc/passwd" in xl/sharedStrings.xml, used in a string')

    path = shutil.copyfile(c.scratch("xxe-wb.xlsx"), out / "xml_external_entity_workbook.xlsx")
    edit_parts(path, xl__workbook_xml=_with_prolog(XXE.format(root="workbook"), ('name="基本信息"', 'name="&xxe;"')))
    c.expect(path.name, "XML external entity in workbook.xml", "rejected", ["xml-entity"],
             'SYSTEM "file:///etc/passwd" in xl/workbook.xml, used as a sheet name')

    path = shutil.copyfile(c.scratch("dim.xlsx"), out / "dimension_A1_XFD1048576.xlsx")
    edit_parts(path, **{SHEET4: lambda d: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', d)})
    c.expect(path.name, "declared dimension A1:XFD1048576", "rejected", ["sheet-too-large"],
             "the whole grid declared as used: read-only parsers would iterate 17 billion cells")

    path = shutil.copyfile(c.scratch("far.xlsx"), out / "one_cell_at_XFD1048576.xlsx")
    edit_parts(path, **{SHEET4: lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')})
    c.expect(path.name, "one cell at XFD1048576", "rejected", ["sheet-too-large"],
             "a single value typed in the last cell of the grid, dimension left small")

    path = shutil.copyfile(c.scratch("strict.xlsx"), out / "strict_open_xml.xlsx")
    swaps = [(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
             (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
              b"http://purl.oclc.org/ooxml/officeDocument/relationships")]

    def strict(data: bytes) -> bytes:
        for old, new in swaps:
            data = data.replace(old, new)
        return data
    write_parts(path, [(n, strict(d) if n.endswith((".xml", ".rels")) and not n.startswith("[") else d)
                       for n, d in read_parts(path)])
    c.expect(path.name, "Strict Open XML", "rejected", ["strict-ooxml"],
             "saved as 'Strict Open XML Spreadsheet' (purl.oclc.org namespaces): openpyxl cannot read it")


# --------------------------------------------------------------------------- 3. formats

def soffice_convert(sources: list[Path], fmt: str, outdir: Path) -> list[Path] | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    profile = outdir / "lo-profile"
    try:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(outdir), *map(str, sources)],
                       check=True, capture_output=True, timeout=180)
    except (subprocess.SubprocessError, OSError):
        return None
    made = [outdir / (s.stem + "." + fmt.split(":")[0]) for s in sources]
    return made if all(p.is_file() and p.stat().st_size > 0 for p in made) else None


def encrypt_with_msoffcrypto(src: Path, dst: Path, password: str) -> bool:
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return False
    try:
        with open(src, "rb") as fh, open(dst, "wb") as out:
            OOXMLFile(fh).encrypt(password, out)
    except Exception:       # an API change: fall back to the synthetic container
        return False
    return True


def formats(c: Corpus) -> dict[str, str]:
    out = c.out
    made: dict[str, str] = {}

    (out / "encrypted_ole_synthetic.xlsx").write_bytes(
        ole2_container(["EncryptionInfo", "EncryptedPackage"]))
    c.expect("encrypted_ole_synthetic.xlsx", "encrypted (synthetic OLE with EncryptedPackage)", "rejected",
             ["encrypted"], "an OLE2 container with EncryptionInfo + EncryptedPackage streams")

    path = out / "encrypted_open_password.xlsx"
    if encrypt_with_msoffcrypto(c.scratch("to-encrypt.xlsx"), path, "123456"):
        made["encrypted"] = "msoffcrypto-tool (real agile encryption, password 123456)"
    else:
        path.write_bytes(ole2_container(["\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"],
                                        data_sector=b"synthetic encrypted package"))
        made["encrypted"] = "synthetic (msoffcrypto-tool not importable)"
    c.expect(path.name, "encrypted (open password)", "rejected", ["encrypted"],
             f"a workbook with an open password: {made['encrypted']}")

    sources = [c.scratch("legacy97.xlsx"), c.scratch("wps.xlsx")]
    converted = soffice_convert(sources, "xls", c.tmp / "xls")
    if converted:
        shutil.copyfile(converted[0], out / "legacy_excel97.xls")
        shutil.copyfile(converted[1], out / "wps_spreadsheet.et")
        made["xls"] = "LibreOffice --convert-to xls"
    else:
        (out / "legacy_excel97.xls").write_bytes(ole2_container(["Workbook", "\x05SummaryInformation"]))
        (out / "wps_spreadsheet.et").write_bytes(ole2_container(["Workbook"], data_sector=b"WPS"))
        made["xls"] = "synthetic OLE2 (soffice not found)"
    c.expect("legacy_excel97.xls", ".xls (Excel 97-2003)", "rejected", ["legacy-xls"],
             f"a real BIFF8 workbook: {made['xls']}")
    c.expect("wps_spreadsheet.et", "WPS .et", "rejected", ["legacy-xls"],
             f"a WPS 表格 .et (OLE2/BIFF): {made['xls']}")

    (out / "html_saved_as.xls").write_bytes(
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>单位</td><td>件数</td></tr>"
        "<tr><td>某局</td><td>12</td></tr></table></body></html>".encode())
    c.expect("html_saved_as.xls", "HTML table saved as .xls (system export)", "rejected", ["not-a-workbook"],
             "an HTML page with an .xls extension, as web systems export 'Excel'")

    (out / "excel2003_xml.xlsx").write_bytes(
        b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"/></Workbook>')
    c.expect("excel2003_xml.xlsx", "Excel 2003 XML spreadsheet", "rejected", ["unsupported-spreadsheet"],
             "SpreadsheetML 2003 renamed .xlsx")

    xlsb = [("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                                    b'2006/content-types"><Default Extension="bin" ContentType="application/'
                                    b'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>'),
            ("xl/workbook.bin", b"\x83\x01\x00\x80\x01\x00"), ("xl/worksheets/sheet1.bin", b"\x81\x01\x00")]
    (out / "binary_workbook.xlsb").write_bytes(zip_bytes(xlsb))
    c.expect("binary_workbook.xlsb", "Excel binary workbook .xlsb", "rejected", ["unsupported-spreadsheet"],
             "an .xlsb (BIFF12): must be reported and told to save as .xlsx")
    # another sheet, so it is not byte-identical to the .xlsb (that would add duplicate-content)
    (out / "binary_workbook_renamed.xlsx").write_bytes(zip_bytes(xlsb + [("xl/worksheets/sheet2.bin", b"\x81")]))
    c.expect("binary_workbook_renamed.xlsx", ".xlsb renamed .xlsx", "rejected", ["unsupported-spreadsheet"],
             "the same .xlsb with its name changed to .xlsx")

    (out / "opendocument.ods").write_bytes(zip_bytes([
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')],
        compression=zipfile.ZIP_STORED))
    c.expect("opendocument.ods", "OpenDocument spreadsheet", "rejected", ["unsupported-spreadsheet"],
             "an .ods from WPS/LibreOffice: told to save as .xlsx")

    # .xlsm: a real template turned macro-enabled, with a (synthetic) vbaProject.bin
    path = shutil.copyfile(c.scratch("macro.xlsx"), out / "macro_enabled.xlsm")
    parts = read_parts(path)
    vba = ole2_container(["VBA", "dir", "PROJECT"], data_sector=b'Attribute VB_Name = "Module1"\nSub AutoOpen()\nEnd Sub\n')
    new = []
    for name, data in parts:
        if name == "[Content_Types].xml":
            data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            data = data.replace(b"<Default Extension=\"xml\"",
                                b"<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>"
                                b"<Default Extension=\"xml\"")
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>",
                                b'<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/'
                                b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
        new.append((name, data))
    write_parts(path, new + [("xl/vbaProject.bin", vba)])
    c.expect(path.name, ".xlsm with vbaProject.bin", "accepted", ["macro-enabled"],
             "macro-enabled workbook with an AutoOpen stub: macros are never run, the data is read")

    resaved = soffice_convert([c.scratch("语料另存局.xlsx", agency="语料另存局")], "xlsx:Calc Office Open XML",
                              c.tmp / "resaved")
    if resaved:
        shutil.copyfile(resaved[0], out / "libreoffice_resaved.xlsx")
        c.expect("libreoffice_resaved.xlsx", "opened and saved by LibreOffice", "accepted", [],
                 "a real client rewrote the package (its own styles, shared strings, cached values)")
        made["resaved"] = "LibreOffice --convert-to xlsx"

    path = shutil.copyfile(c.scratch("wrongext.xlsx"), out / "real_xlsx_named.xls")
    c.expect(path.name, "real xlsx renamed .xls", "accepted", ["wrong-extension"],
             "an .xlsx whose name was changed to .xls: read by content, with a warning")
    return made


def renamed(c: Corpus) -> None:
    out = c.out
    (out / "renamed_pdf.xlsx").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    c.expect("renamed_pdf.xlsx", "PDF renamed .xlsx", "rejected", ["not-a-workbook"], "a PDF (scan of the report)")
    (out / "renamed_png.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(13) + b"\x00\x00\x00\x00IEND")
    c.expect("renamed_png.xlsx", "PNG renamed .xlsx", "rejected", ["not-a-workbook"], "a screenshot of the table")
    (out / "renamed_docx.xlsx").write_bytes(zip_bytes([
        ("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
        ("word/document.xml", "<w:document>年度报告</w:document>".encode())]))
    c.expect("renamed_docx.xlsx", "DOCX renamed .xlsx", "rejected", ["not-a-workbook"], "the Word report, renamed")
    (out / "renamed_csv.xlsx").write_bytes("单位,项目,件数\n某局,新收申请,12\n".encode("gbk"))
    c.expect("renamed_csv.xlsx", "CSV renamed .xlsx", "rejected", ["not-a-workbook"], "a GBK CSV export, renamed")
    (out / "exported.csv").write_bytes("单位,项目,件数\n某局,新收申请,12\n".encode("utf-8-sig"))
    c.expect("exported.csv", "plain CSV", "rejected", ["not-a-workbook"], "a CSV export submitted as is")


# --------------------------------------------------------------------------- 4. not returns at all

def not_returns(c: Corpus) -> None:
    out = c.out
    user = "clerk".encode("ascii")
    lock = bytes([len(user)]) + user.ljust(53, b" ") + "clerk".encode("utf-16-le").ljust(111, b"\x00")
    (out / "~$lock_file.xlsx").write_bytes(lock)
    c.expect("~$lock_file.xlsx", "Office lock file", "skipped", ["skipped-lock-file"],
             "Excel's owner file, left while the workbook is open")

    (out / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    c.expect(".DS_Store", "hidden file .DS_Store", "skipped", ["skipped-hidden-file"], "macOS folder metadata")
    (out / "._macos_resource_fork.xlsx").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(64))
    c.expect("._macos_resource_fork.xlsx", "hidden AppleDouble ._x.xlsx", "skipped", ["skipped-hidden-file"],
             "macOS resource fork copied next to a workbook")

    try:
        os.symlink("/etc/passwd", out / "link_to_etc_passwd.xlsx")
        c.expect("link_to_etc_passwd.xlsx", "symlink pointing outside the inbox", "skipped",
                 ["skipped-link-outside-inbox"], "a symlink named .xlsx to /etc/passwd: never opened")
        os.symlink("/etc", out / "linked_folder", target_is_directory=True)
        c.expect("linked_folder", "symlinked directory pointing outside the inbox", "skipped",
                 ["skipped-link-outside-inbox"], "a directory symlink to /etc: must be reported, never walked")
    except (OSError, NotImplementedError):
        pass

    sub = out / "乡镇"
    sub.mkdir()
    c.filled("语料乡镇局.xlsx", folder=sub, agency="语料乡镇局")
    c.expect("乡镇/语料乡镇局.xlsx", "a good return in a subfolder", "accepted", [],
             "inboxes are searched recursively", exact=True)
    mac = out / "__MACOSX" / "乡镇"
    mac.mkdir(parents=True)
    (mac / "._语料乡镇局.xlsx").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(32))
    c.expect("__MACOSX/乡镇/._语料乡镇局.xlsx", "__MACOSX folder from a Mac zip", "skipped",
             ["skipped-hidden-file"], "the resource fork a Mac zip leaves in __MACOSX/")
    (out / ".git").mkdir()
    (out / ".git" / "stray.xlsx").write_bytes(b"not looked at")
    c.expect(".git/stray.xlsx", "file inside a hidden folder", "skipped", ["skipped-hidden-file"],
             "anything under a hidden folder is not a return")

    if hasattr(os, "mkfifo"):
        try:
            os.mkfifo(out / "named_pipe.xlsx")
            c.expect("named_pipe.xlsx", "FIFO named .xlsx", "skipped", ["skipped-not-regular-file"],
                     "a named pipe: opening it for reading would block forever")
        except OSError:
            pass


# --------------------------------------------------------------------------- 5. links to other files

EXTERNAL_LINK_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames>'
    '<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>{value}</v></cell></row></sheetData>'
    '</sheetDataSet></externalBook></externalLink>')
EXTERNAL_LINK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'externalLinkPath" Target="file:///C:/Users/clerk/Desktop/%E5%8E%BB%E5%B9%B4%E6%8A%A5%E8%A1%A8.xlsx" '
    'TargetMode="External"/></Relationships>')


def external_links(c: Corpus) -> None:
    out = c.out
    path = shutil.copyfile(c.scratch("extlink.xlsx"), out / "external_link_in_input.xlsx")
    parts = read_parts(path)
    sheet = dict(parts)["xl/worksheets/sheet4.xml"]
    value = re.search(r"<v>(\d+)</v>", cell_xml(sheet, "D5")).group(1)
    new = []
    for name, data in parts:
        if name == "[Content_Types].xml":
            data = data.replace(b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
                                b'"application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                                b'officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/>'
                                b"</Relationships>")
        elif name == "xl/workbook.xml":
            data = data.replace(b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rId99"/>'
                                b"</externalReferences>")
        elif name == "xl/worksheets/sheet4.xml":
            data = set_cell_xml("D5", f"<f>[1]Sheet1!A1</f><v>{value}</v>")(data)
        new.append((name, data))
    new += [("xl/externalLinks/externalLink1.xml", EXTERNAL_LINK_XML.format(value=value).encode()),
            ("xl/externalLinks/_rels/externalLink1.xml.rels", EXTERNAL_LINK_RELS.encode())]
    write_parts(path, new)
    c.expect(path.name, "external workbook link typed into an input", "rejected", ["external-link", "formula-in-input"],
             "externalLink part to C:/Users/clerk/Desktop/去年报表.xlsx and =[1]Sheet1!A1 in 三 D5; the link is never followed")

    path = shutil.copyfile(c.scratch("fileref.xlsx"), out / "formula_names_other_file.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    value = re.search(r"<v>(\d+)</v>", cell_xml(sheet, "E5")).group(1)
    edit_parts(path, **{SHEET4: set_cell_xml("E5", "<f>'\\\\fileserver\\统计\\[汇总.xlsx]三'!E5</f>"
                                                  f"<v>{value}</v>")})
    c.expect(path.name, "formula naming another file (UNC path)", "rejected", ["external-link", "formula-in-input"],
             r"='\\fileserver\统计\[汇总.xlsx]三'!E5 typed into 三 E5, no externalLink part")


# --------------------------------------------------------------------------- 6. tampering and human habits

def tampering(c: Corpus) -> None:
    out = c.out
    s21, s19 = get_spec(F2021), get_spec(F2019)
    L = s21.layout

    c.filled("good_control_form21.xlsx", agency="语料对照局")
    c.expect("good_control_form21.xlsx", "good control (2021 edition)", "accepted", [],
             "a consistent return straight from the template", exact=True)
    c.filled("good_control_form19.xlsx", form=F2019, year=2020, agency="语料对照二局")
    c.expect("good_control_form19.xlsx", "good control (2019 edition)", "accepted", [],
             "a consistent 2019-edition return for report year 2020", exact=True)

    path = c.filled("protection_removed.xlsx")
    openpyxl_edit(path, lambda wb: None, unprotect=tuple(sl.name for sl in L.sheets))
    c.expect(path.name, "protection removed", "accepted", ["protection-removed"],
             "every sheet unprotected, nothing else changed")

    def insert_rows(wb):
        wb[T3].insert_rows(8)
    path = openpyxl_edit(c.filled("rows_inserted.xlsx"), insert_rows, unprotect=(T3,))
    c.expect(path.name, "rows inserted", "rejected", ["layout-shifted"], "a row inserted into table 三 above row 8")

    def delete_column(wb):
        wb[T3].delete_cols(5)
    path = openpyxl_edit(c.filled("column_deleted.xlsx"), delete_column, unprotect=(T3,))
    c.expect(path.name, "a column deleted", "rejected", ["layout-shifted"],
             "column E (商业企业) deleted from table 三")

    label = next(lab for lab in L.sheet(T3).labels if lab.text == "一、本年新收政府信息公开申请数量")

    def edit_label(wb):
        wb[T3].cell(label.row + 1, label.col + 1).value = "一、本年新收申请数"
    path = openpyxl_edit(c.filled("label_edited.xlsx"), edit_label, unprotect=(T3,))
    c.expect(path.name, "labels edited", "accepted", ["label-changed", "protection-removed"],
             "the label 一、本年新收政府信息公开申请数量 shortened to 一、本年新收申请数")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "年报"
    ws["A1"] = "政府信息公开工作年度报告（自制表）"
    for r, (name, n) in enumerate([("新收申请", 35), ("上年结转", 2), ("予以公开", 20)], start=2):
        ws.cell(r, 1, name)
        ws.cell(r, 2, n)
    wb.save(out / "different_template_openpyxl.xlsx")
    c.expect("different_template_openpyxl.xlsx", "a different template (not made by xltool)", "rejected",
             ["unknown-workbook"], "a self-made workbook with some numbers")

    def older(wb):
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == "fingerprint":
                row[1].value = "0123456789abcdef"
    path = openpyxl_edit(c.filled("older_template_edition.xlsx"), older)
    c.expect(path.name, "older template edition", "rejected", ["template-outdated"],
             "the layout fingerprint in the hidden _xltool sheet is an older edition's")

    def drop_meta(wb):
        del wb[META_SHEET]
    path = openpyxl_edit(c.filled("hidden_sheet_deleted.xlsx"), drop_meta)
    c.expect(path.name, "hidden identification sheet deleted", "accepted", ["metadata-missing"],
             "the very hidden _xltool sheet removed (copied into a new workbook): recognised by its labels")

    path = c.filled("form21_filled_for_the_year_before_it.xlsx", year=2020)
    c.expect(path.name, "right template filled for another year", "rejected", ["year-not-in-version"],
             "the 2021 edition generated and filled for report year 2020 (the 2019 edition covers 2019-2020)")

    # the 2021 numbers of table 三 copied into the old 2019 template, for report year 2021
    numbers21 = random_inputs(L, random.Random(c.seed()))
    values = random_inputs(s19.layout, random.Random(c.seed()), balanced=False)
    values.update({k: v for k, v in numbers21.items()
                   if k.startswith("t3.") and k in s19.layout.cells and not s19.layout.cells[k].computed})
    balance(s19.layout, values)
    path = out / "form19_used_for_a_later_year.xlsx"
    write_workbook(s19, path, Agency(c.agency(), 2021), WriteOptions(values=values))
    c.expect(path.name, "2021 table 三 filled on the 2019 template for a 2021 year", "rejected",
             ["year-not-in-version"], "table 三 of a 2021 return typed into the 2019 edition (for 2019-2020), "
             "report year 2021")

    def other_year(wb):
        wb[BASIC]["B4"].value = 2025
    path = openpyxl_edit(c.filled("year_cell_overwritten.xlsx"), other_year, unprotect=(BASIC,))
    c.expect(path.name, "locked year overwritten", "accepted", ["metadata-mismatch", "protection-removed"],
             "the prefilled 报告年度 2024 changed to 2025 after removing the protection")

    # file names that name another agency or year
    c.filled("语料对照局_报表.xlsx", agency="语料名错局")
    c.expect("语料对照局_报表.xlsx", "file name names another agency", "accepted", ["filename-agency-mismatch"],
             "named after 语料对照局 (another return in the inbox), but the workbook is 语料名错局's")
    c.filled("年报_2023.xlsx")
    c.expect("年报_2023.xlsx", "file name names another year", "accepted", ["filename-year-mismatch"],
             "named 2023, but the workbook is for 2024")

    # the same agency and year twice: the older is superseded
    now = time.time()
    first = c.filled("resubmitted_first.xlsx", agency="语料重报局", seed=1)
    second = c.filled("resubmitted_second.xlsx", agency="语料重报局", seed=2)
    os.utime(first, (now - 7200, now - 7200))
    os.utime(second, (now - 3600, now - 3600))
    c.expect(first.name, "same agency and year submitted twice (older)", "accepted", ["superseded-accepted"],
             "语料重报局 2024 sent again later with other numbers")
    c.expect(second.name, "same agency and year submitted twice (newer)", "accepted", ["supersedes"],
             "the newer return of 语料重报局 2024 is the one used")

    original = c.filled("sent_twice.xlsx")
    copy = out / "sent_twice - 副本.xlsx"
    shutil.copyfile(original, copy)
    os.utime(original, (now - 7200, now - 7200))
    os.utime(copy, (now - 600, now - 600))
    c.expect(original.name, "identical content (first copy)", "accepted", [], "the copy received first is used")
    c.expect(copy.name, "identical content (second copy)", "accepted", ["duplicate-content"],
             "byte-identical to sent_twice.xlsx")

    # totals and formulas
    def typed(cell_id, value):
        cell = L.cells[cell_id]

        def edit(wb):
            wb[cell.sheet][cell.a1].value = value
        return edit, (cell.sheet,)

    edit, sheets = typed("t3.new.total", 99999)
    path = openpyxl_edit(c.filled("row_total_typed_over.xlsx"), edit, unprotect=sheets)
    c.expect(path.name, "a row total typed over (wrong)", "rejected", ["T3-B", "protection-removed"],
             "三 J5 (一、本年新收 | 总计) formula replaced by a typed 99999")

    edit, sheets = typed("t3.results_total.natural_person", 99999)
    path = openpyxl_edit(c.filled("results_total_typed_over.xlsx"), edit, unprotect=sheets)
    c.expect(path.name, "a column total typed over (wrong)", "rejected", ["T3-C", "protection-removed"],
             "三 D28 (（七）总计 | 自然人) formula replaced by a typed 99999")

    edit, sheets = typed("t4.cases.review_total", 99999)
    path = openpyxl_edit(c.filled("review_total_typed_over.xlsx"), edit, unprotect=sheets)
    c.expect(path.name, "a table 四 total typed over (wrong)", "rejected", ["T4", "protection-removed"],
             "四 E5 (行政复议 | 总计) formula replaced by a typed 99999")

    values = random_inputs(L, random.Random(c.seed()))
    right = sum(values[f"t3.new.{k}"] for k in ("natural_person", "business", "research", "public_interest",
                                                "legal_service", "other_org"))
    edit, sheets = typed("t3.new.total", right)
    path = openpyxl_edit(c.filled("total_typed_over_same_value.xlsx", values=values), edit, unprotect=sheets)
    c.expect(path.name, "a total typed over with the right number", "accepted", ["formula-replaced", "protection-removed"],
             "三 J5 replaced by the typed sum: accepted with a warning")

    path = c.filled("formula_changed_same_result.xlsx")
    j5 = cell_xml(dict(read_parts(path))["xl/worksheets/sheet4.xml"], "J5")
    cached = re.search(r"<v>([^<]*)</v>", j5).group(1)
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>D5+E5+F5+G5+H5+I5</f><v>{cached}</v>")})
    c.expect(path.name, "a formula changed (same result)", "accepted", ["formula-changed"],
             "三 J5 =SUM(D5:I5) rewritten as =D5+E5+F5+G5+H5+I5, cached result unchanged")

    path = c.filled("formula_changed_wrong_result.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    cached = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "J5")).group(1))
    i5 = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "I5")).group(1))
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>SUM(D5:H5)</f><v>{cached - i5}</v>")})
    assert i5, "I5 is 0 for this seed: leaving it out would change nothing"
    c.expect(path.name, "a formula changed (leaves a column out)", "rejected", ["T3-B"],
             f"三 J5 =SUM(D5:I5) rewritten as =SUM(D5:H5) (I5 = {i5} left out), cached {cached - i5}")

    path = c.filled("stale_cached_total.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    cached = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "J5")).group(1))
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>SUM(D5:I5)</f><v>{cached + 7}</v>")})
    c.expect(path.name, "a cached total that disagrees", "accepted", ["stale-cached-value"],
             f"三 J5 keeps its formula but the saved result says {cached + 7} instead of {cached}")

    def formula_input(wb):
        wb[T3]["D6"].value = "=3+4"
    path = openpyxl_edit(c.filled("formula_typed_into_input.xlsx"), formula_input)
    c.expect(path.name, "a formula typed into an input", "rejected", ["formula-in-input"],
             "三 D6 (二、上年结转 | 自然人) holds =3+4")

    raw = {"t3.new.natural_person": "12件", "t3.new.business": "１２", "t3.new.research": "约10",
           "t4.cases.review_upheld": " 3 "}
    path = c.filled("text_units_fullwidth_in_numbers.xlsx", raw=raw)
    c.expect(path.name, "text, units and full-width digits in number cells", "rejected", ["not-a-number"],
             "12件, １２ (full width), 约10 and ' 3 ' typed as text into count cells")

    path = c.filled("negative_count.xlsx", raw={"t3.new.business": -3})
    c.expect(path.name, "a negative count", "rejected", ["out-of-range"], "三 E5 = -3")

    path = c.filled("decimal_in_count.xlsx", raw={"t3.new.research": 2.5})
    c.expect(path.name, "a decimal in a count", "rejected", ["not-an-integer"], "三 F5 = 2.5")

    path = c.filled("too_many_decimals_fee.xlsx", raw={"t2_8.admin_fees.fee_amount": 1.23456789})
    c.expect(path.name, "too many decimals in an amount", "accepted", ["too-many-decimals"],
             "二 收费金额 (万元) = 1.23456789: 8 decimals, probably 元 typed in a 万元 cell")

    def date_in(wb):
        wb[T4]["A5"].value = dt.date(2024, 3, 1)
    path = openpyxl_edit(c.filled("date_in_number_cell.xlsx"), date_in)
    c.expect(path.name, "a date typed into a number cell", "rejected", ["not-a-number"],
             "四 A5 (行政复议 | 结果维持) holds the date 2024-03-01")

    values = random_inputs(L, random.Random(c.seed()))
    for cid in [x.id for x in L.inputs() if x.table == "t4"]:
        values.pop(cid, None)
    path = out / "table_four_left_blank.xlsx"     # not c.filled(): its random fill would refill table 四
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))
    c.expect(path.name, "a table left blank", "rejected", ["table-blank"], "every input of table 四 left empty")

    values = random_inputs(L, random.Random(c.seed()), balanced=False)
    left_blank = ["t3.withheld_inquiry.research", "t3.declined_repeated.legal_service"]
    values.update(dict.fromkeys(left_blank, 0))
    balance(L, values)
    for cid in left_blank:
        values.pop(cid)
    path = out / "two_cells_left_blank.xlsx"
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))
    c.expect(path.name, "a few cells left blank", "accepted", ["blank-cells"],
             "two table 三 cells left empty: read as 0 with a warning")

    def rename_sheet(wb):
        wb[T3].title = "三、依申请公开(2)"
    path = openpyxl_edit(c.filled("sheet_renamed.xlsx"), rename_sheet)
    c.expect(path.name, "a sheet renamed", "rejected", ["sheet-missing"],
             "三、依申请公开 renamed 三、依申请公开(2) (the workbook structure is not locked)")

    def unknown_form(wb):
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == "form_id":
                row[1].value = "govinfo-annual-2035"
    path = openpyxl_edit(c.filled("hidden_sheet_names_unknown_form.xlsx"), unknown_form)
    c.expect(path.name, "identification names an unknown form", "rejected", ["unknown-form"],
             "the hidden _xltool sheet says govinfo-annual-2035")

    path = c.filled("infinity_in_count.xlsx")
    edit_parts(path, **{SHEET4: set_cell_xml("D5", "<v>1e999</v>")})
    c.expect(path.name, "an infinite number in a count (hostile XML)", "rejected", ["not-a-number"],
             "三 D5 stored as <v>1e999</v> (float inf; no spreadsheet program writes this)")

    path = c.filled("formula_broken_ref.xlsx")
    j5 = cell_xml(dict(read_parts(path))["xl/worksheets/sheet4.xml"], "J5")
    style = re.search(r' s="\d+"', j5).group(0)
    edit_parts(path, **{SHEET4: lambda d: d.replace(
        j5.encode(), f'<c r="J5"{style} t="e"><f>SUM(D5:#REF!)</f><v>#REF!</v></c>'.encode())})
    c.expect(path.name, "a total broken to #REF!", "accepted", ["formula-changed-unverified"],
             "三 J5 reads =SUM(D5:#REF!) and shows #REF! (a referenced column was deleted in Excel); "
             "the total is recomputed from the template, but nothing in the file can confirm it")

    values = random_inputs(L, random.Random(c.seed()))
    values["t3.new.natural_person"] += 5      # the parts no longer add up (T3-A: 新收 + 结转 = 办理结果 + 结转下年)
    path = out / "t3a_does_not_balance.xlsx"
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))
    c.expect(path.name, "table 三 does not balance", "rejected", ["T3-A"],
             "five more new applications than results in the 自然人 column")


# --------------------------------------------------------------------------- main

def build(out: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Write the corpus and expected.json into `out`; return (expected, how the real files were made)."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty")
    c = Corpus(out)
    try:
        file_level(c)
        xml_attacks(c)
        made = formats(c)
        renamed(c)
        not_returns(c)
        external_links(c)
        tampering(c)
    finally:
        c.close()
    check_unique(out, c.expected)
    expected = dict(sorted(c.expected.items()))
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return expected, made


def check_unique(out: Path, expected: dict[str, dict]) -> None:
    """Only the intended pair may be byte-identical: any other would add a duplicate-content finding."""
    seen: dict[str, str] = {}
    for rel, e in expected.items():
        path = out / rel
        if path.is_symlink() or not path.is_file() or e["status"] == "skipped":
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen and "duplicate-content" not in e["codes"]:
            raise AssertionError(f"{rel} is identical to {seen[digest]}")
        seen.setdefault(digest, rel)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path, metavar="OUTDIR", help="an empty or new folder: the corpus inbox")
    args = ap.parse_args()
    started = time.perf_counter()
    expected, made = build(args.outdir)
    kinds = {e["kind"] for e in expected.values()}
    print(f"{len(expected)} files, {len(kinds)} kinds in {args.outdir} ({time.perf_counter() - started:.1f} s)")
    for what, how in made.items():
        print(f"  {what}: {how}")


if __name__ == "__main__":
    main()
