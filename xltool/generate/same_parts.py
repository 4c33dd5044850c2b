"""The parts of a workbook that come out the same for every workbook of a form, written once per process.

xlsxwriter writes every part anew for every workbook. Two of them follow from what is the same
for all workbooks of a form (and of the metadata prefilled): the defined names (`in_...`, one per
input cell, some 170 of them) in xl/workbook.xml, and docProps/app.xml, which lists the sheets and
those names again. Writing them is about a tenth of a workbook's time, for a roster of thousands
and for every feedback workbook. Each is remembered by exactly what xlsxwriter writes it from,
and written as it was. tests/generate/test_same_parts.py holds the remembered parts to the ones
xlsxwriter writes.
"""

from __future__ import annotations

from io import StringIO

from xlsxwriter.packager import Packager

_KEPT_MAX = 64      # kinds of workbook per process: forms × prefilled metadata; the bound only guards against misuse
_DEFINED_NAMES: dict[tuple, str] = {}
_APP_FILES: dict[tuple, str] = {}


def write_defined_names(wb) -> None:
    """Workbook._write_defined_names, remembered: the <definedNames> element follows from the
    workbook's defined names alone."""
    key = tuple(tuple(name) for name in wb.defined_names)
    text = _DEFINED_NAMES.get(key)
    if text is None:
        fh, wb.fh = wb.fh, StringIO()
        try:
            type(wb)._write_defined_names(wb)
            text = wb.fh.getvalue()
        finally:
            wb.fh = fh
        if len(_DEFINED_NAMES) < _KEPT_MAX:
            _DEFINED_NAMES[key] = text
    wb.fh.write(text)


class SamePartsPackager(Packager):
    """xlsxwriter's packager (Workbook._get_packager is there to be replaced) with docProps/app.xml
    remembered: it follows from the sheets (names, hidden or not, chart or not), the named ranges,
    three of the document properties and the read-only flag, never from the author or the title."""

    def _write_app_file(self) -> None:
        props = self.workbook.doc_properties
        key = (tuple((ws.name, ws.hidden, ws.is_chartsheet) for ws in self.workbook.worksheets()),
               self.chartsheet_count, tuple(self.named_ranges), props.get("company"), props.get("manager"),
               props.get("hyperlink_base"), self.workbook.read_only)
        text = _APP_FILES.get(key)
        if text is not None and self.in_memory:
            self._filename("docProps/app.xml").write(text)
            return
        super()._write_app_file()
        written = self.filenames[-1][0]
        if isinstance(written, StringIO) and len(_APP_FILES) < _KEPT_MAX:
            _APP_FILES[key] = written.getvalue()


def forget() -> None:
    """Write every part anew from now on (tests compare with xlsxwriter's own)."""
    _DEFINED_NAMES.clear()
    _APP_FILES.clear()
