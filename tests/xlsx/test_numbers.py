"""Numbers Excel never stores (issue 10): the text of a number cell's <v> is read as a number
only when it is an ASCII decimal; anything Python's int()/float() would also take ('٣٥',
'３５', '1_000', ' 35') stays the text it is, so the checks report that cell as not a number."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl.worksheet._reader import _cast_number as openpyxl_cast_number

from scripts.make_corpus import SHEET4, T3, Corpus, edit_parts, set_cell_xml
from xltool.findings import REJECTED
from xltool.ingest.pipeline import process_file
from xltool.xlsx.fastread import cast_number, read_workbook_fast
from xltool.xlsx.read import read_workbook_openpyxl

NEVER_STORED = ["٣٥", "３５", "1_000", " 35", "35 ", "NaN", "inf", "+-3", "3e", "."]
STORED = ["35", "-35", "+35", "0", "3.5", "-0.25", ".5", "5.", "1E3", "1e-3", "2.5E+10", "1e999"]


@pytest.mark.parametrize("text", STORED)
def test_numbers_as_the_file_format_writes_them_read_as_openpyxl_reads_them(text):
    assert cast_number(text) == openpyxl_cast_number(text)
    assert type(cast_number(text)) is type(openpyxl_cast_number(text))


@pytest.mark.parametrize("text", NEVER_STORED)
def test_other_text_stays_text(text):
    assert cast_number(text) == text


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    c = Corpus(tmp_path_factory.mktemp("numbers"))
    yield c
    c.close()


def returned_with(corpus: Corpus, folder: Path, stored: str) -> Path:
    """A filled 2021 return whose 三 D5 (an input count) stores <v>stored</v>."""
    path = corpus.filled("return.xlsx", folder=folder)
    return edit_parts(path, **{SHEET4: set_cell_xml("D5", f"<v>{stored}</v>")})


@pytest.mark.parametrize("stored", ["٣٥", "３５", "1_000", "NaN"])
def test_both_readers_keep_the_text_of_a_number_no_program_stores(corpus, tmp_path, stored):
    path = returned_with(corpus, tmp_path, stored)
    for read in (read_workbook_fast, read_workbook_openpyxl):
        cell = read(path).sheets[T3].get(4, 3)
        assert cell.value == stored, read.__name__


@pytest.mark.parametrize("stored", ["٣٥", "３５", "1_000"])
def test_such_a_return_is_rejected_at_that_cell_as_not_a_number(corpus, tmp_path, stored):
    path = returned_with(corpus, tmp_path, stored)
    result = process_file(path, tmp_path)
    assert result.status == REJECTED
    found = [f for f in result.findings if f.code == "not-a-number"]
    assert [(f.sheet, f.cell) for f in found] == [(T3, "D5")]
    assert found[0].args["found"] == stored


def test_the_same_return_with_an_ascii_number_is_read_as_that_number(corpus, tmp_path):
    path = returned_with(corpus, tmp_path, "35")
    assert read_workbook_fast(path).sheets[T3].get(4, 3).value == 35
    assert not [f for f in process_file(path, tmp_path).findings if f.code == "not-a-number"]
