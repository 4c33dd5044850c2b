"""xlsx.returned.open_return: a returned file guarded and read in one pass over one package,
with the same verdict and WorkbookData as the guard and the reader give on their own."""

from __future__ import annotations

import random
from pathlib import Path
from xml.etree.ElementTree import ParseError

import pytest

from scripts.make_corpus import SHEET4, T3, edit_parts
from tests.packages import counting_opens
from xltool.findings import REJECTED
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.pipeline import process_file
from xltool.xlsx.guard import inspect_file
from xltool.xlsx.read import read_workbook_openpyxl
from xltool.xlsx.repeated_parts import REPEATED_PARTS
from xltool.xlsx.returned import open_bytes, open_return

FORMS = ("govinfo-annual-2019", "govinfo-annual-2021")


def generated(folder: Path, form: str, seed: int, name: str | None = None) -> Path:
    spec = get_spec(form)
    path = folder / (name or f"{form}-{seed}.xlsx")
    values = random_inputs(spec.layout, random.Random(seed))
    write_workbook(spec, path, Agency("测试局", 2024, "某市"), WriteOptions(values=values))
    return path


@pytest.mark.parametrize("form", FORMS)
def test_the_same_verdict_and_workbook_as_the_guard_and_openpyxl_on_their_own(tmp_path, form):
    path = generated(tmp_path, form, 3)
    returned = open_return(path)
    alone = inspect_file(path)
    assert (returned.guard.kind, returned.guard.findings, returned.guard.parseable, returned.guard.data) == (
        alone.kind, alone.findings, alone.parseable, alone.data)
    assert returned.read() == read_workbook_openpyxl(path)


def test_each_part_is_decompressed_once(tmp_path, monkeypatch):
    REPEATED_PARTS.clear()     # a first reading: no part is known from another file yet
    path = generated(tmp_path, FORMS[1], 4)
    opened = counting_opens(monkeypatch)
    returned = open_bytes(path.read_bytes(), path.name)
    assert returned.workbook is not None
    assert "xl/worksheets/sheet4.xml" in opened and "xl/sharedStrings.xml" in opened
    assert {part: n for part, n in opened.items() if n > 1} == {}


def test_a_file_the_guard_rejects_is_not_read(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"%PDF-1.4 not a workbook")
    returned = open_return(path)
    assert not returned.guard.parseable and returned.workbook is None and returned.read_error is None
    assert [f.code for f in returned.guard.findings] == ["not-a-workbook"]
    with pytest.raises(ValueError):
        returned.read()


def test_a_reading_error_comes_back_with_the_guards_findings(tmp_path):
    path = generated(tmp_path, FORMS[1], 5, name="broken.xls")       # wrong-extension: a warning
    edit_parts(path, **{SHEET4: lambda data: data.replace(b"</sheetData>", b"<row></sheetData>", 1)})
    returned = open_return(path)
    assert returned.guard.parseable and [f.code for f in returned.guard.findings] == ["wrong-extension"]
    assert isinstance(returned.read_error, ParseError)
    with pytest.raises(ParseError):
        returned.read()
    result = process_file(path, tmp_path)           # the pipeline reports both
    assert result.status == REJECTED
    assert {f.code for f in result.findings} == {"wrong-extension", "unreadable"}


def test_a_sheet_the_guard_scanned_is_read_from_the_bytes_it_scanned(tmp_path):
    path = generated(tmp_path, FORMS[1], 6)
    returned = open_return(path)
    assert returned.read().sheets[T3].get(4, 3) == read_workbook_openpyxl(path).sheets[T3].get(4, 3)
