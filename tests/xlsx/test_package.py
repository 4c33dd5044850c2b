"""xlsx.package: one zip over a returned file's bytes, each part read and parsed once, the DTD
question settled once per part, relationships and the workbook part found as openpyxl finds them."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections import Counter
from xml.etree.ElementTree import ParseError

import pytest
import xlsxwriter
from defusedxml import DTDForbidden

from xltool.xlsx.package import MAX_PART_BYTES, Package, PartTooLarge, dtd_in_head, parse_xml

CT = "[Content_Types].xml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def zipped(parts: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def content_types(overrides: list[tuple[str, str]] = (), defaults: list[str] = ()) -> str:
    body = "".join(f'<Default Extension="x{i}" ContentType="{t}"/>' for i, t in enumerate(defaults))
    body += "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    return f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">{body}</Types>'


class CountingPackage(Package):
    """A Package that counts how often each part is decompressed from the start."""

    def __init__(self, archive: zipfile.ZipFile):
        super().__init__(archive)
        self.opened: Counter[str] = Counter()
        original = archive.open

        def counting_open(name, *args, **kwargs):
            self.opened[getattr(name, "filename", name)] += 1
            return original(name, *args, **kwargs)
        archive.open = counting_open


def test_a_part_is_decompressed_once_whatever_is_asked_of_it():
    package = CountingPackage(zipfile.ZipFile(io.BytesIO(zipped({"a.xml": "<a>" + "x" * 10_000 + "</a>"}))))
    whole = package.read("a.xml", MAX_PART_BYTES)
    assert package.head("a.xml") == whole[:4096]
    assert not package.declares_dtd("a.xml")
    assert package.xml("a.xml", MAX_PART_BYTES) is package.xml("a.xml", MAX_PART_BYTES)   # parsed once too
    assert package.opened == {"a.xml": 1}


def test_a_streamed_part_is_kept_for_the_next_reader_only_when_read_to_its_end():
    data = b"<a>" + b"y" * 200_000 + b"</a>"
    package = CountingPackage(zipfile.ZipFile(io.BytesIO(zipped({"s.xml": data, "t.xml": data}))))
    assert b"".join(package.chunks("s.xml", 65536, keep_up_to=MAX_PART_BYTES)) == data
    assert package.read("s.xml", MAX_PART_BYTES) == data
    assert package.opened["s.xml"] == 1
    stream = package.chunks("t.xml", 65536, keep_up_to=MAX_PART_BYTES)
    next(stream)
    stream.close()                                   # the scan stopped early: nothing kept
    assert package.read("t.xml", MAX_PART_BYTES) == data
    assert package.opened["t.xml"] == 2
    assert b"".join(package.chunks("t.xml", 4096, keep_up_to=10)) == data   # kept from the read


def test_reads_are_bounded():
    package = Package.open(zipped({"big.xml": "<a>" + "z" * 5000 + "</a>"}))
    assert len(package.read("big.xml", 100)) == 101
    with pytest.raises(PartTooLarge):
        package.xml("big.xml", 100)
    assert package.xml("big.xml", 10_000).tag == "a"


@pytest.mark.parametrize("text, verdict", [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', True),
    (b"\xef\xbb\xbf<!-- c --><?pi x?>\n<!DOCTYPE x><x/>", True),
    (b'<?xml version="1.0" encoding="UTF-8"?><x/>', False),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x><x/>'.encode("utf-16"), True),   # the parser decides
    ('<?xml version="1.0" encoding="UTF-16"?><x/>'.encode("utf-16"), False),
])
def test_the_dtd_test(text, verdict):
    package = Package.open(zipped({"p.xml": text}))
    assert package.declares_dtd("p.xml") is verdict
    if verdict:
        with pytest.raises(DTDForbidden):
            package.xml("p.xml", MAX_PART_BYTES)
        with pytest.raises(DTDForbidden):
            parse_xml(text)
    else:
        assert package.xml("p.xml", MAX_PART_BYTES).tag == "x" == parse_xml(text).tag


def test_the_head_alone_cannot_tell_for_unusual_encodings():
    assert dtd_in_head('<?xml version="1.0" encoding="UTF-16"?><x/>'.encode("utf-16")) is None
    assert dtd_in_head(b"<?xml version='1.0' encoding='cp037'?><x/>") is None
    assert dtd_in_head(b"not xml") is None


def test_the_same_part_bytes_in_another_package_give_the_same_tree():
    """Workers read thousands of returns whose workbook.xml, styles.xml... are byte for byte alike:
    such a part is parsed once per process; a different part is parsed for itself."""
    part = b'<?xml version="1.0"?><x a="1"><y/></x>'
    Package.open(zipped({"w.xml": part})).xml("w.xml", MAX_PART_BYTES)
    second = Package.open(zipped({"w.xml": part})).xml("w.xml", MAX_PART_BYTES)     # seen again: kept
    third = Package.open(zipped({"other/name.xml": part})).xml("other/name.xml", MAX_PART_BYTES)
    assert third is second
    changed = part.replace(b'"1"', b'"2"')
    once = Package.open(zipped({"w.xml": changed})).xml("w.xml", MAX_PART_BYTES)
    assert once is not second and once.get("a") == "2"


def test_a_part_seen_once_is_not_kept():
    """An agency's filled sheets differ from every other file's: their trees are not kept (they
    would push out the parts that do come back), only a hash saying they were seen."""
    from xltool.xlsx import package as package_module

    part = b"<x>" + b"<y>unique to this test</y>" * 50 + b"</x>"
    Package.open(zipped({"s.xml": part})).xml("s.xml", MAX_PART_BYTES)
    assert part not in package_module._SHARED_TREES
    Package.open(zipped({"s.xml": part})).xml("s.xml", MAX_PART_BYTES)
    assert part in package_module._SHARED_TREES


def test_the_shared_trees_are_bounded_in_total():
    """A worker reading returns whose parts all differ keeps no more than the budget of them."""
    from xltool.xlsx import package as package_module

    parts = [f"<p n='{i}'>".encode() + b"<q/>" * 15_000 + b"</p>" for i in range(40)]   # ~60 KB each
    trees = [[Package.open(zipped({"p.xml": part})).xml("p.xml", MAX_PART_BYTES) for _ in range(2)][1]
             for part in parts]
    kept = package_module._SHARED_TREES
    assert sum(map(len, kept.keys())) <= package_module._SHARED_BYTES_KEPT
    assert kept.get(parts[-1]) is trees[-1] and parts[0] not in kept     # the least recently used went first
    assert all(part in kept for part in parts[-10:])     # and no more than needed (~60 KB each)


def test_every_package_still_checks_a_shared_part_for_itself():
    """The tree is shared only after this package's own size and DTD checks: the same bytes
    behind a DOCTYPE, or over a smaller limit, are refused as before."""
    body = b"<x>" + b"z" * 200 + b"</x>"
    Package.open(zipped({"p.xml": body})).xml("p.xml", MAX_PART_BYTES)
    with pytest.raises(PartTooLarge):
        Package.open(zipped({"p.xml": body})).xml("p.xml", 100)
    with pytest.raises(DTDForbidden):
        Package.open(zipped({"p.xml": b"<!DOCTYPE x>" + body})).xml("p.xml", MAX_PART_BYTES)
    for _ in range(2):       # a part that does not parse is never remembered: it fails every time
        with pytest.raises(ParseError):
            Package.open(zipped({"m.xml": "<a><b></a>"})).xml("m.xml", MAX_PART_BYTES)


def test_malformed_xml_is_a_parse_error():
    with pytest.raises(ParseError):
        Package.open(zipped({"m.xml": "<a><b></a>"})).xml("m.xml", MAX_PART_BYTES)


def test_relationships_resolved_as_openpyxl_resolves_them():
    rels = (f'<Relationships xmlns="{RELS_NS}">'
            f'<Relationship Id="rId1" Type="{SHEET_REL}" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{SHEET_REL}" Target="/xl/worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId3" Type="{SHEET_REL}" Target="../other/s.xml"/>'
            f'<Relationship Id="rId4" Type="x/externalLinkPath" Target="file:///C:/a.xlsx" TargetMode="External"/>'
            f'<Note Id="n" Type="t" Target="ignored"/>'
            f'</Relationships>')
    package = Package.open(zipped({"xl/_rels/workbook.xml.rels": rels}))
    found = package.relationships("xl/workbook.xml", MAX_PART_BYTES)
    assert [(r.id, r.target, r.external) for r in found] == [
        ("rId1", "xl/worksheets/sheet1.xml", False), ("rId2", "xl/worksheets/sheet2.xml", False),
        ("rId3", "other/s.xml", False), ("rId4", "file:///C:/a.xlsx", True)]
    assert all(r.loads for r in found)
    assert package.relationships("xl/worksheets/sheet1.xml", MAX_PART_BYTES) is None   # no .rels part


def test_a_relationship_openpyxl_would_not_load_is_marked():
    rels = (f'<Relationships xmlns="{RELS_NS}"><Relationship Id="rId1" Type="{SHEET_REL}" '
            f'Target="worksheets/sheet1.xml" Surprise="1"/><Relationship Id="rId2" Type="{SHEET_REL}"/>'
            f'</Relationships>')
    found = Package.open(zipped({"xl/_rels/workbook.xml.rels": rels})).relationships("xl/workbook.xml", MAX_PART_BYTES)
    assert [r.loads for r in found] == [False, False]


@pytest.mark.parametrize("overrides, defaults, expected", [
    ([("/xl/workbook.xml", XLSX)], [], ("xl/workbook.xml", "xlsx")),
    ([("/xl/book.xml", XLSX), ("/xl/macro.xml", XLSM)], [], ("xl/macro.xml", "xlsm")),  # openpyxl's order
    ([("/xl/book.xml", XLSX)], [XLSM], ("xl/book.xml", "xlsx")),      # any override before a default
    ([], [XLSX], ("xl/workbook.xml", "xlsx")),
    ([("/docProps/app.xml", "application/xml")], [], None),
])
def test_the_workbook_part_is_found_as_openpyxl_finds_it(overrides, defaults, expected):
    package = Package.open(zipped({CT: content_types(overrides, defaults)}))
    assert package.workbook_part(MAX_PART_BYTES) == expected


def test_a_generated_workbook(tmp_path):
    path = tmp_path / "w.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("数据").write(0, 0, "x")
    book.close()
    package = Package.open(path.read_bytes())
    part, kind = package.workbook_part(MAX_PART_BYTES)
    assert (part, kind) == ("xl/workbook.xml", "xlsx")
    sheets = [r.target for r in package.relationships(part, MAX_PART_BYTES) if r.type == SHEET_REL]
    assert sheets == ["xl/worksheets/sheet1.xml"]
    assert package.part_of_type(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml", MAX_PART_BYTES
    ) == "xl/sharedStrings.xml"


def test_what_is_kept_is_bounded_in_total(monkeypatch):
    from xltool.xlsx import package as package_module
    monkeypatch.setattr(package_module, "_KEEP_BUDGET", 25_000)
    parts = {f"p{i}.xml": "<a>" + "x" * 10_000 + "</a>" for i in range(5)}
    package = CountingPackage(zipfile.ZipFile(io.BytesIO(zipped(parts))))
    for name in parts:
        assert package.head(name).startswith(b"<a>")
        assert len(package.read(name, MAX_PART_BYTES)) == 10_007       # still read right, kept or not
    assert sum(map(len, package._bytes.values())) <= 25_000
    assert [package.opened[name] for name in parts] == [1, 1, 2, 2, 2]


def test_a_part_damaged_past_its_head_still_gives_its_head():
    data = bytearray(zipped({"d.xml": "<a>" + "q" * 9000 + "</a>"}))
    stored = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("d.xml")
    data[stored.header_offset + 30 + len("d.xml") + stored.compress_size - 3] ^= 0xFF   # near its end
    package = Package.open(bytes(data))
    assert package.head("d.xml").startswith(b"<a>qqq")
    with pytest.raises((zipfile.BadZipFile, zlib.error)):
        package.read("d.xml", MAX_PART_BYTES)
