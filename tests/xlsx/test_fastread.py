"""fastread.read_workbook_fast against read.read_workbook (openpyxl, the reference): the same
WorkbookData for every file the guard lets through: the samples, generated and tampered
forms, a LibreOffice round trip, hand-made packages that take openpyxl's odd paths, and the
corpus of bad files."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xltool.form.layout import META_SHEET
from xltool.xlsx import guard
from xltool.xlsx import read as _read
from xltool.xlsx.fastread import FastReadUnsupported, read_workbook_fast
from xltool.xlsx.model import WorkbookData
from xltool.xlsx.package import parse_xml

# openpyxl is the reference; once read.read_workbook takes the fast path it stays available
# as read.read_workbook_openpyxl.
read_workbook = getattr(_read, "read_workbook_openpyxl", _read.read_workbook)
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

ROOT = Path(__file__).resolve().parents[2]
FORMS = ("govinfo-annual-2019", "govinfo-annual-2021")
# read.py stores str(ArrayFormula) and str(DataTableFormula): object reprs with an address.


# --- comparing ----------------------------------------------------------------------------------

def first_difference(fast: WorkbookData, ref: WorkbookData) -> str | None:
    """None when equal; else where they first differ, for the failure message."""
    if fast == ref:
        return None
    if fast.defined_names != ref.defined_names:
        return f"defined names: fast {fast.defined_names} != reference {ref.defined_names}"
    if list(fast.sheets) != list(ref.sheets):
        return f"sheets: fast {list(fast.sheets)} != reference {list(ref.sheets)}"
    for name, a in fast.sheets.items():
        b = ref.sheets[name]
        for attr in ("name", "state", "protected", "max_row", "max_col", "merges"):
            if getattr(a, attr) != getattr(b, attr):
                return f"{name}.{attr}: fast {getattr(a, attr)!r} != reference {getattr(b, attr)!r}"
        for at in sorted(set(a.cells) | set(b.cells)):
            if a.cells.get(at) != b.cells.get(at):
                return f"{name} cell {at}: fast {a.cells.get(at)!r} != reference {b.cells.get(at)!r}"
    return "differ (cell order?)"


def assert_same(path: Path, **bounds) -> None:
    ref = read_workbook(path, **bounds)
    fast = read_workbook_fast(path, **bounds)
    diff = first_difference(fast, ref)
    assert diff is None, f"{path.name}: {diff}"


# --- generated and tampered forms ----------------------------------------------------------------

def generated(folder: Path, form: str, seed: int, raw: dict | None = None, balanced: bool = True) -> Path:
    spec = get_spec(form)
    path = folder / f"{form}-{seed}.xlsx"
    values = random_inputs(spec.layout, random.Random(seed), high=10 ** (seed % 7 + 1), balanced=balanced)
    write_workbook(spec, path, Agency("测试局", 2024, "某市", "11000000"), WriteOptions(values=values, raw=raw or {}))
    return path


def edit(path: Path, change) -> Path:
    """What a clerk does after removing protection, saved by openpyxl."""
    wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def input_cell(form: str, n: int = 0):
    cells = [c for c in get_spec(form).layout.inputs() if c.type.numeric and not c.role]
    return cells[n]


def computed_cell(form: str, n: int = 0):
    return get_spec(form).layout.computed()[n]


def test_samples():
    paths = sorted((ROOT / "samples" / "inbox").rglob("*.xlsx"))
    assert paths
    for path in paths:
        assert_same(path)


@pytest.mark.parametrize("form", FORMS)
def test_random_fills(tmp_path, form):
    for seed in range(4):
        assert_same(generated(tmp_path, form, seed, balanced=seed % 2 == 0))


@pytest.mark.parametrize("form", FORMS)
def test_text_full_width_digits_and_blanks_in_number_cells(tmp_path, form):
    cells = [c for c in get_spec(form).layout.inputs() if c.type.numeric and not c.role]
    raw = {cells[0].id: "１２", cells[1].id: "12件", cells[2].id: " ", cells[3].id: True, cells[4].id: 1.5e300,
           cells[5].id: -0.000001, cells[6].id: "=1+1"}
    assert_same(generated(tmp_path, form, 7, raw=raw))


@pytest.mark.parametrize("form", FORMS)
def test_protection_removed_and_a_total_typed_over(tmp_path, form):
    total = computed_cell(form, 2)

    def type_over(wb):
        ws = wb[total.sheet]
        ws.protection.sheet = False
        ws[total.a1] = 120
        typed = input_cell(form, 3)
        wb[typed.sheet][typed.a1] = "=D5*2"

    assert_same(edit(generated(tmp_path, form, 3), type_over))


@pytest.mark.parametrize("form", FORMS)
def test_rows_inserted(tmp_path, form):
    sheet = computed_cell(form).sheet
    assert_same(edit(generated(tmp_path, form, 4), lambda wb: wb[sheet].insert_rows(6, 2)))


def test_dates_and_times_in_number_cells(tmp_path):
    form = "govinfo-annual-2021"
    a, b, c, d = (input_cell(form, i) for i in range(4))

    def dates(wb):
        wb[a.sheet][a.a1] = dt.datetime(2024, 3, 5, 14, 30)
        wb[b.sheet][b.a1] = dt.date(2024, 1, 2)
        wb[c.sheet][c.a1] = dt.time(9, 15)
        wb[d.sheet][d.a1] = dt.timedelta(hours=30)
        wb[d.sheet][d.a1].number_format = "[h]:mm:ss"

    assert_same(edit(generated(tmp_path, form, 5), dates))


def test_read_bounds(tmp_path):
    path = generated(tmp_path, "govinfo-annual-2021", 6)
    for bounds in ({"max_rows": 10, "max_cols": 5}, {"max_rows": 1, "max_cols": 1}, {"max_rows": 3000, "max_cols": 300}):
        assert_same(path, **bounds)


# --- LibreOffice --------------------------------------------------------------------------------

def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_resaved(tmp_path):
    form = "govinfo-annual-2019"
    src = tmp_path / "src"
    src.mkdir()
    cells = [c for c in get_spec(form).layout.inputs() if c.type.numeric and not c.role]
    paths = [generated(src, form, 8), generated(src, form, 9, raw={cells[0].id: "１２", cells[1].id: "三"}),
             edit(generated(src, "govinfo-annual-2021", 10),
                  lambda wb: wb[input_cell("govinfo-annual-2021").sheet].insert_rows(5))]
    out = tmp_path / "out"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "xlsx:Calc Office Open XML", "--outdir", str(out), *map(str, paths)],
                       check=True, capture_output=True, timeout=300)
    for path in paths:
        assert_same(out / path.name)


# --- hand-made packages: openpyxl's odd paths ------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>
<numFmt numFmtId="165" formatCode="0.######&quot; 万元&quot;"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="2"><border/><border><left style="thin"/><right style="thin"/><top style="thin"/><bottom style="thin"/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyProtection="1"><protection locked="0"/></xf>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyProtection="0"><protection locked="false" hidden="true"/></xf>
<xf numFmtId="165" fontId="0" fillId="0" borderId="1" xfId="0"><protection locked="1"/></xf>
<xf numFmtId="46" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0"><protection locked="0"/></xf>
<xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>"""

SHARED = ["plain", "x005F_x000D_escaped", "  spaced  ", ("rich ", "text"), ""]


def shared_strings_xml(strings) -> str:
    items = []
    for s in strings:
        if isinstance(s, tuple):
            runs = "".join(f'<r><rPr><b/></rPr><t xml:space="preserve">{part}</t></r>' for part in s)
            items.append(f"<si>{runs}<rPh sb=\"0\" eb=\"1\"><t>ignored</t></rPh></si>")
        else:
            items.append(f'<si><t xml:space="preserve">{s}</t></si>')
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">{"".join(items)}</sst>'


def package(path: Path, sheets: list[dict], *, names: str = "", styles: str | None = STYLES,
            strings=SHARED, date1904: bool = False, absolute_targets: bool = False,
            workbook_part: str = "xl/workbook.xml") -> Path:
    """A workbook written by hand. sheets: {name, body (inside <worksheet>), state?, rels?, extra parts?}."""
    parts: dict[str, str] = {}
    folder = posixpath_dir(workbook_part)
    overrides = [f'<Override PartName="/{workbook_part}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    rels, entries = [], []
    for i, sheet in enumerate(sheets, start=1):
        part = f"{folder}/worksheets/sheet{i}.xml"
        target = f"/{part}" if absolute_targets else f"worksheets/sheet{i}.xml"
        rels.append(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="{target}"/>')
        state = f' state="{sheet["state"]}"' if "state" in sheet else ""
        entries.append(f'<sheet name="{sheet["name"]}" sheetId="{i}"{state} r:id="rId{i}"/>')
        parts[part] = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:r="{REL}">{sheet["body"]}</worksheet>'
        if "rels" in sheet:
            parts[f"{folder}/worksheets/_rels/sheet{i}.xml.rels"] = (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">{sheet["rels"]}</Relationships>')
        parts.update(sheet.get("parts", {}))
    if strings is not None:
        parts[f"{folder}/sharedStrings.xml"] = shared_strings_xml(strings)
        overrides.append(f'<Override PartName="/{folder}/sharedStrings.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    if styles is not None:
        parts["xl/styles.xml"] = styles
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    parts[workbook_part] = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">{pr}'
                            f'<sheets>{"".join(entries)}</sheets>{names}</workbook>')
    parts[f"{folder}/_rels/{workbook_part.rsplit('/', 1)[-1]}.rels"] = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                                                  f'{"".join(rels)}</Relationships>')
    parts["[Content_Types].xml"] = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                                    '<Default Extension="xml" ContentType="application/xml"/>'
                                    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                                    f'{"".join(overrides)}</Types>')
    parts["_rels/.rels"] = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="{workbook_part}"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def posixpath_dir(part: str) -> str:
    return part.rsplit("/", 1)[0] if "/" in part else ""


def rows(*cells_by_row: str) -> str:
    return "<sheetData>" + "".join(cells_by_row) + "</sheetData>"


VALUES = rows(
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
    '<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>-1</v></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>inline</t></is></c><c r="B2" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>'
    '<c r="C2" t="str"><v>a str</v></c><c r="D2" t="b"><v>1</v></c><c r="E2" t="b"><v>0</v></c><c r="F2" t="e"><v>#N/A</v></c>'
    '<c r="G2" t="d"><v>2024-02-29T10:00:00</v></c><c r="H2" t="inlineStr"/></row>',
    '<row r="3"><c r="A3"><v>42</v></c><c r="B3"><v>4.50</v></c><c r="C3"><v>1E3</v></c><c r="D3"><v>-7</v></c>'
    '<c r="E3" s="2"><v>45292</v></c><c r="F3" s="3"><v>45292.5</v></c><c r="G3" s="5"><v>1.25</v></c>'
    '<c r="H3" s="7"><v>0.75</v></c><c r="I3" s="2"><v>59</v></c><c r="J3" s="2"><v>3000000</v></c><c r="K3"><v></v></c></row>',
    '<row r="4"><c r="A4" s="1"/><c r="B4" s="3"/><c r="C4" s="4"/><c r="D4" s="6"/><c r="E4" s="1"><v>5</v></c>'
    '<c r="F4" s="0" t="n"><v>6</v></c></row>',
)


def test_cell_types_styles_and_dates(tmp_path):
    assert_same(package(tmp_path / "types.xlsx", [{"name": "数据", "body": VALUES}]))
    assert_same(package(tmp_path / "types1904.xlsx", [{"name": "数据", "body": VALUES}], date1904=True))


FORMULAS = rows(
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><f>SUM(A1:B1)</f><v>3</v></c>'
    '<c r="D1" t="str"><f>"x"&amp;A1</f><v>x1</v></c><c r="E1" t="b"><f>A1=1</f><v>1</v></c>'
    '<c r="F1" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="G1" s="2"><f>TODAY()</f><v>45000</v></c><c r="H1"><f/></c></row>',
    '<row r="2"><c r="A2"><v>3</v></c><c r="B2"><v>4</v></c><c r="C2"><f t="shared" ref="C2:C4" si="0">SUM(A2:B2)</f><v>7</v></c></row>',
    '<row r="3"><c r="A3"><v>5</v></c><c r="B3"><v>6</v></c><c r="C3"><f t="shared" si="0"/><v>11</v></c></row>',
    '<row r="4"><c r="C4"><f t="shared" si="0"/></c><c r="D4"><f t="array" ref="D4">SUM(A1:A3*B1:B3)</f><v>44</v></c>'
    '<c r="E4"><f t="dataTable" ref="E4" dt2D="0" dtr="0" r1="A1"/><v>1</v></c></row>',
)


def test_formulas_cached_results_shared_and_array(tmp_path):
    path = package(tmp_path / "formulas.xlsx", [{"name": "F", "body": FORMULAS}])
    assert_same(path)
    fast = read_workbook_fast(path).sheets["F"]
    assert fast.get(2, 2).formula == "=SUM(A3:B3)" and fast.get(2, 2).cached == 11
    assert fast.get(3, 3).formula == "=SUM(A1:A3*B1:B3)"      # read.py keeps an object repr here


IRREGULAR = rows(
    # no r on rows and cells, rows out of order, a row repeated, a cell repeated, a cell naming another row
    '<row><c><v>1</v></c><c><f>A1*2</f><v>2</v></c></row>',
    '<row r="5"><c r="B5"><f>1+1</f><v>2</v></c><c r="B5"><f>1+2</f><v>3</v></c></row>',
    '<row r="3"><c r="A3"><f>9</f><v>9</v></c><c r="C7"><f>8</f><v>8</v></c></row>',
    '<row r="5"><c r="D5"><f>4</f><v>4</v></c></row>',
    '<row r="6.0"><c r="A6"><v>6</v></c><c><f>A6</f><v>6</v></c></row>',
    '<row r="7"><c r="C7"><v>70</v></c></row>',
)


def test_irregular_rows_and_cells(tmp_path):
    assert_same(package(tmp_path / "irregular.xlsx", [{"name": "S", "body": IRREGULAR}]))


MERGES = rows(
    '<row r="1"><c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="1"><v>99</v></c><c r="D1" s="6"/></row>',
    '<row r="2"><c r="A2" s="4"><f>1</f><v>1</v></c><c r="C2" s="1"><v>5</v></c></row>',
) + ('<mergeCells count="6"><mergeCell ref="A1:B2"/><mergeCell ref="B2:C3"/><mergeCell ref="D1:E1"/>'
     '<mergeCell ref="$F$5:$G$6"/><mergeCell ref="H8"/><mergeCell ref="K20:L21"/></mergeCells>')


def test_merged_ranges_overlapping_and_outside_the_data(tmp_path):
    path = package(tmp_path / "merges.xlsx", [{"name": "M", "body": MERGES}])
    assert_same(path)
    assert_same(path, max_rows=6, max_cols=6)


def test_protection_states_names_and_absolute_targets(tmp_path):
    body = rows('<row r="1"><c r="A1"><v>1</v></c></row>')
    sheets = [
        {"name": "甲", "body": body + '<sheetProtection sheet="1" objects="1"/>'},
        {"name": "乙", "state": "hidden", "body": body + '<sheetProtection sheet="true"/>'},
        {"name": "_xltool", "state": "veryHidden", "body": rows(
            '<row r="1"><c r="A1" t="inlineStr"><is><t>form_id</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>'
            '<row r="2"><c r="A2" t="inlineStr"><is><t>year</t></is></c><c r="B2"><v>2024</v></c></row>')
         + '<sheetProtection sheet="0"/>'},
        {"name": "丙", "body": body + '<sheetProtection password="CC3D"/>'},
    ]
    names = ('<definedNames><definedName name="in_a">\'甲\'!$A$1</definedName>'
             '<definedName name="_xlnm.Print_Titles" localSheetId="0">\'甲\'!$1:$2</definedName>'
             '<definedName name="local" localSheetId="1">\'乙\'!$A$1</definedName>'
             '<definedName name="_xlnm.Print_Area">\'甲\'!$A$1:$B$2</definedName>'
             '<definedName name="empty"></definedName><definedName name="in_a">\'乙\'!$A$1</definedName></definedNames>')
    for absolute in (False, True):
        path = package(tmp_path / f"states{absolute}.xlsx", sheets, names=names, absolute_targets=absolute)
        assert_same(path)
    assert read_workbook_fast(path).key_values(META_SHEET) == {"form_id": "x", "year": "2024"}


def test_hyperlinks_and_comments_widen_the_sheet(tmp_path):
    body = rows('<row r="1"><c r="A1"><v>1</v></c><c r="B1" s="1"/></row>',
                '<row r="2"><c r="E2"><v>5</v></c></row>') + (
        '<mergeCells><mergeCell ref="G1:H2"/></mergeCells>'
        '<hyperlinks><hyperlink ref="C9" r:id="rId9"/><hyperlink ref="E2:F4" location="\'S\'!A1"/>'
        '<hyperlink ref="B1" location="=SUM(A1)"/><hyperlink ref="H2" location="in a merge"/>'
        '<hyperlink ref="$J$1" display="no text"/><hyperlink ref="J1" location="second"/></hyperlinks>')
    comments = (f'<?xml version="1.0" encoding="UTF-8"?><comments xmlns="{MAIN}"><authors><author>a</author></authors>'
                '<commentList><comment ref="H3" authorId="0"><text><t>note</t></text></comment></commentList></comments>')
    sheet = {"name": "S", "body": body,
             "rels": f'<Relationship Id="rId9" Type="{REL}/hyperlink" Target="http://example.com" TargetMode="External"/>'
                     f'<Relationship Id="rId2" Type="{REL}/comments" Target="../comments1.xml"/>',
             "parts": {"xl/comments1.xml": comments}}
    assert_same(package(tmp_path / "links.xlsx", [sheet]))


def test_missing_styles_strings_and_a_workbook_elsewhere(tmp_path):
    body = rows('<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="B1"><v>2</v></c></row>')
    assert_same(package(tmp_path / "bare.xlsx", [{"name": "S", "body": body}], styles=None, strings=None))
    assert_same(package(tmp_path / "moved.xlsx", [{"name": "S", "body": body}], workbook_part="book/main.xml"))


def test_duplicate_sheet_names_are_renamed_like_openpyxl(tmp_path):
    body = rows('<row r="1"><c r="A1"><v>1</v></c></row>')
    path = package(tmp_path / "dups.xlsx", [{"name": "S", "body": body}, {"name": "s", "body": body},
                                             {"name": "S1", "body": body}])
    assert_same(path)
    formula = rows('<row r="1"><c r="A1"><f>1</f><v>1</v></c></row>')
    path = package(tmp_path / "dups2.xlsx", [{"name": "S", "body": body}, {"name": "S", "body": formula}])
    with pytest.raises(FastReadUnsupported):      # openpyxl reads the first sheet's part for the second's results
        read_workbook_fast(path)


def test_a_dtd_is_refused_even_without_the_guard():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b'<x>&b;</x>')
    from defusedxml import DTDForbidden
    with pytest.raises(DTDForbidden):
        parse_xml(bomb)
    with pytest.raises(DTDForbidden):
        parse_xml(b"<!-- a comment first --><!DOCTYPE x><x/>")
    assert parse_xml(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><?pi x?><x a="1"/>').get("a") == "1"
    assert parse_xml('<?xml version="1.0" encoding="UTF-16"?><x/>'.encode("utf-16")).tag == "x"


def test_builtin_date_formats_match_openpyxl():
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    from xltool.xlsx.fastread import _BUILTIN_DATE_FORMAT_IDS, _DATE_LETTERS
    assert _BUILTIN_DATE_FORMAT_IDS == {i for i, f in BUILTIN_FORMATS.items() if is_date_format(f) or is_timedelta_format(f)}
    for f in BUILTIN_FORMATS.values():     # the shortcut: a format without these letters is never a date
        if _DATE_LETTERS.isdisjoint(f):
            assert not is_date_format(f) and not is_timedelta_format(f)


# --- the corpus of bad files -----------------------------------------------------------------------

def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix != ".json")


def assert_same_where_parseable(paths: list[Path]) -> None:
    compared = 0
    for path in paths:
        if not guard.inspect_file(path).parseable:
            continue
        try:
            ref = read_workbook(path)
        except Exception:
            continue                       # openpyxl cannot read it: nothing to be equal to
        try:
            fast = read_workbook_fast(path)
        except FastReadUnsupported:
            continue                       # read.py's fallback reads it
        diff = first_difference(fast, ref)
        assert diff is None, f"{path.name}: {diff}"
        compared += 1
    assert compared or not paths


@pytest.mark.slow
def test_corpus_script(tmp_path):
    script = ROOT / "scripts" / "make_corpus.py"
    out = tmp_path / "corpus"
    run = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=900,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert_same_where_parseable(corpus_files(out))


# --- random sheets: the reading rules on arbitrary layouts ----------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COLUMNS = "ABCDEFGH"


@st.composite
def random_cell(draw, row: int) -> str:
    ref = draw(st.sampled_from(["", f'r="{draw(st.sampled_from(_COLUMNS))}{draw(st.sampled_from([row, row, row + 1, 1]))}"']))
    style = draw(st.sampled_from(["", ' s="0"', ' s="1"', ' s="2"', ' s="3"', ' s="4"', ' s="5"', ' s="6"', ' s="7"']))
    kind = draw(st.sampled_from(["n", "n", "s", "str", "b", "e", "inlineStr", "blank", "formula", "shared"]))
    if kind == "n":
        body = f"<v>{draw(st.sampled_from(['0', '1', '42', '-3', '2.5', '1E2', '45000.25', '']))}</v>"
        return f"<c {ref}{style}>{body}</c>"
    if kind == "s":
        return f'<c {ref}{style} t="s"><v>{draw(st.integers(-len(SHARED), len(SHARED) - 1))}</v></c>'
    if kind == "str":
        return f'<c {ref}{style} t="str"><v>{draw(st.sampled_from(["text", "=not a formula", " "]))}</v></c>'
    if kind == "b":
        return f'<c {ref}{style} t="b"><v>{draw(st.sampled_from(["0", "1"]))}</v></c>'
    if kind == "e":
        return f'<c {ref}{style} t="e"><v>#N/A</v></c>'
    if kind == "inlineStr":
        return f'<c {ref}{style} t="inlineStr"><is><t>{draw(st.sampled_from(["in", "", "两个字"]))}</t></is></c>'
    if kind == "blank":
        return f"<c {ref}{style}/>"
    cached = draw(st.sampled_from(["", "<v>7</v>", '<v>x</v>']))
    t = ' t="str"' if "x" in cached else ""
    if kind == "formula":
        return f"<c {ref}{style}{t}><f>SUM(A1:B2)</f>{cached}</c>"
    ref = ref or f'r="{draw(st.sampled_from(_COLUMNS))}{row}"'     # openpyxl needs r="" to translate
    return f'<c {ref}{style}{t}><f t="shared" si="{draw(st.sampled_from("01"))}">A1+1</f>{cached}</c>'


@st.composite
def random_sheet(draw) -> str:
    body = []
    for i in range(draw(st.integers(0, 6))):
        number = draw(st.sampled_from([i + 1, i + 1, i + 2, 2, None]))
        r = "" if number is None else f' r="{number}"'
        cells = "".join(draw(random_cell(number or i + 1)) for _ in range(draw(st.integers(0, 4))))
        body.append(f"<row{r}>{cells}</row>")
    xml = "<sheetData>" + "".join(body) + "</sheetData>"
    if draw(st.booleans()):
        refs = draw(st.lists(st.sampled_from(["A1:B2", "B2:C3", "C1:D1", "E5:F6", "A3", "G8:H9", "B1:B4"]), max_size=3))
        xml += "<mergeCells>" + "".join(f'<mergeCell ref="{ref}"/>' for ref in refs) + "</mergeCells>"
    if draw(st.booleans()):
        refs = draw(st.lists(st.sampled_from(["A1", "C2", "B2:C3", "H10", "D4"]), max_size=2))
        xml += "<hyperlinks>" + "".join(f'<hyperlink ref="{ref}" location="L{ref}"/>' for ref in refs) + "</hyperlinks>"
    if draw(st.booleans()):
        xml += f'<sheetProtection sheet="{draw(st.sampled_from(["1", "0", "true"]))}"/>'
    return xml


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheets=st.lists(random_sheet(), min_size=1, max_size=2), bounds=st.sampled_from([(400, 60), (3, 3), (2, 8)]))
def test_random_sheets(tmp_path, sheets, bounds):
    path = package(tmp_path / "random.xlsx", [{"name": f"S{i}", "body": body} for i, body in enumerate(sheets)])
    max_rows, max_cols = bounds
    try:
        ref = read_workbook(path, max_rows, max_cols)
    except Exception:
        return                              # openpyxl cannot read it: fastread may read it or not
    try:
        fast = read_workbook_fast(path, max_rows, max_cols)
    except FastReadUnsupported:
        return
    diff = first_difference(fast, ref)
    assert diff is None, f"{diff}\n{sheets}"
