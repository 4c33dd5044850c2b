"""xlsx.cells: the one conversion between A1 names and row/column numbers, held to openpyxl's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, get_column_letter

from xltool.cells import a1, column_index, column_letter, coordinate, parse_a1

COLUMNS = st.integers(min_value=1, max_value=16384)   # A..XFD
ROWS = st.integers(min_value=1, max_value=1048576)


@given(COLUMNS)
def test_column_letters_and_numbers_are_openpyxls(col):
    assert column_letter(col) == get_column_letter(col)
    assert column_index(column_letter(col)) == col == column_index_from_string(column_letter(col))
    assert column_index(column_letter(col).lower()) == col
    assert column_index(column_letter(col).encode()) == col


@given(ROWS, COLUMNS)
def test_a1_names_round_trip_zero_based(row, col):
    name = a1(row - 1, col - 1)
    assert parse_a1(name) == (row - 1, col - 1)
    assert parse_a1(a1(row - 1, col - 1, absolute=True)) == (row - 1, col - 1)
    assert coordinate(name) == coordinate_to_tuple(name) == (row, col)


def test_examples():
    assert a1(0, 0) == "A1" and a1(4, 3) == "D5" and a1(4, 3, absolute=True) == "$D$5"
    assert a1(0, 26) == "AA1" and parse_a1("$d$5") == (4, 3)
    assert column_letter(0) == ""


@pytest.mark.parametrize("ref", ["a1", "A01", "A0", "D", "5", "ABCD1", "A12345678", "A-1", ""])
def test_only_canonical_references_have_a_coordinate(ref):
    assert coordinate(ref) is None
