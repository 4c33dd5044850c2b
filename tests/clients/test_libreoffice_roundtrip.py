"""The real-client proof: a clerk fills a generated workbook in LibreOffice and saves it as .xlsx.

For both form versions: xltool writes an empty workbook; LibreOffice (headless, driven through
UNO, see tests/libreoffice.py) types a known value into every input cell through the UI's
input path while every sheet stays protected, recalculates everything and saves as .xlsx.
The saved file is then read back with openpyxl: typed values, totals (against xltool's own
recalculation and against plain Python sums written here from FORMAT.md's definitions), the
T3-A live checks, protection, locks, the hidden `_xltool` sheet, formulas, validations.

All LibreOffice work is one batch (one soffice, one UNO worker call) made by a module fixture.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xltool.calc.model import evaluate
from xltool.form.forms import get_spec
from xltool.form.layout import CHECK_BAD, CHECK_OK, META_SHEET, a1
from xltool.generate.writer import Agency, WriteOptions, name_for, write_workbook

try:
    import libreoffice as lo
except ImportError:  # tests/ became a package
    from tests import libreoffice as lo

pytestmark = pytest.mark.libreoffice

VERSIONS = ("2019", "2021")

# --- FORMAT.md's accounting definitions, written out here (not taken from the spec's formulas) ---
# Cells are named by the layout's stable ids: t3.<row>.<column>, t4.cases.<column>.

T3_PARTS = ["natural_person", "business", "research", "public_interest", "legal_service", "other_org"]  # 自然人 + 法人或其他组织 ×5
T3_COLUMNS = T3_PARTS + ["total"]                                                                       # + 总计
_WITHHELD = ["withheld_state_secret", "withheld_prohibited", "withheld_three_safeties", "withheld_third_party",
             "withheld_internal_affairs", "withheld_process_info", "withheld_enforcement_files", "withheld_inquiry"]
_UNAVAILABLE = ["unavailable_not_held", "unavailable_needs_creation", "unavailable_unclear"]
_DECLINED = ["declined_petition", "declined_repeated", "declined_publications", "declined_excessive",
             "declined_confirmation"]
# T3-C: （七）总计 = （一） + （二） + Σ（三）1–8 + Σ（四）1–3 + Σ（五）1–5 + （六） (2021: Σ（六）1–3)
T3_RESULT_ROWS = {
    "2019": ["disclosed", "partly_disclosed", *_WITHHELD, *_UNAVAILABLE, *_DECLINED, "other_handling"],
    "2021": ["disclosed", "partly_disclosed", *_WITHHELD, *_UNAVAILABLE, *_DECLINED,
             "other_no_correction", "other_fee_unpaid", "other_misc"],
}
T3_TYPED_ROWS = ["new", "carried_over", "carried_forward"]   # 一、 二、 四、
# T4: for 行政复议, 未经复议直接起诉, 复议后起诉: 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结
T4_GROUPS = ["review", "direct", "after_review"]
T4_PARTS = ["upheld", "corrected", "other", "pending"]

AMOUNT = {"2019": 14.495, "2021": 24252.311082}      # 万元, as published
YEAR = {"2019": 2020, "2021": 2024}
TEXT = {"meta.agency": "乐山市机关事务管理局", "meta.region": "四川省乐山市", "meta.code": "11511100MB1234567X",
        "text.overview": "本年度共受理政府信息公开申请，依法按时答复。",
        "text.problems": "存在的主要问题：公开内容不够全面。",
        "text.other_matters": "本年度未收取信息处理费。"}
# T3-A design: which columns balance. 2019: business +3 and other_org -3 (the 总计 column still
# balances although two parts do not); 2021: business +3 only (总计 does not balance either).
T3A_OFFSETS = {"2019": {"business": 3, "other_org": -3}, "2021": {"business": 3}}


def t3_python_totals(version: str, v: dict) -> dict[str, int]:
    """T3-B, T3-C computed in plain Python from the typed values."""
    out: dict[str, int] = {}
    for col in T3_PARTS:
        out[f"t3.results_total.{col}"] = sum(v[f"t3.{r}.{col}"] for r in T3_RESULT_ROWS[version])
    for row in T3_TYPED_ROWS + T3_RESULT_ROWS[version] + ["results_total"]:
        get = (lambda c: out[f"t3.results_total.{c}"]) if row == "results_total" else (lambda c: v[f"t3.{row}.{c}"])
        out[f"t3.{row}.total"] = sum(get(c) for c in T3_PARTS)
    return out


def t4_python_totals(v: dict) -> dict[str, int]:
    return {f"t4.cases.{g}_total": sum(v[f"t4.cases.{g}_{p}"] for p in T4_PARTS) for g in T4_GROUPS}


def make_inputs(version: str) -> dict[str, object]:
    """A known value for every input cell: deterministic random integers, negative for the 2019
    本年增/减, a published-style decimal for amounts, and text; T3 built so some columns balance."""
    layout = get_spec(f"govinfo-annual-{version}").layout
    rng = random.Random(f"xltool-libreoffice-{version}")
    v: dict[str, object] = {}
    for cell in layout.inputs():
        if cell.role == "year":
            v[cell.id] = YEAR[version]
        elif cell.type.kind == "text" or cell.type.kind == "longtext":
            v[cell.id] = TEXT[cell.id]
        elif cell.type.kind == "decimal":
            v[cell.id] = AMOUNT[version]
        elif cell.type_name == "delta":
            v[cell.id] = -rng.randint(1, 60)
        else:
            v[cell.id] = rng.randint(0, 20)
    for col in T3_PARTS:
        v[f"t3.new.{col}"] = rng.randint(400, 900)
        v[f"t3.carried_over.{col}"] = rng.randint(0, 30)
        results = sum(v[f"t3.{r}.{col}"] for r in T3_RESULT_ROWS[version])
        balance = v[f"t3.new.{col}"] + v[f"t3.carried_over.{col}"] - results
        v[f"t3.carried_forward.{col}"] = balance + T3A_OFFSETS[version].get(col, 0)
        assert v[f"t3.carried_forward.{col}"] >= 0
    assert set(v) == {c.id for c in layout.inputs()}
    return v


# --- one LibreOffice batch for the whole module --------------------------------------------------

@pytest.fixture(scope="module")
def office():
    lo.require_libreoffice()
    office = lo.LibreOffice()
    try:
        office.start()
    except lo.LibreOfficeError as e:
        pytest.fail(f"LibreOffice is installed but could not be started: {e}", pytrace=False)
    yield office
    office.close()


PROBE_METHODS = ("clerk", "array", "api")


@pytest.fixture(scope="module")
def batch(office, tmp_path_factory):
    """Everything LibreOffice does for this module, in one worker call."""
    d = tmp_path_factory.mktemp("libreoffice")
    jobs, keys, out = [], [], {"dir": d}
    for version in VERSIONS:
        spec = get_spec(f"govinfo-annual-{version}")
        layout = spec.layout
        inputs = make_inputs(version)
        blank = d / f"blank-{version}.xlsx"
        write_workbook(spec, blank)                       # empty inputs, nothing prefilled
        typed = {(layout.cells[i].sheet, layout.cells[i].a1): val for i, val in inputs.items()}
        filled = d / f"filled-{version}.xlsx"
        jobs.append(lo.fill_job(blank, filled, typed)); keys.append(("fill", version))
        prefilled = d / f"xltool-values-{version}.xlsx"   # xltool writes the values and its cached totals
        write_workbook(spec, prefilled, Agency(), WriteOptions(values=inputs))
        jobs.append(lo.recalc_job(prefilled, d / f"recalc-{version}.xlsx")); keys.append(("recalc", version))
        probe = locked_probe_cells(version)
        for method in PROBE_METHODS:
            dst = d / f"probe-{method}-{version}.xlsx"
            jobs.append(lo.type_job(blank, probe, method, dst)); keys.append((f"probe-{method}", version))
        out[version] = {"inputs": inputs, "blank": blank, "filled": filled, "prefilled": prefilled,
                        "recalc": d / f"recalc-{version}.xlsx", "result": {}}
    t0 = time.monotonic()
    results = office.run(jobs)
    out["seconds"] = time.monotonic() - t0
    out["version_string"] = office.version
    for (what, version), res in zip(keys, results):
        out[version]["result"][what] = res
    return out


def locked_probe_cells(version: str) -> dict[tuple[str, str], object]:
    """Locked cells a clerk might type over: the three kinds of totals and a label."""
    layout = get_spec(f"govinfo-annual-{version}").layout
    cells = [layout.cells["t3.new.total"], layout.cells["t3.results_total.natural_person"],
             layout.cells["t4.cases.review_total"]]
    t3 = layout.cells["t3.new.natural_person"]
    out: dict[tuple[str, str], object] = {(c.sheet, c.a1): 999 for c in cells}
    out[(t3.sheet, a1(t3.row, 0))] = "改过的标签"     # the row label 一、本年新收…
    return out


def load(path: Path, data_only: bool):
    return openpyxl.load_workbook(path, data_only=data_only)


def same_number(got, want) -> bool:
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return Decimal(repr(got)) == Decimal(repr(float(want))) if isinstance(want, (float, Decimal)) else got == want


# --- the filled file -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_typed_under_protection(batch, version):
    res = lo.check(batch[version]["result"]["fill"])
    assert all(res["protected_at_load"].values()), res["protected_at_load"]
    assert all(res["protected_after_typing"].values()), "typing must not lift any sheet's protection"
    assert res["refused"] == []
    n = len(batch[version]["inputs"])
    assert len(res["cells"]) == n
    for c in res["cells"]:
        assert c["protected"] and c["locked"] is False and c["accepted"], c


@pytest.mark.parametrize("version", VERSIONS)
def test_typed_values_are_in_the_saved_file(batch, version):
    layout = get_spec(f"govinfo-annual-{version}").layout
    wb = load(batch[version]["filled"], data_only=True)
    for cid, want in batch[version]["inputs"].items():
        cell = layout.cells[cid]
        got = wb[cell.sheet][cell.a1].value
        if isinstance(want, str):
            assert got == want, f"{cid} {cell.a1}: {got!r} != {want!r}"
        else:
            assert same_number(got, want), f"{cid} {cell.sheet}!{cell.a1}: {got!r} != {want!r}"
    # the amount stayed a number (not the text "14.495 万元") and kept every decimal
    amount = next(c for c in layout.inputs() if c.type.kind == "decimal")
    assert isinstance(wb[amount.sheet][amount.a1].value, float)


@pytest.mark.parametrize("version", VERSIONS)
def test_totals_match_xltool_and_python(batch, version):
    layout = get_spec(f"govinfo-annual-{version}").layout
    inputs = batch[version]["inputs"]
    wb = load(batch[version]["filled"], data_only=True)
    xltool_says = evaluate(layout, inputs)
    python_says = {**t3_python_totals(version, inputs), **t4_python_totals(inputs)}
    computed = layout.computed()
    # FORMAT.md's 总计 cells are exactly the template's formula cells
    assert {c.id for c in computed} == set(python_says)
    for cell in computed:
        got = wb[cell.sheet][cell.a1].value
        assert got == python_says[cell.id] == xltool_says[cell.id], (
            f"{cell.id} {cell.sheet}!{cell.a1}: LibreOffice {got!r}, Python {python_says[cell.id]!r}, "
            f"xltool {xltool_says[cell.id]!r}")


@pytest.mark.parametrize("version", VERSIONS)
def test_t3a_live_checks(batch, version):
    layout = get_spec(f"govinfo-annual-{version}").layout
    v = batch[version]["inputs"]
    totals = t3_python_totals(version, v)
    wb = load(batch[version]["filled"], data_only=True)

    def val(row, col):
        if col == "total":
            return totals[f"t3.{row}.total"]
        return totals[f"t3.{row}.{col}"] if row == "results_total" else v[f"t3.{row}.{col}"]

    checks = {ch.key: ch for ch in layout.checks() if ch.rule == "T3-A"}
    assert set(checks) == set(T3_COLUMNS)
    seen = set()
    for col in T3_COLUMNS:
        balanced = val("new", col) + val("carried_over", col) == val("results_total", col) + val("carried_forward", col)
        ch = checks[col]
        got = wb[ch.sheet][ch.a1].value
        assert got == (CHECK_OK if balanced else CHECK_BAD), f"T3-A {col} {ch.a1}: shows {got!r}, balanced={balanced}"
        seen.add(got)
    assert seen == {CHECK_OK, CHECK_BAD}, "the data should exercise both ✓ and ✗"
    assert (wb[checks["total"].sheet][checks["total"].a1].value == CHECK_OK) == (version == "2019")


@pytest.mark.parametrize("version", VERSIONS)
def test_protection_locks_formulas_survive(batch, version):
    spec = get_spec(f"govinfo-annual-{version}")
    layout = spec.layout
    wb = load(batch[version]["filled"], data_only=False)
    assert [ws.title for ws in wb.worksheets] == [s.name for s in layout.sheets] + [META_SHEET]
    for ws in wb.worksheets:
        assert ws.protection.sheet, f"{ws.title} is no longer protected"
    for cell in layout.inputs():
        c = wb[cell.sheet][cell.a1]
        assert c.protection.locked is False, f"input {cell.id} {cell.a1} became locked"
        if cell.type.numeric:
            dvs = [dv for dv in wb[cell.sheet].data_validations.dataValidation if cell.a1 in dv.sqref]
            assert len(dvs) == 1, f"input {cell.id} {cell.a1} lost its data validation"
        dn = wb.defined_names.get(name_for(cell.id))
        assert dn is not None and dn.attr_text.replace("'", "").endswith(f"{cell.sheet}!{a1(cell.row, cell.col, True)}"), \
            f"defined name {name_for(cell.id)}: {dn and dn.attr_text}"
    for cell in layout.computed():
        c = wb[cell.sheet][cell.a1]
        assert c.protection.locked is not False, f"total {cell.id} {cell.a1} became unlocked"
        assert c.value == cell.formula, f"{cell.id} {cell.a1}: {c.value!r}, expected the formula {cell.formula!r}"
    for ch in layout.checks():
        c = wb[ch.sheet][ch.a1]
        assert c.protection.locked is not False and c.value == ch.formula, f"check {ch.a1}: {c.value!r}"
    for sl in layout.sheets:
        for lab in sl.labels:
            c = wb[sl.name].cell(lab.row + 1, lab.col + 1)
            assert c.value == lab.text and c.protection.locked is not False, f"{sl.name}!{c.coordinate} label"
    meta = wb[META_SHEET]
    assert meta.sheet_state in ("veryHidden", "hidden"), f"{META_SHEET} became {meta.sheet_state}"
    assert meta.protection.sheet
    kv = {r[0].value: r[1].value for r in meta.iter_rows(max_col=2)}
    assert kv["form_id"] == spec.id and kv["fingerprint"] == layout.fingerprint


@pytest.mark.parametrize("version", VERSIONS)
def test_meta_sheet_stays_very_hidden(batch, version):
    state = load(batch[version]["filled"], data_only=False)[META_SHEET].sheet_state
    if state == "hidden":
        # LibreOffice has no "very hidden" sheet state: it reads veryHidden as hidden and saves
        # state="hidden", so after a LibreOffice save a clerk can show _xltool (still protected).
        pytest.xfail(f"{batch['version_string']} saves the very hidden {META_SHEET} sheet as state=\"hidden\"")
    assert state == "veryHidden"


# --- totals that LibreOffice computes from xltool's file = xltool's cached totals ---------------

@pytest.mark.parametrize("version", VERSIONS)
def test_xltool_cached_totals_equal_libreoffice_recalculation(batch, version):
    layout = get_spec(f"govinfo-annual-{version}").layout
    lo.check(batch[version]["result"]["recalc"])
    mine = load(batch[version]["prefilled"], data_only=True)
    theirs = load(batch[version]["recalc"], data_only=True)
    for cell in [*layout.computed(), *layout.checks()]:
        a, b = mine[cell.sheet][cell.a1].value, theirs[cell.sheet][cell.a1].value
        assert a == b, f"{cell.sheet}!{cell.a1}: xltool cached {a!r}, LibreOffice recalculated {b!r}"


# --- typing over a locked total ----------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_typing_over_locked_cells_is_refused(batch, version):
    layout = get_spec(f"govinfo-annual-{version}").layout
    probe = locked_probe_cells(version)

    # The clerk's path (.uno:EnterString on the selected cell, what pressing Enter does): LibreOffice
    # refuses, the cell keeps its formula or label (its "protected cell" message box is cancelled
    # in headless mode), and the saved file still has it.
    clerk = lo.check(batch[version]["result"]["probe-clerk"])
    for c in clerk["cells"]:
        assert c["locked"] and c["protected"], c
        assert not c["accepted"] and not c["changed"], f"LibreOffice took {c['value']!r} into locked {c['cell']}"
    wb = load(batch["dir"] / f"probe-clerk-{version}.xlsx", data_only=False)
    for (sheet, ref) in probe:
        cell = next((x for x in layout.cells.values() if (x.sheet, x.a1) == (sheet, ref)), None)
        want = cell.formula if cell else next(lab.text for lab in layout.sheet(sheet).labels
                                              if a1(lab.row, lab.col) == ref)
        assert wb[sheet][ref].value == want

    # setDataArray (XCellRangeData) checks protection too: it raises RuntimeException.
    array = lo.check(batch[version]["result"]["probe-array"])
    for c in array["cells"]:
        assert c["error"] and "RuntimeException" in c["error"] and not c["changed"], c

    # setValue/setString (XCell) do NOT check protection in LibreOffice 7.4: a macro or script can
    # overwrite a locked total of a protected sheet (seen: the formula is replaced, no exception).
    # That is the program's API, not the clerk's keyboard; what the template controls is that the
    # cell is locked and the sheet protected, which is asserted here.
    api = lo.check(batch[version]["result"]["probe-api"])
    for c in api["cells"]:
        assert c["locked"] and c["protected"], c


# --- text inputs stay text ----------------------------------------------------------------------

def test_all_digit_code_stays_text(office, tmp_path):
    """An 18-digit 统一社会信用代码 typed by a clerk keeps every digit (the input is formatted as text)."""
    spec = get_spec("govinfo-annual-2021")
    code = spec.layout.cells["meta.code"]
    src, dst = tmp_path / "blank.xlsx", tmp_path / "code.xlsx"
    write_workbook(spec, src)
    res = office.run([lo.type_job(src, {(code.sheet, code.a1): "915100001234567890"}, "clerk", dst)])[0]
    lo.check(res)
    assert load(dst, data_only=True)[code.sheet][code.a1].value == "915100001234567890"
