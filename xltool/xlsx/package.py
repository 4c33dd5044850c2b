"""The package plumbing the guard and the reader share: one zip over a returned file's bytes.

A `Package` opens the zip once and gives what both need, each worked out once: a part's bytes
(decompressed once, never more than the caller's bound), whether a part declares a DTD (the one
DTD test, settled from the part's head when it can be and by defusedxml otherwise), the parsed
XML of a part, its relationships with their targets resolved, and the workbook part found the
way openpyxl finds it. It judges nothing: the guard turns what it finds into findings, the
reader into a WorkbookData.

XML is parsed by the standard library's C ElementTree only once the part is known to have no
DTD (so no entity can be declared; expat >= 2.4 also caps entity amplification); a part whose
head cannot tell goes through defusedxml with `forbid_dtd=True`.

Across packages, in one process: a small part whose compressed bytes came before is not inflated
again (repeated_parts), a small part whose exact bytes were parsed before gets the same tree
again (returns of one form share their workbook, styles and unchanging sheets byte for byte),
and what `derived` works out from a tree is shared with it. Shared trees and results are read,
never changed.
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import weakref
import zipfile
import zlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar
from xml.etree import ElementTree as ET

from xltool.xlsx.repeated_parts import PART_MAX_BYTES, MemberKey, PartRecord, member_key, recognised, remembered
from xltool.xlsx.seen_twice import SeenTwice

try:
    from defusedxml import (  # defusedxml: optional at import, required (and checked) before anything is parsed
        DefusedXmlException,
        DTDForbidden,
    )
    from defusedxml import ElementTree as SafeET
except ImportError:  # the guard's check_defusedxml_available() reports it; nothing is parsed without it
    SafeET = None
    DefusedXmlException = DTDForbidden = ()  # type: ignore[assignment,misc]  # `except ()` catches nothing

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES_PART = "[Content_Types].xml"
DEFAULT_WORKBOOK_PART = "xl/workbook.xml"
# openpyxl looks the workbook part up by content type, in this order; so do both readers.
WORKBOOK_CONTENT_TYPES = {
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xltm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
HEAD_BYTES = 4096
# How reading a damaged member can fail.
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)
# A part is kept in memory for the next reader up to this size; a larger one is streamed, and the
# fast reader leaves it to openpyxl (guard-accepted forms are ~100 KB a part).
MAX_PART_BYTES = 8 * 1024 * 1024
_READ_WHOLE_UP_TO = 256 * 1024      # a part this small is read whole when its head is asked for
# All the parts kept together: a hostile package of many parts must not be held whole in memory
# (the guard's old 4 KB heads did not); past this, parts are read again when asked for again.
_KEEP_BUDGET = 64 * 1024 * 1024

_RELATIONSHIP_ATTRIBUTES = ("Id", "Type", "type", "Target", "TargetMode")


class PartTooLarge(ValueError):
    """A part holds more bytes than its reader allows."""

    def __init__(self, part: str, limit: int):
        super().__init__(f"{part} is larger than {limit} bytes")
        self.part, self.limit = part, limit


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str            # as openpyxl reads it: Type, or a lowercase type under the relationships namespace
    target: str          # the part it names, resolved; the raw target when external
    external: bool
    loads: bool          # openpyxl's Relationship.from_tree accepts it (known attributes, a type and a target)
    #                      (openpyxl skips children that are not a <Relationship>, and so does the package)


class Package:
    """One zip over a returned file, and the parts read from it so far."""

    def __init__(self, archive: zipfile.ZipFile, source: bytes | None = None):
        """`source`: the bytes the archive reads, when the caller has them: parts that repeat are
        then recognised by their compressed bytes (repeated_parts)."""
        self.archive = archive
        self.source = source
        self.infos = {info.filename: info for info in archive.infolist()}
        self._records: dict[str, PartRecord] = {}      # parts recognised as remembered ones
        self._member_keys: dict[str, MemberKey | None] = {}
        self._bytes: dict[str, bytes] = {}             # parts read whole
        self._xml: dict[str, tuple[int, ET.Element]] = {}   # parts parsed: (their size, root)
        self._dtd: dict[str, bool] = {}                 # parts whose DTD question is settled
        self._kept = 0                                  # bytes in self._bytes

    @classmethod
    def open(cls, source: bytes | str | Path) -> Package:
        if isinstance(source, (bytes, bytearray)):
            return cls(zipfile.ZipFile(io.BytesIO(source)), bytes(source))
        return cls(zipfile.ZipFile(source))

    def close(self) -> None:
        self.archive.close()

    # ---- bytes

    def read(self, part: str, limit: int) -> bytes:
        """The part, decompressed once: never more than limit + 1 bytes, so a caller sees that it
        is too large by the length alone."""
        data = self._bytes.get(part)
        if data is None:
            data = self._recognised(part)
        if data is not None:
            return data[:limit + 1]
        with self.archive.open(part) as stream:
            data = stream.read(limit + 1)
        if len(data) <= limit:
            self._keep(part, data)
            self._read_whole(part, data)
        return data

    def head(self, part: str) -> bytes:
        """The part's first HEAD_BYTES. A small part is read whole (and kept): reading it costs
        about what its head does, and the reader will not decompress it again."""
        data = self._bytes.get(part)
        if data is None and self.infos[part].file_size <= min(_READ_WHOLE_UP_TO, _KEEP_BUDGET - self._kept):
            try:
                data = self.read(part, _READ_WHOLE_UP_TO)
            except READ_ERRORS:
                data = None     # damaged past its head (a CRC error at its end): the head alone is asked for
        if data is not None:
            return data[:HEAD_BYTES]
        with self.archive.open(part) as stream:
            return stream.read(HEAD_BYTES)

    def chunks(self, part: str, size: int, keep_up_to: int) -> Iterator[bytes]:
        """The part in chunks of `size` bytes, decompressed as they are asked for; kept whole for
        later readers when it ran to its end within `keep_up_to` bytes."""
        data = self._bytes.get(part)
        if data is None:
            data = self._recognised(part)
        if data is not None:
            for start in range(0, len(data), size):
                yield data[start:start + size]
            return
        kept: list[bytes] | None = []
        total = 0
        keep_up_to = min(keep_up_to, _KEEP_BUDGET - self._kept)
        with self.archive.open(part) as stream:
            while chunk := stream.read(size):
                total += len(chunk)
                if kept is not None and total <= keep_up_to:
                    kept.append(chunk)
                else:
                    kept = None
                yield chunk
        if kept is not None:
            data = b"".join(kept)
            self._keep(part, data)
            self._read_whole(part, data)

    def record(self, part: str) -> PartRecord | None:
        """The remembered part this one is (its bytes and what was worked out from them), if it is one."""
        if part not in self._records and part not in self._bytes:
            self._recognised(part)
        return self._records.get(part)

    def _member_key(self, part: str) -> MemberKey | None:
        if part not in self._member_keys:
            self._member_keys[part] = None if self.source is None else member_key(self.source, self.infos[part])
        return self._member_keys[part]

    def _recognised(self, part: str) -> bytes | None:
        """The part's bytes without inflating them, when its member is a remembered one."""
        key = self._member_key(part)
        record = None if key is None else recognised(key)
        if record is None:
            return None
        self._records[part] = record
        self._keep(part, record.data)
        return record.data

    def _read_whole(self, part: str, data: bytes) -> None:
        """zipfile gave the whole part (its CRC checked): remember it if it came before."""
        key = self._member_key(part)
        record = None if key is None else remembered(key, data)
        if record is not None:
            self._records[part] = record

    def _keep(self, part: str, data: bytes) -> None:
        if self._kept + len(data) <= _KEEP_BUDGET:
            self._bytes[part] = data
            self._kept += len(data)

    # ---- XML

    def declares_dtd(self, part: str, head: bytes | None = None) -> bool:
        """Whether the part declares a DTD: settled once per part (from `head`, its first bytes,
        when the caller has them already)."""
        verdict = self._dtd.get(part)
        if verdict is None:
            head = self.head(part) if head is None else head
            record = self._records.get(part)
            if record is not None:     # settled once for these bytes, from the same head
                verdict = record.derived("declares a DTD", lambda data: _declares_dtd(data[:HEAD_BYTES], lambda: io.BytesIO(data)))
            else:
                verdict = _declares_dtd(head, lambda: self.archive.open(part))
            self._dtd[part] = verdict
        return verdict

    def xml(self, part: str, limit: int) -> ET.Element:
        """The part parsed (once): PartTooLarge over `limit` bytes, defusedxml's DTDForbidden when
        it declares a DTD, ParseError when it is not well-formed."""
        parsed = self._xml.get(part)
        if parsed is not None and parsed[0] <= limit:
            return parsed[1]
        data = self.read(part, limit)
        if len(data) > limit:
            raise PartTooLarge(part, limit)
        if self.declares_dtd(part):
            raise DTDForbidden(None, None, None)
        root = _parsed(data)
        self._xml[part] = (len(data), root)
        return root

    # ---- relationships and the workbook part

    def relationships(self, source_part: str, limit: int) -> list[Relationship] | None:
        """The relationships of a part, in file order; None when it has no relationships part."""
        rels_part = relationships_part(source_part)
        if rels_part not in self.infos:
            return None
        return list(derived(self.xml(rels_part, limit), ("relationships", source_part), lambda root: tuple(
            _relationship(el, source_part) for el in root if local_name(el.tag) == "Relationship")))

    def workbook_part(self, limit: int) -> tuple[str, str] | None:
        """(the workbook part, its kind: xlsx, xlsm, xltx or xltm), found as openpyxl finds it;
        None when [Content_Types].xml declares none. The part may be missing from the zip."""
        content_types = self.xml(CONTENT_TYPES_PART, limit)
        overrides = [(el.get("ContentType"), (el.get("PartName") or "")[1:])
                     for el in content_types if local_name(el.tag) == "Override"]
        for content_type, kind in WORKBOOK_CONTENT_TYPES.items():
            for declared, part in overrides:
                if declared == content_type:
                    return part, kind
        defaults = {el.get("ContentType") for el in content_types if local_name(el.tag) == "Default"}
        for content_type, kind in WORKBOOK_CONTENT_TYPES.items():
            if content_type in defaults:
                return DEFAULT_WORKBOOK_PART, kind
        return None

    def part_of_type(self, content_type: str, limit: int) -> str | None:
        """The first part [Content_Types].xml declares with this content type."""
        for el in self.xml(CONTENT_TYPES_PART, limit):
            if local_name(el.tag) == "Override" and el.get("ContentType") == content_type:
                return (el.get("PartName") or "")[1:]
        return None


# Parts with the very same bytes come back in file after file (a form's workbook.xml, styles.xml,
# its unchanging sheets, the content types: the writer that saved them writes them alike), and
# parsing them again is a tenth of a return's reading. A worker's memory of what comes back
# (seen_twice: kept from the second sighting, least recently used out first) maps a part's exact
# bytes to its parsed tree. Only what the bytes alone decide is shared: every check on the part
# (its size, its DTD) runs for each file before this, and a part that fails to parse is never
# remembered. Nothing that reads a tree changes it, so one tree serves every package holding those bytes.
# The parts kept, in bytes: a parsed tree takes 5-15 times its part's size, so this bounds what a
# worker holds to some 15 MB (a form's shared parts are ~60 KB per program that saved it).
_SHARED_BYTES_KEPT = 1024 * 1024
_SHARED_TREES: SeenTwice[bytes, ET.Element] = SeenTwice(_SHARED_BYTES_KEPT, lambda data, _root: len(data))


def _parsed(data: bytes) -> ET.Element:
    """The part's bytes parsed; the same tree again for the same bytes of a small part."""
    if len(data) > PART_MAX_BYTES:     # the size up to which parts are remembered at all
        return ET.fromstring(data)
    root = _SHARED_TREES.get(data)
    if root is None:
        root = ET.fromstring(data)
        _SHARED_TREES.offer(data, root)
    return root


# What is worked out from a tree (a workbook's sheet list, its styles' flags, resolved
# relationships) is remembered with the tree, so packages that share a tree share it too.
_Derived = TypeVar("_Derived")
_DERIVED: weakref.WeakKeyDictionary[ET.Element, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def derived(root: ET.Element, key: Hashable, compute: Callable[[ET.Element], _Derived]) -> _Derived:
    """compute(root), once per tree: `key` names the computation and every argument it takes
    besides the tree. The result must follow from the tree and the key alone (nothing else of the
    package), and is shared: callers never change it. What raises is not remembered."""
    memo = _DERIVED.setdefault(root, {})
    if key not in memo:         # two threads may both work it out: the same result, either kept
        memo[key] = compute(root)
    return memo[key]


def relationships_part(source_part: str) -> str:
    folder, name = posixpath.split(source_part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def resolve_target(source_part: str, target: str) -> str:
    """A relationship target as a part name, resolved the way openpyxl resolves it."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _relationship(el: ET.Element, source_part: str) -> Relationship:
    lowercase_type = el.get("type")
    kind = el.get("Type") if lowercase_type is None else f"{REL_NS}/{lowercase_type}"
    target = el.get("Target")
    external = el.get("TargetMode") == "External"
    loads = (kind is not None and target is not None and all(key.startswith("{") or key in _RELATIONSHIP_ATTRIBUTES for key in el.attrib))
    target = target or ""
    return Relationship(el.get("Id") or "", kind or "", target if external else resolve_target(source_part, target),
                        external, loads)


def local_name(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


# --- the DTD test -----------------------------------------------------------------------------------

_XML_DECLARATION = re.compile(rb"<\?xml[ \t\r\n][^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z0-9._\-]+)["']""")
_PROLOG_MISC = re.compile(rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_MARKUP_PROBE = "<?xml!DOCTYPE ENTITY -:/=\"'>[]&#;rowcfdimensionsheetData0123456789"


def ascii_compatible(head: bytes) -> bool:
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


def dtd_in_head(head: bytes) -> bool | None:
    """Whether a DOCTYPE comes before the root element, from a part's head; None when the head
    cannot tell (an encoding that is not ASCII-compatible, a prolog longer than the head, not XML)."""
    if not ascii_compatible(head):
        return None
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    rest = head[_PROLOG_MISC.match(head, start).end():]
    if rest.startswith(b"<!DOCTYPE"):
        return True
    if rest[:1] == b"<" and rest[1:2] not in (b"", b"!", b"?"):
        return False
    return None


def _declares_dtd(head: bytes, open_stream: Callable[[], IO[bytes]]) -> bool:
    """The head's verdict, else the parser's: unusual encodings and very long prologs."""
    verdict = dtd_in_head(head)
    if verdict is not None:
        return verdict
    with open_stream() as stream:
        return _stream_declares_dtd(stream)


def _stream_declares_dtd(stream: IO[bytes]) -> bool:
    try:
        for _event, _element in SafeET.iterparse(stream, events=("start",), forbid_dtd=True):
            return False    # the root element came first: no DTD is possible after it
    except DefusedXmlException:
        return True
    except ET.ParseError:
        return False        # every parser stops at this error, before any later DTD
    return False


def parse_xml(data: bytes) -> ET.Element:
    """Parse one untrusted XML document: DTDForbidden when it declares a DTD."""
    if _declares_dtd(data[:HEAD_BYTES], lambda: io.BytesIO(data)):
        raise DTDForbidden(None, None, None)
    return ET.fromstring(data)
