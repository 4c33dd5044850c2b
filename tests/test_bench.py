"""scripts/bench.py: the XML edits that make the corpus, the floor reader (no LibreOffice needed), and the
wait for a quick disk."""

from __future__ import annotations

import random

import openpyxl
import pytest

import scripts.bench as bench
from scripts.bench import add_shared_string, file_creation_ms, floor_read, parsers, set_cells, wait_for_quick_disk
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook


def test_set_cells_keeps_formulas_attributes_and_neighbours():
    xml = ('<row r="7"><c r="C7" s="14" t="s"><v>3</v></c><c r="D7" s="11"/><c r="E7" s="11" t="n"><v>5</v></c>'
           '<c r="J7" s="13" t="n"><f aca="false">SUM(D7:I7)</f><v>5</v></c></row>')
    out = set_cells(xml, {"D7": ("n", None, "12"), "J7": ("n", None, "17"), "E7": ("s", "", "9")})
    assert out == ('<row r="7"><c r="C7" s="14" t="s"><v>3</v></c><c r="D7" s="11" t="n"><v>12</v></c>'
                   '<c r="E7" s="11" t="s"><v>9</v></c>'
                   '<c r="J7" s="13" t="n"><f aca="false">SUM(D7:I7)</f><v>17</v></c></row>')
    typed_over = set_cells(xml, {"J7": ("n", "", "99")})
    assert '<c r="J7" s="13" t="n"><v>99</v></c>' in typed_over and "<f" not in typed_over


def test_add_shared_string_counts():
    sst = '<sst xmlns="x" count="5" uniqueCount="2"><si><t>a</t></si><si><r><t>b</t></r></si></sst>'
    out, index = add_shared_string(sst, "12件")
    assert index == 2
    assert 'count="6"' in out and 'uniqueCount="3"' in out and out.endswith("<si><t xml:space=\"preserve\">12件</t></si></sst>")


@pytest.mark.parametrize("parser", sorted(parsers()))
def test_floor_read_gives_openpyxl_values(tmp_path, parser):
    spec = get_spec("govinfo-annual-2021")
    path = tmp_path / "a.xlsx"
    write_workbook(spec, path, Agency("测试局", 2024, "某市"),
                   WriteOptions(values=random_inputs(spec.layout, random.Random(3))))
    read = floor_read(path.read_bytes(), parsers()[parser])
    wb = openpyxl.load_workbook(path, data_only=True)
    assert list(read) == wb.sheetnames
    for name, cells in read.items():
        got = {ref: v for ref, v in cells if v is not None}
        want = {c.coordinate: c.value for row in wb[name].iter_rows() for c in row if c.value is not None}
        assert got == {ref: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                       for ref, v in want.items()}


def test_the_parallel_floor_reads_every_file_and_fails_loudly(tmp_path):
    """The floor over J processes is a time only when every process read its share: a file it
    cannot read makes the benchmark fail instead of reporting a floor that skipped work."""
    from scripts.bench import time_floor_parallel

    spec = get_spec("govinfo-annual-2021")
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.xlsx")
        write_workbook(spec, files[-1], Agency(f"局{i}", 2024), WriteOptions(values=random_inputs(spec.layout, random.Random(i))))
    etree = parsers()["xml.etree"]
    assert time_floor_parallel(files, etree, 2) > 0
    (tmp_path / "3.xlsx").write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="floor process"):
        time_floor_parallel([*files, tmp_path / "3.xlsx"], etree, 2)


def test_disk_probe_leaves_nothing_behind(tmp_path):
    """The probe runs in the bench's cache folder before every run: it must not fill it up."""
    assert file_creation_ms(tmp_path, count=20) > 0
    assert list(tmp_path.iterdir()) == []


def test_wait_for_quick_disk_is_bounded(tmp_path, monkeypatch):
    """The bench waits while the disk is slow, stops once it is quick, and never waits past the bound
    (a slow network folder stays slow)."""
    clock = [0.0]
    monkeypatch.setattr(bench.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(bench.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))

    def disk(costs):
        probes = iter(costs)
        monkeypatch.setattr(bench, "file_creation_ms", lambda folder: next(probes))

    disk([1.0, 0.9, 0.05, 5.0])                     # quick at the third probe
    assert wait_for_quick_disk(tmp_path) == (10.0, 0.05)
    disk([0.05])                                    # quick at once: no wait
    assert wait_for_quick_disk(tmp_path) == (0.0, 0.05)
    disk([1.0] * 1000)                              # never quick
    waited, cost = wait_for_quick_disk(tmp_path)
    assert cost == 1.0 and bench.SETTLE_WAIT_S <= waited <= bench.SETTLE_WAIT_S + 5
