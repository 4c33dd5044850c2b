"""A roster's workbooks stamped from one drawn workbook: the writer draws a form once per kind of
row, with marks where an agency's texts go, and each row's workbook is that one with its texts
put in place of the marks.

The workbooks of a roster differ only in the agency's details, locked in the form and on the
hidden sheet: its name, region and code (texts, each once in the shared strings), its name again
as the file's author (docProps/core.xml), and its year (a number). What rows have in common
besides their texts (the year, which details are given: a detail not given leaves its cell open
and named) makes a kind of row; each kind is drawn once per process. Drawing a workbook takes
xlsxwriter some 9 ms; stamping one takes 1-2 ms, most of it zip's compression.

A stamp is what xlsxwriter would write, byte for byte (tests/generate/test_stamp.py): the first
row of each kind is also drawn by the writer and compared with its stamp (all but the time of
writing), and a kind whose stamp differs is drawn row by row, as is every row whose texts
xlsxwriter would write otherwise than plainly: with leading or trailing spaces, control
characters, or a text that another cell of the workbook or another of its details also holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from xltool.form.spec import FormSpec
from xltool.generate import package_parts
from xltool.generate.package_parts import same_drawing, zipped
from xltool.generate.writer import Agency, WriteOptions, workbook_bytes

# Private-use characters around a name: never escaped, never in a form's own texts
MARKS = {"name": "\ue000xltool-agency-name\ue001", "region": "\ue000xltool-agency-region\ue001",
         "code": "\ue000xltool-agency-code\ue001"}
_KINDS_MAX = 64          # kinds of row remembered per process: forms × years × details given
_TEXT_MAX = 1000         # characters of a stamped text (an agency's name is tens)
_SHARED_TEXT = re.compile(rb"<t(?: [^>]*)?>([^<]*)</t>")
# what xlsxwriter writes other than as the text escaped (sharedstrings._write_si, xmlwriter):
# control characters and the _xHHHH_ escapes of them, leading or trailing space, a rich string;
# and the marks' own characters (a text holding a mark would be stamped again)
_NOT_PLAIN = re.compile(r"[\x00-\x1f\ue000\ue001]|_x[0-9a-fA-F]{4}_|^\s|\s$|^<r>.*</r>$", re.DOTALL)


@dataclass(frozen=True)
class _Drawn:
    """A workbook drawn with marks: its parts in order, and the texts of its shared strings."""

    parts: tuple[tuple[str, bytes], ...]
    texts: frozenset[str]
    unmarked: frozenset[str]        # the parts without a mark: the same in every stamp of the kind


_DRAWN: dict[tuple, _Drawn] = {}          # each kind of row, drawn with marks
_CHECKED: dict[tuple, bool] = {}          # whether its stamps came out as the writer's drawings


def stamped(spec: FormSpec, agency: Agency, options: WriteOptions | None = None) -> bytes | None:
    """The workbook of `spec` for `agency`, stamped; None when it must be drawn (the caller draws it
    with writer.write_workbook): options other than a password, texts xlsxwriter would not write
    plainly, or a form whose stamp did not come out as its drawing."""
    options = options or WriteOptions()
    if options.values or options.raw or options.annotate is not None:
        return None     # what is left of the options is the password: part of the kind, below
    texts = {role: getattr(agency, role) for role in MARKS if getattr(agency, role)}
    if not all(isinstance(t, str) and _plain(t) for t in texts.values()) or len(set(texts.values())) < len(texts):
        return None
    kind = (id(spec.layout), spec.layout.fingerprint, options.password, agency.year, frozenset(texts))
    drawn = _DRAWN.get(kind)
    if drawn is None:
        if len(_DRAWN) >= _KINDS_MAX:
            _DRAWN.clear()
            _CHECKED.clear()
        marked = replace(agency, **{role: MARKS[role] for role in texts})
        drawn = _DRAWN[kind] = _marked_drawing(workbook_bytes(spec, marked, options))
    if any(t in drawn.texts for t in texts.values()):
        return None     # one entry of the shared strings for two cells: the writer's numbering differs
    stamp = _stamp(drawn, texts)
    if kind not in _CHECKED:    # the first row of its kind is drawn too, and compared
        _CHECKED[kind] = same_drawing(zipped(stamp), workbook_bytes(spec, agency, options))
    return zipped(stamp, drawn.unmarked) if _CHECKED[kind] else None


def _plain(text: str) -> bool:
    return len(text) <= _TEXT_MAX and not _NOT_PLAIN.search(text)


def _marked_drawing(xlsx: bytes) -> _Drawn:
    parts = package_parts.parts(xlsx)
    texts = {_unescape(t.decode("utf-8")) for name, data in parts if name == "xl/sharedStrings.xml"
             for t in _SHARED_TEXT.findall(data)}
    marks = [m.encode("utf-8") for m in MARKS.values()]
    unmarked = frozenset(name for name, data in parts if not any(m in data for m in marks))
    return _Drawn(parts, frozenset(texts - set(MARKS.values())), unmarked)


def _stamp(drawn: _Drawn, texts: dict[str, str]) -> list[tuple[str, bytes]]:
    swaps = [(MARKS[role].encode("utf-8"), _escape(text).encode("utf-8")) for role, text in texts.items()]
    parts = []
    for name, data in drawn.parts:
        for mark, text in swaps:
            data = data.replace(mark, text)
        parts.append((name, data))
    return parts


def _escape(text: str) -> str:
    """As xlsxwriter escapes text in an element (xmlwriter._escape_data)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def forget() -> None:
    """Draw every kind of row anew from now on (tests compare stamps with the writer's drawings)."""
    _DRAWN.clear()
    _CHECKED.clear()
