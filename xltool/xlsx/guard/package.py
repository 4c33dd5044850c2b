"""The checks on a zip that passed the magic-byte test, in the order they can run: what kind of
package it is, the workbook and its relationships, the files it links to, a DTD in any XML
part, each sheet's extent and formulas (the sheet scan), macros and the file's extension.

Every part is read through the shared `Package`, which decompresses it once and keeps what the
reader will parse next; a part this module parses is parsed for the reader too.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from xml.etree.ElementTree import Element, ParseError

from xltool.findings import Finding
from xltool.xlsx.guard.codes import (
    EXTERNAL_LINK,
    MACRO_ENABLED,
    MISSING_WORKBOOK_PART,
    NOT_A_WORKBOOK,
    SHEET_TOO_LARGE,
    STRICT_OOXML,
    UNSUPPORTED_SPREADSHEET,
    WRONG_EXTENSION,
    XML_ENTITY,
    XML_MALFORMED,
    ZIP_CORRUPT,
    ZIP_ENTRY_TOO_LARGE,
)
from xltool.xlsx.guard.container import container_findings
from xltool.xlsx.guard.links import external_targets_in_formula
from xltool.xlsx.guard.result import GuardResult, Limits, mb, result
from xltool.xlsx.guard.scan import SheetScan
from xltool.xlsx.package import (
    CONTENT_TYPES_PART,
    DEFAULT_WORKBOOK_PART,
    MAX_PART_BYTES,
    READ_ERRORS,
    DefusedXmlException,
    Package,
    PartTooLarge,
    Relationship,
    ascii_compatible,
    derived,
    local_name,
    relationships_part,
)

STRICT_SPREADSHEETML_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_XML_PART_SUFFIXES = (".xml", ".rels", ".vml")
_EXTERNAL_LINK_PART = re.compile(r"^xl/externalLinks/[^/]+\.xml$")
_CHUNK_BYTES = 64 * 1024
# The workbook, relationship and content-type parts are parsed whole; real ones are KBs.
_METADATA_PART_LIMIT = 4 * 1024 * 1024
# One hostile archive must not produce thousands of identical lines in a report.
_MAX_FINDINGS_PER_CODE = 5
_MAX_TARGETS_SHOWN = 5


def inspect_package(package: Package, path: PurePath, limits: Limits) -> GuardResult:
    """The verdict on an opened package."""
    return _PackageInspection(package, path, limits).run()


class _Rejected(Exception):
    """Raised deep inside a check when nothing after it can be trusted."""

    def __init__(self, finding: Finding):
        super().__init__(finding.code)
        self.finding = finding


@dataclass(frozen=True)
class _WorkbookPart:
    """Shared by the packages that hold the same workbook part (package.derived): never changed."""
    sheets: tuple[tuple[str, str], ...]      # (sheet name, relationship id)
    external_reference_ids: tuple[str, ...]  # relationship ids, in [1], [2], ... order
    defined_name_formulas: tuple[str, ...]


class _PackageInspection:
    """The checks on a zip that passed the magic-byte test, in the order they can run."""

    def __init__(self, package: Package, path: PurePath, limits: Limits):
        self.package = package
        self.path = path
        self.limits = limits
        self.infos = package.infos
        self.kind = "zip"
        self.findings: list[Finding] = []
        self.external_refs: list[str] = []
        self._per_code: Counter[str] = Counter()

    def run(self) -> GuardResult:
        try:
            self._inspect()
        except _Rejected as rejected:
            self._add(rejected.finding)
        return result(self.kind, self.findings, self.external_refs)

    def _add(self, finding: Finding) -> None:
        self._per_code[finding.code] += 1
        if self._per_code[finding.code] <= _MAX_FINDINGS_PER_CODE:
            self.findings.append(finding)

    def _inspect(self) -> None:
        # archive.infolist(), not self.infos: the dict keeps only the last of two equal names
        container = container_findings(self.package.archive.infolist(), self.limits)
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
            self._note_external(external_targets_in_formula(formula, link_targets))
        self._report_external_links()
        self._check_macros()
        self._check_extension()

    # ---- what kind of package

    def _locate_workbook(self) -> str | None:
        """The workbook part, found the way openpyxl finds it; None when there is none."""
        if CONTENT_TYPES_PART not in self.infos:
            self._classify_non_workbook()
            return None
        self._parse_xml(CONTENT_TYPES_PART)
        found = self.package.workbook_part(_METADATA_PART_LIMIT)
        if found is None:
            self._classify_non_workbook()
            return None
        part, self.kind = found
        if part not in self.infos:
            self._add(_missing_part(part))
            return None
        return part

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
        if CONTENT_TYPES_PART not in self.infos:
            return _missing_part(CONTENT_TYPES_PART)
        if DEFAULT_WORKBOOK_PART not in self.infos:
            return _missing_part(DEFAULT_WORKBOOK_PART)
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
        return derived(root, "guard: workbook part", _workbook_part)

    def _read_relationships(self, source_part: str, required: bool = False) -> dict[str, Relationship]:
        rels_part = relationships_part(source_part)
        if rels_part not in self.infos:
            if required:   # openpyxl cannot find the sheets without it
                raise _Rejected(_missing_part(rels_part))
            return {}
        self._parse_xml(rels_part)
        return {rel.id: rel for rel in self.package.relationships(source_part, _METADATA_PART_LIMIT)}

    def _sheet_parts(self, workbook: _WorkbookPart,
                     relationships: dict[str, Relationship]) -> list[tuple[str, str]]:
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
                                relationships: dict[str, Relationship]) -> list[str]:
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
            name = local_name(element.tag)
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
        openpyxl parses most of them. Each part's head settles it (the package remembers)."""
        clean = True
        for part in self.infos:
            if part in exclude or not part.lower().endswith(_XML_PART_SUFFIXES):
                continue
            if self._declares_dtd(part):
                self._add(XML_ENTITY.at(part=part))
                clean = False
        return clean

    def _declares_dtd(self, part: str) -> bool:
        with self._reading(part):
            return self.package.declares_dtd(part)

    def _parse_xml(self, part: str) -> Element:
        limit = min(self.limits.max_entry_bytes, _METADATA_PART_LIMIT)
        info = self.infos[part]
        if info.file_size > limit:
            raise _Rejected(ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=mb(info.file_size), limit_mb=mb(limit)))
        try:
            with self._reading(part):
                return self.package.xml(part, limit)
        except PartTooLarge:
            raise _Rejected(ZIP_ENTRY_TOO_LARGE.at(part=part, size_mb=f">{mb(limit)}", limit_mb=mb(limit))) from None
        except DefusedXmlException:
            raise _Rejected(XML_ENTITY.at(part=part)) from None
        except ParseError:
            raise _Rejected(XML_MALFORMED.at(part=part, reason="不是有效的 XML",
                                             reason_en="not well-formed XML")) from None

    def _read_head(self, part: str) -> bytes:
        with self._reading(part):
            return self.package.head(part)

    @staticmethod
    @contextmanager
    def _reading(part: str) -> Iterator[None]:
        """Turn any way a damaged member can fail to read into a `zip-corrupt` finding."""
        try:
            yield
        except READ_ERRORS as exc:
            raise _Rejected(ZIP_CORRUPT.at(part=part, reason=str(exc) or type(exc).__name__)) from exc

    # ---- sheets

    def _scan_sheet(self, sheet_name: str, part: str, link_targets: list[str]) -> None:
        """Stream the sheet through the scan; the package keeps the bytes for the reader. A part
        this process has scanned before, byte for byte, is judged by that scan."""
        def declares_dtd(head: bytes) -> bool:
            return self.package.declares_dtd(part, head)

        with self._reading(part):
            record = self.package.record(part)
            if record is not None:
                scan = record.derived(("guard: sheet scan", self.limits), lambda data: _scanned(
                    iter([data[start:start + _CHUNK_BYTES] for start in range(0, len(data), _CHUNK_BYTES)]),
                    self.limits, declares_dtd))
            else:
                scan = _scanned(self.package.chunks(part, _CHUNK_BYTES, keep_up_to=MAX_PART_BYTES), self.limits,
                                declares_dtd)
        if scan is _DECLARES_DTD:
            raise _Rejected(XML_ENTITY.at(sheet=sheet_name, part=part))
        if scan is _NOT_ASCII:
            self._add(XML_MALFORMED.at(sheet=sheet_name, part=part, reason="使用了非常规的文字编码或不是 XML",
                                       reason_en="unusual text encoding, or not XML"))
            return
        if scan.problem:
            zh, en = scan.problem
            self._add(XML_MALFORMED.at(sheet=sheet_name, part=part, reason=zh, reason_en=en))
        elif scan.too_large:
            self._add(SHEET_TOO_LARGE.at(sheet=sheet_name, **scan.extent_args()))
        for formula in scan.formulas:
            self._note_external(external_targets_in_formula(formula, link_targets))

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


def _workbook_part(root: Element) -> _WorkbookPart:
    """What the checks need from the workbook part (found anywhere in it, as openpyxl would)."""
    sheets, external_ids, defined_names = [], [], []
    for element in root.iter():
        name = local_name(element.tag)
        if name == "sheet":
            sheets.append((element.get("name") or "", _relationship_id(element)))
        elif name == "externalReference":
            external_ids.append(_relationship_id(element))
        elif name == "definedName" and element.text and "[" in element.text:
            defined_names.append(element.text)
    return _WorkbookPart(tuple(sheets), tuple(external_ids), tuple(defined_names))


def _missing_part(part: str | None, sheet: str | None = None) -> Finding:
    if part is None:
        return MISSING_WORKBOOK_PART.at(sheet=sheet, part=f"工作表“{sheet}”的内容",
                                        part_en=f"the content of sheet '{sheet}'")
    return MISSING_WORKBOOK_PART.at(sheet=sheet, part=f"“{part}”", part_en=f"'{part}'")


def _relationship_id(element: Element) -> str:
    return next((value for key, value in element.attrib.items() if key.endswith("}id")), "")


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


# What the scan can say besides its own findings: the body is not scanned then.
_DECLARES_DTD, _NOT_ASCII = object(), object()


def _scanned(chunks: Iterator[bytes], limits: Limits, declares_dtd: Callable[[bytes], bool]) -> SheetScan | object:
    """A sheet part's chunks through the scan (which reads bytes as ASCII markup): the finished
    scan, or _DECLARES_DTD / _NOT_ASCII when its head (the first chunk) rules the scan out."""
    scan = SheetScan(limits)
    try:
        head = next(chunks, b"")
        if declares_dtd(head):
            return _DECLARES_DTD
        if not ascii_compatible(head):
            return _NOT_ASCII
        scan.feed(head)
        while not scan.stopped and (chunk := next(chunks, None)) is not None:
            scan.feed(chunk)
        scan.finish()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return scan
