"""Build a corpus of bad returned files (hostile containers, wrong formats, tampered forms) for `xltool ingest`.

Usage:  python scripts/make_corpus.py OUTDIR

OUTDIR becomes an inbox: one file per kind of bad file (plus a few good controls). What
`xltool ingest OUTDIR` must say about each file is the tests' expectation, kept with them in
tests/corpus_expected.py (tests/ingest/test_corpus.py builds the corpus with this script and checks it).

Every file is built from scratch, small on disk (the size-cap file is sparse; the bombs are
a few hundred KB), deterministic in content apart from zip timestamps. The real .xls/.et
are converted by LibreOffice when `soffice` exists, else synthetic OLE2 containers are
written; a real password-encrypted workbook is made with msoffcrypto-tool when it is
importable, else a synthetic EncryptedPackage container. Neither changes what is expected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
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

# The only pair of files meant to be byte-identical (any other pair would add a duplicate-content finding)
INTENDED_DUPLICATES = {"sent_twice.xlsx", "sent_twice - 副本.xlsx"}
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
    """A synthetic OLE2 compound file (as in tests/xlsx/test_guard.py): a 512-byte header, one FAT
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
        self._agency_number = 0
        self._seed = 100
        self.tmp = Path(tempfile.mkdtemp(prefix="xltool-corpus-"))

    # -- bookkeeping

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

    path = out / "not_a_zip_random_bytes.xlsx"
    path.write_bytes(random.Random(7).randbytes(8192))

    good = c.scratch("truncated.xlsx")
    data = good.read_bytes()
    path = out / "truncated_upload.xlsx"
    path.write_bytes(data[:len(data) // 2])

    path = out / "empty_0_bytes.xlsx"
    path.write_bytes(b"")

    # a spreadsheet-looking zip with 2,100 entries
    good = c.scratch("many.xlsx")
    parts = read_parts(good) + [(f"xl/media/image{i}.png", b"\x89PNG") for i in range(2100)]
    write_parts(out / "too_many_entries.xlsx", parts)

    # one member of 51 MiB that deflates ~180:1 (under the bomb ratio): only the size limit applies
    path = out / "entry_too_large_51MB.xlsx"
    shutil.copyfile(c.scratch("big-entry.xlsx"), path)
    add_streamed_entry(path, "xl/media/image1.bin", sparse_mib(51, 900, seed=1))

    # five members of 42 MiB each: each is allowed, together 210 MiB > 200 MiB
    path = out / "total_too_large_210MB.xlsx"
    shutil.copyfile(c.scratch("big-total.xlsx"), path)
    for i in range(5):
        add_streamed_entry(path, f"xl/media/image{i + 1}.bin", sparse_mib(42, 900, seed=10 + i))

    # a real deflate bomb: 200,000,000 zero bytes deflate to ~200 KB (ratio ~1000:1)
    path = out / "zip_bomb_200MB_zeros.xlsx"
    shutil.copyfile(c.scratch("bomb.xlsx"), path)
    add_streamed_entry(path, "xl/printerSettings/printerSettings1.bin", zeros(200_000_000), level=9)

    # nested zip: a zip holding the workbook, renamed .xlsx (what a clerk's 'send as archive' makes)
    inner = c.scratch("inner.xlsx").read_bytes()
    path = out / "nested_zip_holding_workbook.xlsx"
    path.write_bytes(zip_bytes([("某局报表.xlsx", inner)]))

    # nested zip bomb embedded in a good workbook: an unreferenced part nobody opens
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as fh:
            for chunk in zeros(100_000_000):
                fh.write(chunk)
    path = out / "nested_zip_bomb_embedded.xlsx"
    good = c.scratch("embedded.xlsx")
    write_parts(path, read_parts(good) + [("xl/embeddings/oleObject1.zip", bomb.getvalue())])

    good = c.scratch("traversal.xlsx")
    write_parts(out / "zip_path_traversal.xlsx",
                read_parts(good) + [("../../../../tmp/evil.sh", b"#!/bin/sh\necho owned\n")])

    good = c.scratch("absolute.xlsx")
    write_parts(out / "zip_absolute_member_name.xlsx",
                read_parts(good) + [("/etc/cron.d/evil", b"* * * * * root true\n")])

    good = c.scratch("dup.xlsx")
    parts = read_parts(good)
    sheet = dict(parts)["xl/worksheets/sheet4.xml"]
    forged = set_cell_xml("D5", "<v>999999</v>")(sheet)
    write_parts(out / "zip_duplicate_entry.xlsx", parts + [("xl/worksheets/sheet4.xml", forged)])

    good = c.scratch("bzip2.xlsx")
    parts = read_parts(good)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            archive.writestr(name, data, compress_type=zipfile.ZIP_BZIP2 if name.endswith("sheet4.xml")
                             else zipfile.ZIP_DEFLATED)
    (out / "zip_bzip2_member.xlsx").write_bytes(buffer.getvalue())


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

    path = shutil.copyfile(c.scratch("xxe-ss.xlsx"), out / "xml_external_entity_sharedStrings.xlsx")
    edit_parts(path, xl__sharedStrings_xml=_with_prolog(XXE.format(root="sst"), ("<t>", "<t>&xxe;")))

    path = shutil.copyfile(c.scratch("xxe-wb.xlsx"), out / "xml_external_entity_workbook.xlsx")
    edit_parts(path, xl__workbook_xml=_with_prolog(XXE.format(root="workbook"), ('name="基本信息"', 'name="&xxe;"')))

    path = shutil.copyfile(c.scratch("dim.xlsx"), out / "dimension_A1_XFD1048576.xlsx")
    edit_parts(path, **{SHEET4: lambda d: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', d)})

    path = shutil.copyfile(c.scratch("far.xlsx"), out / "one_cell_at_XFD1048576.xlsx")
    edit_parts(path, **{SHEET4: lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')})

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

    path = out / "encrypted_open_password.xlsx"
    if encrypt_with_msoffcrypto(c.scratch("to-encrypt.xlsx"), path, "123456"):
        made["encrypted"] = "msoffcrypto-tool (real agile encryption, password 123456)"
    else:
        path.write_bytes(ole2_container(["\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"],
                                        data_sector=b"synthetic encrypted package"))
        made["encrypted"] = "synthetic (msoffcrypto-tool not importable)"

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

    (out / "html_saved_as.xls").write_bytes(
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>单位</td><td>件数</td></tr>"
        "<tr><td>某局</td><td>12</td></tr></table></body></html>".encode())

    (out / "excel2003_xml.xlsx").write_bytes(
        b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"/></Workbook>')

    xlsb = [("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                                    b'2006/content-types"><Default Extension="bin" ContentType="application/'
                                    b'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>'),
            ("xl/workbook.bin", b"\x83\x01\x00\x80\x01\x00"), ("xl/worksheets/sheet1.bin", b"\x81\x01\x00")]
    (out / "binary_workbook.xlsb").write_bytes(zip_bytes(xlsb))
    # another sheet, so it is not byte-identical to the .xlsb (that would add duplicate-content)
    (out / "binary_workbook_renamed.xlsx").write_bytes(zip_bytes(xlsb + [("xl/worksheets/sheet2.bin", b"\x81")]))

    (out / "opendocument.ods").write_bytes(zip_bytes([
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')],
        compression=zipfile.ZIP_STORED))

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

    resaved = soffice_convert([c.scratch("语料另存局.xlsx", agency="语料另存局")], "xlsx:Calc Office Open XML",
                              c.tmp / "resaved")
    if resaved:
        shutil.copyfile(resaved[0], out / "libreoffice_resaved.xlsx")
        made["resaved"] = "LibreOffice --convert-to xlsx"

    path = shutil.copyfile(c.scratch("wrongext.xlsx"), out / "real_xlsx_named.xls")
    return made


def renamed(c: Corpus) -> None:
    out = c.out
    (out / "renamed_pdf.xlsx").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    (out / "renamed_png.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(13) + b"\x00\x00\x00\x00IEND")
    (out / "renamed_docx.xlsx").write_bytes(zip_bytes([
        ("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                                b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                                b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
        ("word/document.xml", "<w:document>年度报告</w:document>".encode())]))
    (out / "renamed_csv.xlsx").write_bytes("单位,项目,件数\n某局,新收申请,12\n".encode("gbk"))
    (out / "exported.csv").write_bytes("单位,项目,件数\n某局,新收申请,12\n".encode("utf-8-sig"))


# --------------------------------------------------------------------------- 4. not returns at all

def not_returns(c: Corpus) -> None:
    out = c.out
    user = "clerk".encode("ascii")
    lock = bytes([len(user)]) + user.ljust(53, b" ") + "clerk".encode("utf-16-le").ljust(111, b"\x00")
    (out / "~$lock_file.xlsx").write_bytes(lock)

    (out / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    (out / "._macos_resource_fork.xlsx").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(64))

    try:
        os.symlink("/etc/passwd", out / "link_to_etc_passwd.xlsx")
        os.symlink("/etc", out / "linked_folder", target_is_directory=True)
    except (OSError, NotImplementedError):
        pass

    sub = out / "乡镇"
    sub.mkdir()
    c.filled("语料乡镇局.xlsx", folder=sub, agency="语料乡镇局")
    mac = out / "__MACOSX" / "乡镇"
    mac.mkdir(parents=True)
    (mac / "._语料乡镇局.xlsx").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(32))
    (out / ".git").mkdir()
    (out / ".git" / "stray.xlsx").write_bytes(b"not looked at")

    if hasattr(os, "mkfifo"):
        try:
            os.mkfifo(out / "named_pipe.xlsx")
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

    path = shutil.copyfile(c.scratch("fileref.xlsx"), out / "formula_names_other_file.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    value = re.search(r"<v>(\d+)</v>", cell_xml(sheet, "E5")).group(1)
    edit_parts(path, **{SHEET4: set_cell_xml("E5", "<f>'\\\\fileserver\\统计\\[汇总.xlsx]三'!E5</f>"
                                                  f"<v>{value}</v>")})


# --------------------------------------------------------------------------- 6. tampering and human habits

def tampering(c: Corpus) -> None:
    out = c.out
    s21, s19 = get_spec(F2021), get_spec(F2019)
    L = s21.layout

    c.filled("good_control_form21.xlsx", agency="语料对照局")
    c.filled("good_control_form19.xlsx", form=F2019, year=2020, agency="语料对照二局")

    path = c.filled("protection_removed.xlsx")
    openpyxl_edit(path, lambda wb: None, unprotect=tuple(sl.name for sl in L.sheets))

    def insert_rows(wb):
        wb[T3].insert_rows(8)
    path = openpyxl_edit(c.filled("rows_inserted.xlsx"), insert_rows, unprotect=(T3,))

    def delete_column(wb):
        wb[T3].delete_cols(5)
    path = openpyxl_edit(c.filled("column_deleted.xlsx"), delete_column, unprotect=(T3,))

    label = next(lab for lab in L.sheet(T3).labels if lab.text == "一、本年新收政府信息公开申请数量")

    def edit_label(wb):
        wb[T3].cell(label.row + 1, label.col + 1).value = "一、本年新收申请数"
    path = openpyxl_edit(c.filled("label_edited.xlsx"), edit_label, unprotect=(T3,))

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "年报"
    ws["A1"] = "政府信息公开工作年度报告（自制表）"
    for r, (name, n) in enumerate([("新收申请", 35), ("上年结转", 2), ("予以公开", 20)], start=2):
        ws.cell(r, 1, name)
        ws.cell(r, 2, n)
    wb.save(out / "different_template_openpyxl.xlsx")

    def older(wb):
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == "fingerprint":
                row[1].value = "0123456789abcdef"
    path = openpyxl_edit(c.filled("older_template_edition.xlsx"), older)

    def drop_meta(wb):
        del wb[META_SHEET]
    path = openpyxl_edit(c.filled("hidden_sheet_deleted.xlsx"), drop_meta)

    path = c.filled("form21_filled_for_the_year_before_it.xlsx", year=2020)

    # the 2021 numbers of table 三 copied into the old 2019 template, for report year 2021
    numbers21 = random_inputs(L, random.Random(c.seed()))
    values = random_inputs(s19.layout, random.Random(c.seed()), balanced=False)
    values.update({k: v for k, v in numbers21.items()
                   if k.startswith("t3.") and k in s19.layout.cells and not s19.layout.cells[k].computed})
    balance(s19.layout, values)
    path = out / "form19_used_for_a_later_year.xlsx"
    write_workbook(s19, path, Agency(c.agency(), 2021), WriteOptions(values=values))

    def other_year(wb):
        wb[BASIC]["B4"].value = 2025
    path = openpyxl_edit(c.filled("year_cell_overwritten.xlsx"), other_year, unprotect=(BASIC,))

    def other_agency(wb):
        wb[BASIC]["B3"].value = "语料另一局"
    openpyxl_edit(c.filled("agency_cell_overwritten.xlsx"), other_agency, unprotect=(BASIC,))

    # file names that name another agency or year
    c.filled("语料对照局_报表.xlsx", agency="语料名错局")
    c.filled("年报_2023.xlsx")

    # the same agency and year twice: the older is superseded
    now = time.time()
    first = c.filled("resubmitted_first.xlsx", agency="语料重报局", seed=1)
    second = c.filled("resubmitted_second.xlsx", agency="语料重报局", seed=2)
    os.utime(first, (now - 7200, now - 7200))
    os.utime(second, (now - 3600, now - 3600))

    original = c.filled("sent_twice.xlsx")
    copy = out / "sent_twice - 副本.xlsx"
    shutil.copyfile(original, copy)
    os.utime(original, (now - 7200, now - 7200))
    os.utime(copy, (now - 600, now - 600))

    # totals and formulas
    def typed(cell_id, value):
        cell = L.cells[cell_id]

        def edit(wb):
            wb[cell.sheet][cell.a1].value = value
        return edit, (cell.sheet,)

    edit, sheets = typed("t3.new.total", 99999)
    path = openpyxl_edit(c.filled("row_total_typed_over.xlsx"), edit, unprotect=sheets)

    edit, sheets = typed("t3.results_total.natural_person", 99999)
    path = openpyxl_edit(c.filled("results_total_typed_over.xlsx"), edit, unprotect=sheets)

    edit, sheets = typed("t4.cases.review_total", 99999)
    path = openpyxl_edit(c.filled("review_total_typed_over.xlsx"), edit, unprotect=sheets)

    values = random_inputs(L, random.Random(c.seed()))
    right = sum(values[f"t3.new.{k}"] for k in ("natural_person", "business", "research", "public_interest",
                                                "legal_service", "other_org"))
    edit, sheets = typed("t3.new.total", right)
    path = openpyxl_edit(c.filled("total_typed_over_same_value.xlsx", values=values), edit, unprotect=sheets)

    path = c.filled("formula_changed_same_result.xlsx")
    j5 = cell_xml(dict(read_parts(path))["xl/worksheets/sheet4.xml"], "J5")
    cached = re.search(r"<v>([^<]*)</v>", j5).group(1)
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>D5+E5+F5+G5+H5+I5</f><v>{cached}</v>")})

    path = c.filled("formula_changed_wrong_result.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    cached = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "J5")).group(1))
    i5 = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "I5")).group(1))
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>SUM(D5:H5)</f><v>{cached - i5}</v>")})
    assert i5, "I5 is 0 for this seed: leaving it out would change nothing"

    path = c.filled("stale_cached_total.xlsx")
    sheet = dict(read_parts(path))["xl/worksheets/sheet4.xml"]
    cached = int(re.search(r"<v>([^<]*)</v>", cell_xml(sheet, "J5")).group(1))
    edit_parts(path, **{SHEET4: set_cell_xml("J5", f"<f>SUM(D5:I5)</f><v>{cached + 7}</v>")})

    def formula_input(wb):
        wb[T3]["D6"].value = "=3+4"
    path = openpyxl_edit(c.filled("formula_typed_into_input.xlsx"), formula_input)

    raw = {"t3.new.natural_person": "12件", "t3.new.business": "１２", "t3.new.research": "约10",
           "t4.cases.review_upheld": " 3 "}
    path = c.filled("text_units_fullwidth_in_numbers.xlsx", raw=raw)

    path = c.filled("negative_count.xlsx", raw={"t3.new.business": -3})

    path = c.filled("decimal_in_count.xlsx", raw={"t3.new.research": 2.5})

    path = c.filled("too_many_decimals_fee.xlsx", raw={"t2_8.admin_fees.fee_amount": 1.23456789})

    def date_in(wb):
        wb[T4]["A5"].value = dt.date(2024, 3, 1)
    path = openpyxl_edit(c.filled("date_in_number_cell.xlsx"), date_in)

    values = random_inputs(L, random.Random(c.seed()))
    for cid in [x.id for x in L.inputs() if x.table == "t4"]:
        values.pop(cid, None)
    path = out / "table_four_left_blank.xlsx"     # not c.filled(): its random fill would refill table 四
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))

    values = random_inputs(L, random.Random(c.seed()), balanced=False)
    left_blank = ["t3.withheld_inquiry.research", "t3.declined_repeated.legal_service"]
    values.update(dict.fromkeys(left_blank, 0))
    balance(L, values)
    for cid in left_blank:
        values.pop(cid)
    path = out / "two_cells_left_blank.xlsx"
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))

    def rename_sheet(wb):
        wb[T3].title = "三、依申请公开(2)"
    path = openpyxl_edit(c.filled("sheet_renamed.xlsx"), rename_sheet)

    def unknown_form(wb):
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == "form_id":
                row[1].value = "govinfo-annual-2035"
    path = openpyxl_edit(c.filled("hidden_sheet_names_unknown_form.xlsx"), unknown_form)

    path = c.filled("infinity_in_count.xlsx")
    edit_parts(path, **{SHEET4: set_cell_xml("D5", "<v>1e999</v>")})

    bounds(c)

    path = c.filled("formula_broken_ref.xlsx")
    j5 = cell_xml(dict(read_parts(path))["xl/worksheets/sheet4.xml"], "J5")
    style = re.search(r' s="\d+"', j5).group(0)
    edit_parts(path, **{SHEET4: lambda d: d.replace(
        j5.encode(), f'<c r="J5"{style} t="e"><f>SUM(D5:#REF!)</f><v>#REF!</v></c>'.encode())})

    values = random_inputs(L, random.Random(c.seed()))
    values["t3.new.natural_person"] += 5      # the parts no longer add up (T3-A: 新收 + 结转 = 办理结果 + 结转下年)
    path = out / "t3a_does_not_balance.xlsx"
    write_workbook(s21, path, Agency(c.agency(), 2024), WriteOptions(values=values))


# --------------------------------------------------------------------------- 6. bounds

def bounds(c: Corpus) -> None:
    """What a return can make big (xltool/checks/bounds.py): numbers, texts, findings per check."""
    path = c.filled("count_of_400_nines.xlsx")
    edit_parts(path, **{SHEET4: set_cell_xml("D5", f"<v>{'9' * 400}</v>")})

    path = c.filled("count_1e308.xlsx")
    edit_parts(path, **{SHEET4: set_cell_xml("D5", "<v>1e308</v>")})

    path = c.filled("count_above_a_billion.xlsx", raw={"t3.new.business": 1_000_000_001})

    path = c.filled("agency_name_7MB.xlsx", agency="语料超长名称局")
    rng = random.Random(c.seed())
    name = "".join(rng.choice(["某某市局", "人民政府", "办公室的", "信息公开"]) for _ in range(7 * MB // 12))
    edit_parts(path, xl__sharedStrings_xml=lambda d: d.replace("语料超长名称局".encode(), name.encode()))

    path = c.filled("text_part_too_long.xlsx", raw={"text.overview": "公开" * 10_001})

    spec = get_spec(F2021)
    raw = {cell.id: "无" for cell in spec.layout.inputs() if cell.type.numeric and cell.table}
    path = c.filled("words_in_every_number_cell.xlsx", raw=raw)

    # numbers Excel never stores: Python's int() and float() read them, a spreadsheet program does not
    for name, text in (("arabic_indic_digits_in_v.xlsx", "\u0663\u0665"), ("fullwidth_digits_in_v.xlsx", "\uff13\uff15"),
                       ("underscore_number_in_v.xlsx", "1_000")):
        edit_parts(c.filled(name), **{SHEET4: set_cell_xml("D5", f"<v>{text}</v>")})

    # a file name of 251 bytes (82 x 某 + .xlsx): its outputs' names must still fit the file system
    c.filled("某" * 82 + ".xlsx")


# --------------------------------------------------------------------------- main

def build(out: Path) -> tuple[list[str], dict[str, str]]:
    """Write the corpus into `out`; return (the relative paths made, how the real files were made)."""
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
    check_unique(out)
    return sorted(entries(out)), made


def entries(out: Path) -> list[str]:
    """Every file, link and special file under `out` (links are not followed), relative, / separated."""
    found = []
    for folder, dirs, files in os.walk(out, followlinks=False):
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            found.append((Path(folder) / name).relative_to(out).as_posix())
    return found


def check_unique(out: Path) -> None:
    """Only the intended pair may be byte-identical: any other would add a duplicate-content finding."""
    seen: dict[str, str] = {}
    for rel in sorted(entries(out)):
        path = out / rel
        hidden = any(part.startswith((".", "~$", "__MACOSX")) for part in Path(rel).parts)
        if hidden or path.is_symlink() or not path.is_file():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen and {rel, seen[digest]} != INTENDED_DUPLICATES:
            raise AssertionError(f"{rel} is identical to {seen[digest]}")
        seen.setdefault(digest, rel)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path, metavar="OUTDIR", help="an empty or new folder: the corpus inbox")
    args = ap.parse_args()
    started = time.perf_counter()
    made_files, made = build(args.outdir)
    print(f"{len(made_files)} files in {args.outdir} ({time.perf_counter() - started:.1f} s)")
    for what, how in made.items():
        print(f"  {what}: {how}")


if __name__ == "__main__":
    main()
