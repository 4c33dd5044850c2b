"""Parts that come back byte for byte are given without inflating them again, and judged as before:
the same bytes, the same verdicts, each file's own names in its findings, and nothing recognised
that zipfile would not read the same way."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections import Counter

import pytest

from tests.packages import counting_opens
from tests.xlsx.test_guard import SHEET, WORKBOOK, make_workbook, members, write_zip
from tests.xlsx.test_package import zipped
from xltool.xlsx.guard import Limits, inspect_file
from xltool.xlsx.package import MAX_PART_BYTES, Package
from xltool.xlsx.read import read_workbook_openpyxl
from xltool.xlsx.repeated_parts import PART_MAX_BYTES, REPEATED_PARTS, member_key, recognised, remembered
from xltool.xlsx.returned import open_bytes
from xltool.xlsx.seen_twice import SeenTwice


@pytest.fixture(autouse=True)
def nothing_remembered():
    REPEATED_PARTS.clear()
    yield
    REPEATED_PARTS.clear()


def test_a_return_read_a_third_time_is_not_inflated_and_reads_the_same(tmp_path, monkeypatch):
    """The first reading notes each part, the second remembers it, the third inflates nothing
    (every part is under the size remembered) and gives the same verdict and workbook."""
    data = make_workbook(tmp_path / "a.xlsx").read_bytes()
    first = open_bytes(data, "a.xlsx")
    open_bytes(data, "a.xlsx")
    opened = counting_opens(monkeypatch)
    third = open_bytes(data, "a.xlsx")
    assert dict(opened) == {}
    assert (third.guard.kind, third.guard.findings, third.guard.parseable) == (
        first.guard.kind, first.guard.findings, first.guard.parseable)
    assert third.workbook == first.workbook and third.workbook is not None


def test_two_agencies_share_the_parts_they_have_alike(tmp_path, monkeypatch):
    """Returns of one form differ in the sheets filled in: those are inflated, the rest is not."""
    one = make_workbook(tmp_path / "one.xlsx").read_bytes()
    parts = members(tmp_path / "one.xlsx")
    for _ in range(2):
        open_bytes(one, "one.xlsx")
    other_sheet = parts[SHEET].replace(b"<v>105</v>", b"<v>106</v>")
    assert other_sheet != parts[SHEET]
    other = write_zip(tmp_path / "other.xlsx", {**parts, SHEET: other_sheet}).read_bytes()
    opened = counting_opens(monkeypatch)
    returned = open_bytes(other, "other.xlsx")
    assert dict(opened) == {SHEET: 1}
    assert returned.workbook == open_bytes(other, "again.xlsx").workbook
    assert returned.workbook.sheets["填报表"].get(10, 2).value == 106


def test_a_findings_names_are_each_files_own_when_the_scan_is_shared(tmp_path):
    """A sheet too large, byte for byte in two returns, is scanned once; each finding names the
    sheet as that return's workbook names it."""
    path = make_workbook(tmp_path / "big.xlsx")
    parts = members(path)
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:D5000"/>', parts[SHEET])
    for index, name in enumerate(["表一", "表二", "表三", "表四"]):   # noted, kept, scanned, shared
        workbook = parts[WORKBOOK].replace("填报表".encode(), name.encode())
        result = inspect_file(write_zip(tmp_path / f"{index}.xlsx", {**parts, SHEET: sheet, WORKBOOK: workbook}))
        assert [(f.code, f.sheet) for f in result.findings] == [("sheet-too-large", name)]
    smaller = Limits(max_rows=10)       # the scan is shared only under the same limits
    assert [f.code for f in inspect_file(path, smaller).findings] == ["sheet-too-large"]
    assert inspect_file(path).findings == []


def with_member_patched(data: bytes, name: str, central_offset: int, fmt: str, value) -> bytes:
    """A copy of a zip with one field of one member's central directory record changed."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46:at + 46 + name_length] == name.encode():
            struct.pack_into(fmt, out, at + central_offset, value)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(name)


def test_only_a_member_zipfile_would_read_the_same_way_is_recognised():
    part = b"<x>" + b"<y>same</y>" * 200 + b"</x>"
    good = zipped({"p.xml": part})
    for _ in range(2):
        assert Package.open(good).read("p.xml", MAX_PART_BYTES) == part
    assert Package.open(good).record("p.xml").data == part

    # a CRC that does not match the bytes: zipfile refuses them, and so does the package
    crc = zlib.crc32(part)
    bad_crc = with_member_patched(good, "p.xml", 16, "<I", crc ^ 1)
    assert Package.open(bad_crc).record("p.xml") is None
    with pytest.raises(zipfile.BadZipFile):
        Package.open(bad_crc).read("p.xml", MAX_PART_BYTES)

    # a local header naming another file: zipfile refuses it
    local_renamed = good.replace(b"p.xml", b"q.xml", 1)
    assert Package.open(local_renamed).record("p.xml") is None
    with pytest.raises(zipfile.BadZipFile):
        Package.open(local_renamed).read("p.xml", MAX_PART_BYTES)

    # the same compressed bytes declared one byte shorter: zipfile's bytes, not the remembered ones
    shorter = with_member_patched(good, "p.xml", 24, "<I", len(part) - 1)
    assert Package.open(shorter).record("p.xml") is None

    # a local header pointing past the end of the file is not read by the package
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("p.xml")
    assert member_key(good[:info.header_offset + 40], info) is None


def test_a_package_opened_without_its_bytes_reads_through_zipfile(tmp_path):
    path = tmp_path / "p.zip"
    path.write_bytes(zipped({"p.xml": b"<x/>"}))
    for _ in range(3):
        package = Package.open(path)
        assert package.read("p.xml", MAX_PART_BYTES) == b"<x/>" and package.record("p.xml") is None


def test_what_is_remembered_is_bounded(monkeypatch):
    """Large parts are never remembered; the others no more than the budget, oldest out first."""
    from xltool.xlsx import repeated_parts
    monkeypatch.setattr(repeated_parts, "REPEATED_PARTS", SeenTwice(50_000, lambda key, _record: key[4] + key[5]))
    big = b"<p>" + b"q" * PART_MAX_BYTES + b"</p>"
    archive = zipped({"b.xml": big})
    assert member_key(archive, zipfile.ZipFile(io.BytesIO(archive)).getinfo("b.xml")) is None
    keys = []
    for i in range(10):
        data = f"<p n='{i}'>".encode() + b"<q/>" * 2500 + b"</p>"       # ~10 KB each
        archive = zipped({"p.xml": data})
        key = member_key(archive, zipfile.ZipFile(io.BytesIO(archive)).getinfo("p.xml"))
        assert remembered(key, data) is None          # seen once: only noted
        assert remembered(key, data[:-1]) is None     # not all of it: never kept
        assert remembered(key, data).data == data     # seen twice: kept
        keys.append(key)
    assert recognised(keys[-1]) is not None and recognised(keys[0]) is None
    assert all(recognised(key) is not None for key in keys[-4:])     # as many as fit (~10 KB each)
    assert sum(key[4] + key[5] for key in keys if recognised(key) is not None) <= 50_000


def test_a_sheet_read_again_takes_each_returns_own_shared_strings_and_styles(tmp_path):
    """The same sheet bytes name the shared strings by number: each return's own texts appear,
    and its own styles decide what is locked, as openpyxl reads that return."""
    path = make_workbook(tmp_path / "base.xlsx")
    parts = members(path)
    strings, styles = parts["xl/sharedStrings.xml"], parts["xl/styles.xml"]
    variants = [strings, strings.replace("单位1<".encode(), "单位甲<".encode()), strings,
                strings.replace("项目2<".encode(), "项目乙<".encode())]
    assert len(set(variants)) == 3
    unlocked = styles.replace(b"<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/></cellXfs>",
                              b"<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyProtection=\"1\">"
                              b"<protection locked=\"0\"/></xf></cellXfs>")
    assert unlocked != styles
    for round_ in range(3):
        for index, (texts, cell_styles) in enumerate([*((v, styles) for v in variants), (strings, unlocked)]):
            data = write_zip(tmp_path / f"{round_}-{index}.xlsx",
                             {**parts, "xl/sharedStrings.xml": texts, "xl/styles.xml": cell_styles}).read_bytes()
            assert open_bytes(data, "r.xlsx").workbook == read_workbook_openpyxl(data), (round_, index)


def _verdict(data: bytes):
    returned = open_bytes(data, "r.xlsx")
    return (returned.guard.kind, returned.guard.findings, returned.guard.parseable, returned.workbook,
            type(returned.read_error).__name__)


def test_remembered_parts_never_change_a_verdict_on_damaged_bytes(tmp_path, monkeypatch):
    """A return's bytes damaged anywhere (local headers, compressed data, the central directory)
    get the verdict and workbook they get from a worker that remembers nothing, however many
    times the intact return was read before."""
    import random
    data = make_workbook(tmp_path / "a.xlsx").read_bytes()
    found = Counter()
    original_get = REPEATED_PARTS.get

    def counted_get(key):
        record = original_get(key)
        found[record is not None] += 1
        return record

    monkeypatch.setattr(REPEATED_PARTS, "get", counted_get)
    rng = random.Random(20261202)
    damaged = []
    for _ in range(150):
        copy = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            copy[rng.randrange(len(copy))] = rng.randrange(256)
        damaged.append(bytes(copy))
    fresh = []
    for copy in damaged:
        REPEATED_PARTS.clear()
        fresh.append(_verdict(copy))
    REPEATED_PARTS.clear()
    for _ in range(2):
        _verdict(data)      # every part of the intact return remembered
    found.clear()
    for copy, expected in zip(damaged, fresh, strict=True):
        assert _verdict(copy) == expected
    assert found[True] > 500 and found[False] > 20     # most parts still recognised, the damaged ones not
