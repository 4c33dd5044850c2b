"""The parts remembered per form (generate/same_parts.py) are byte for byte the ones xlsxwriter writes."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from xlsxwriter.app import App

from xltool.form.forms import get_spec
from xltool.generate import same_parts
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook


def parts(spec, agency: Agency, seed: int) -> dict[str, bytes]:
    out = io.BytesIO()
    write_workbook(spec, out, agency, WriteOptions(values=random_inputs(spec.layout, random.Random(seed))))
    with zipfile.ZipFile(out) as z:
        # core.xml holds the time of writing
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}


@pytest.mark.parametrize("form", ["govinfo-annual-2019", "govinfo-annual-2021"])
@pytest.mark.parametrize("agency", [Agency("乙局", 2024, "某市", "11110000000000000X"), Agency(), Agency(year=2024)])
def test_a_workbook_written_from_remembered_parts_is_the_one_xlsxwriter_writes(form, agency, monkeypatch):
    spec = get_spec(form)
    same_parts.forget()
    fresh = parts(spec, agency, seed=1)
    # the parts remembered from another agency's workbook with the same metadata filled in
    other = Agency(f"甲{agency.name}" if agency.name else None, agency.year, agency.region, agency.code)
    same_parts.forget()
    parts(get_spec("govinfo-annual-2021" if form.endswith("2019") else "govinfo-annual-2019"), agency, seed=3)
    parts(spec, other, seed=2)
    assembled = []
    real = App._assemble_xml_file
    monkeypatch.setattr(App, "_assemble_xml_file", lambda self: assembled.append(1) or real(self))
    again = parts(spec, agency, seed=1)
    assert assembled == []          # app.xml was not assembled again
    assert again == fresh
    assert b"<definedNames>" in fresh["xl/workbook.xml"] and b"in_t3_" in fresh["xl/workbook.xml"]
