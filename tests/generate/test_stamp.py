"""A roster's workbooks stamped from one drawn workbook (generate/stamp.py) are the workbooks the
writer draws, byte for byte but for the time of writing; what cannot be stamped is drawn."""

from __future__ import annotations

import pytest
from packages import entries

from xltool.form.forms import get_spec
from xltool.generate import stamp
from xltool.generate.batch import generate_roster
from xltool.generate.roster import RosterRow
from xltool.generate.writer import Agency, WriteOptions
from xltool.generate.writer import workbook_bytes as drawn


@pytest.fixture(autouse=True)
def fresh():
    stamp.forget()
    yield
    stamp.forget()


@pytest.mark.parametrize("form", ["govinfo-annual-2019", "govinfo-annual-2021"])
def test_stamps_are_the_workbooks_the_writer_draws(form):
    spec = get_spec(form)
    agencies = [
        Agency("乐山市人民政府办公室", 2024, "四川省乐山市", "11511100MB1234567X"),
        Agency("A&B <局> \"引号\" '单引号'", 2024, "某&市", "<code>"),     # what XML escapes
        Agency("局" * 300, 2024, "区" * 40, "0" * 18),                   # long, and a code of digits
        Agency("😀 表情局", 2024, None, None),                            # no region, no code: another kind
        Agency("甲局", None, "某市", None),                               # no year: another kind
        Agency("乙局", 2023, "某市", "X1"),
    ]
    for agency in agencies:
        made = stamp.stamped(spec, agency)
        assert made is not None, agency
        assert entries(made) == entries(drawn(spec, agency)), agency


def test_texts_xlsxwriter_writes_otherwise_are_drawn():
    spec = get_spec("govinfo-annual-2021")
    label = next(lab.text for sl in spec.layout.sheets for lab in sl.labels)      # a text the form itself holds
    assert stamp.stamped(spec, Agency("甲局", 2024, "某市")) is not None
    for agency in [Agency(" 甲局", 2024, "某市"), Agency("甲局 ", 2024, "某市"), Agency("甲\x07局", 2024, "某市"),
                   Agency("甲_x0041_局", 2024, "某市"), Agency(label, 2024, "某市"), Agency("同名", 2024, "同名"),
                   Agency(f"甲{stamp.MARKS['region']}局", 2024, "某市")]:     # a mark inside a text
        assert stamp.stamped(spec, agency) is None, agency


def test_options_beyond_a_password_are_drawn():
    spec = get_spec("govinfo-annual-2021")
    agency = Agency("甲局", 2024, "某市")
    assert stamp.stamped(spec, agency, WriteOptions(raw={"x": 1})) is None
    assert stamp.stamped(spec, agency, WriteOptions(annotate=lambda wb, sheets: None)) is None
    own = WriteOptions(password="本单位的密码")
    assert entries(stamp.stamped(spec, agency, own)) == entries(drawn(spec, agency, own))


def test_a_kind_whose_stamp_is_not_the_drawing_is_drawn_row_by_row(monkeypatch):
    """The first row of each kind is drawn too and compared: a form where a stamp would come out
    otherwise (here: a stamp that forgets the author) is never stamped."""
    spec = get_spec("govinfo-annual-2021")
    real = stamp._stamp
    monkeypatch.setattr(stamp, "_stamp", lambda d, texts: [(n, data) if n != "docProps/core.xml" else (n, b"")
                                                           for n, data in real(d, texts)])
    assert stamp.stamped(spec, Agency("甲局", 2024, "某市")) is None
    assert stamp.stamped(spec, Agency("乙局", 2024, "某市")) is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_roster_mixing_stamps_and_drawings_gets_the_writers_workbooks(tmp_path, jobs):
    spec = get_spec("govinfo-annual-2021")
    rows = [RosterRow(line=i + 2, agency=agency, file=f"{i:02d}.xlsx") for i, agency in enumerate(
        [Agency(f"测试{i:02d}局", 2024, "某区") for i in range(30)]
        + [Agency(" 前有空格局", 2024, "某区"), Agency("某区", 2024, "某区"), Agency("无地区局", 2024)])]
    paths = generate_roster(spec, rows, tmp_path / "out", jobs=jobs)
    for row, path in zip(rows, paths, strict=True):
        assert entries(path.read_bytes()) == entries(drawn(spec, row.agency)), row.agency
