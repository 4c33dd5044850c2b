"""Workbook packages compared entry by entry, as the stamps and fast writers promise them equal to
xlsxwriter's drawings, and their members counted as zipfile opens them. A helper, not a test file."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

from xltool.generate.package_parts import WRITTEN_AT


def entries(xlsx: bytes) -> list[tuple]:
    """Each zip entry as xlsxwriter makes it: name, time, compression, attributes, and its bytes
    (core.xml without the time of writing)."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return [(i.filename, i.date_time, i.compress_type, i.external_attr, i.create_system, i.flag_bits,
                 WRITTEN_AT.sub(b"", z.read(i))) for i in z.infolist()]


def counting_opens(monkeypatch) -> Counter[str]:
    """How many times zipfile opens each member from now on (for the rest of the test)."""
    opened: Counter[str] = Counter()
    original = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened[getattr(name, "filename", name)] += 1
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    return opened
