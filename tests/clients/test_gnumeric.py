"""A return filled and saved by Gnumeric (Debian's spreadsheet program, via `ssconvert`) is ingested
with every typed number intact, for both of its xlsx exporters."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.pipeline import process_file

from gnumeric import require_gnumeric, ssconvert

pytestmark = pytest.mark.gnumeric

# Gnumeric_Excel:xlsx2 is what its "Excel 2010" save writes (ISO/IEC 29500); xlsx is ECMA-376 1st edition
EXPORTERS = ["Gnumeric_Excel:xlsx2", "Gnumeric_Excel:xlsx"]


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("form, year", [("govinfo-annual-2021", 2024), ("govinfo-annual-2019", 2020)])
def test_a_return_saved_by_gnumeric_keeps_every_number(tmp_path: Path, exporter: str, form: str, year: int) -> None:
    require_gnumeric()
    spec = get_spec(form)
    typed = random_inputs(spec.layout, random.Random(11))
    for cell in spec.layout.inputs():        # amounts with decimals, as clerks type them
        if cell.type.kind == "decimal":
            typed[cell.id] = Decimal("14.495")
    filled = tmp_path / "filled.xlsx"
    write_workbook(spec, filled, Agency("甲市交通运输局", year), WriteOptions(values=typed))
    saved = tmp_path / "out" / "gnumeric.xlsx"
    saved.parent.mkdir()
    ssconvert(filled, saved, exporter)

    result = process_file(saved, saved.parent)
    assert result.status == "accepted", [(f.code, f.where(), f.message) for f in result.findings]
    assert result.findings == []            # protection, the hidden sheet and the formulas survive
    values = result.document["values"]
    numbers = {cid: v for cid, v in typed.items() if spec.layout.cells[cid].type.numeric}
    assert len(numbers) > 50
    assert {cid: values[cid] for cid in numbers} == numbers
    assert result.document["agency"] == "甲市交通运输局" and result.document["year"] == year
