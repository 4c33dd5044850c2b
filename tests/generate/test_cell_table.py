"""A form's cells written through a CellTable (generate/cell_table.py) make the workbook xlsxwriter
draws by itself, byte for byte but for the time of writing; what a CellTable does not take is drawn
by xlsxwriter; and the parts are zipped as zipfile zips them (generate/package_parts.py)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from packages import entries

from xltool.form.forms import get_spec
from xltool.generate import package_parts, writer
from xltool.generate.cell_table import CellTable
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, drawn, workbook_bytes

TEXTS = ["A&B <局> \"引号\"", "  前后空格  ", "甲\x07乙", "_x0041_", "=SUM(A1:A2)", "😀", "", "十二", "0012", "局" * 5000]


def cases(spec):
    """Inputs of every kind the writer writes: numbers (whole, decimal, huge, tiny), texts that XML
    escapes or xlsxwriter writes otherwise, booleans, empty; and text typed into numeric cells."""
    rng = random.Random(7)
    inputs = [c for c in spec.layout.inputs() if c.role is None]
    yield WriteOptions(values=random_inputs(spec.layout, rng))
    yield WriteOptions(values=random_inputs(spec.layout, rng, balanced=False))
    numbers = [0.1 + 0.2, 1e21, -3, 1e-7, 2 ** 53 + 1, 12.5, None, 0]
    odd = {c.id: numbers[i % len(numbers)] if c.type.numeric else TEXTS[i % len(TEXTS)] for i, c in enumerate(inputs)}
    yield WriteOptions(values=odd)
    # as typed, over numeric cells: texts, and a boolean (a spreadsheet's TRUE)
    raw = {c.id: TEXTS[i % len(TEXTS)] for i, c in enumerate(inputs) if c.type.numeric and i % 3 == 0}
    raw[next(c.id for c in inputs if c.type.numeric)] = True
    yield WriteOptions(values=random_inputs(spec.layout, rng), raw=raw)


@pytest.mark.parametrize("form", ["govinfo-annual-2019", "govinfo-annual-2021"])
@pytest.mark.parametrize("agency", [Agency("乙局", 2024, "某市", "11110000000000000X"), Agency(), Agency("甲&局", 2020)])
def test_cell_tables_draw_what_xlsxwriter_draws(form, agency):
    spec = get_spec(form)
    for options in cases(spec):
        assert entries(drawn(spec, agency, options, cell_table=True)) == \
            entries(drawn(spec, agency, options, cell_table=False))


def test_the_writer_checks_each_kind_and_draws_what_a_table_does_not_take(monkeypatch):
    spec = get_spec("govinfo-annual-2021")
    agency = Agency("乙局", 2024, "某市")
    writer.forget_checks()
    tables = []
    real = CellTable.install
    monkeypatch.setattr(CellTable, "install", lambda self: tables.append(self) or real(self))
    first = workbook_bytes(spec, agency, WriteOptions())             # drawn both ways and compared
    assert entries(first) == entries(drawn(spec, agency, WriteOptions(), cell_table=False))
    tables.clear()
    workbook_bytes(spec, agency, WriteOptions())
    assert tables, "a checked kind is drawn through cell tables"
    # a text longer than xlsxwriter keeps whole: the workbook is drawn by xlsxwriter alone
    long_text = {c.id: "长" * 20_000 for c in spec.layout.inputs() if c.type.kind == "longtext"}
    assert long_text
    options = WriteOptions(values=long_text)
    assert entries(workbook_bytes(spec, agency, options)) == entries(drawn(spec, agency, options, cell_table=False))


def test_a_kind_drawn_otherwise_through_a_table_is_drawn_by_xlsxwriter(monkeypatch):
    spec = get_spec("govinfo-annual-2019")
    agency = Agency("乙局", 2020, "某市")
    writer.forget_checks()
    monkeypatch.setattr(CellTable, "_cell_xml", lambda self, row, col, cell: "")     # a table gone wrong
    made = workbook_bytes(spec, agency, WriteOptions())
    assert entries(made) == entries(drawn(spec, agency, WriteOptions(), cell_table=False))
    assert entries(workbook_bytes(spec, agency, WriteOptions())) == entries(made)
    writer.forget_checks()


def zipfile_zipped(named: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=False) as z:
        for name, data in named:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


def test_parts_are_zipped_as_zipfile_zips_them_kept_or_not():
    spec = get_spec("govinfo-annual-2021")
    named = list(package_parts.parts(drawn(spec, Agency("乙局", 2024), WriteOptions())))
    named.append(("xl/empty.xml", b""))
    named.append(("xl/noise.bin", random.Random(1).randbytes(70_000)))
    kept = {"xl/theme/theme1.xml", "xl/styles.xml", "xl/empty.xml"}
    for _ in range(2):          # compressed, then taken from what was kept
        assert package_parts.zipped(named, kept) == zipfile_zipped(named)
