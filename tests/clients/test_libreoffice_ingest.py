"""Generate -> fill in LibreOffice -> save -> ingest: every typed number comes back, and the totals
xltool recalculates from the template's formulas equal LibreOffice's, over random fills."""

from __future__ import annotations

import random
from decimal import Decimal

import openpyxl
import pytest

from xltool.calc.model import model_for
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, write_workbook
from xltool.ingest.pipeline import process_file

try:
    import libreoffice as lo
except ImportError:
    from tests import libreoffice as lo

pytestmark = pytest.mark.libreoffice
FORMS = {"govinfo-annual-2019": 2020, "govinfo-annual-2021": 2024}
FILLS_PER_FORM = 6


def _fills(form: str):
    """Random fills: most balanced (T3-A holds), every third not, with large and decimal values."""
    layout = get_spec(form).layout
    for seed in range(FILLS_PER_FORM):
        rng = random.Random(f"{form}-{seed}")
        values = random_inputs(layout, rng, high=rng.choice([9, 50, 5000]), balanced=seed % 3 != 2)
        yield seed, values


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    lo.require_libreoffice()
    d = tmp_path_factory.mktemp("lo-ingest")
    jobs, cases = [], []
    for form, year in FORMS.items():
        spec = get_spec(form)
        blank = d / f"{form}-blank.xlsx"
        write_workbook(spec, blank, Agency("测试局", year))
        for seed, values in _fills(form):
            dst = d / f"{form}-{seed}.xlsx"
            cells = {(spec.layout.cells[i].sheet, spec.layout.cells[i].a1): float(v) if isinstance(v, Decimal) else v
                     for i, v in values.items()}
            jobs.append(lo.fill_job(blank, dst, cells))
            cases.append((form, seed, values, dst))
    with lo.LibreOffice() as office:
        for res in office.run(jobs, timeout=600):
            lo.check(res)
    return d, cases


def test_every_typed_number_comes_back_through_ingest(filled):
    d, cases = filled
    for form, seed, values, path in cases:
        r = process_file(path, d)
        assert r.form == form and r.agency == "测试局"
        for cid, v in values.items():
            assert r.document["values"][cid] == v, (form, seed, cid)
        balanced = seed % 3 != 2
        codes = {f.code for f in r.findings if f.is_error}
        assert (r.status == "accepted") == balanced, (form, seed, [f.message for f in r.findings])
        assert codes <= {"T3-A"}, codes


def test_recalculated_totals_equal_libreoffice(filled):
    d, cases = filled
    for form, seed, values, path in cases:
        layout = get_spec(form).layout
        cached = openpyxl.load_workbook(path, data_only=True)
        doc = process_file(path, d).document
        for cell in layout.computed():
            lo_value = cached[cell.sheet][cell.a1].value
            assert doc["values"][cell.id] == lo_value, (form, seed, cell.id)
        mine = {r.check.a1: r.ok for r in model_for(layout).run_checks(doc["values"])}
        for check in layout.checks():
            assert (cached[check.sheet][check.a1].value == "✓") == mine[check.a1], (form, seed, check.a1)
