"""Feedback workbooks stamped from one drawing per form (outputs/feedback_stamp.py) are the workbooks
the writer draws, byte for byte but for the time of writing, whatever the return held; what a stamp
does not take is drawn, and a kind whose stamp would differ is drawn from then on."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
from packages import entries

from xltool.findings import ERROR, REJECTED, Finding
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, drawn, write_workbook
from xltool.ingest.pipeline import process_file
from xltool.outputs import feedback, feedback_stamp
from xltool.outputs.feedback_marks import Mark, annotate_for

from returns import edit_part

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "inbox"
ODD = ["十二", "A&B <局> \"引号\"", "  前后空格  ", "甲\x07乙", "_x0041_", "=SUM(A1:A2)", "😀", "0012", "1,234"]


def returns(folder: Path) -> list[Path]:
    """Rejected returns of every shape feedback meets: the samples' mistakes; texts (plain, escaped,
    control characters, formulas) typed into numeric cells, one or many (a list of findings longer
    than a block of 16 rows); each form; an agency without region or code; the sheets protected
    with the coordinator's own password, or with the kind of hash a spreadsheet program writes."""
    made = sorted((SAMPLES / "常见错误").glob("*.xlsx")) + [SAMPLES / "平潭综合实验区_2020.xlsx"]
    for form, year in (("govinfo-annual-2019", 2020), ("govinfo-annual-2021", 2024)):
        spec = get_spec(form)
        numeric = [c for c in spec.layout.inputs() if c.type.numeric and c.role is None]
        for n, (agency, typed, password) in enumerate([
                (Agency("甲&乙局", year, "某市", "X1"), 1, None),
                (Agency("丙局", year), 4, None),
                (Agency("丁局 <测试>", year, "某区"), 25, "本单位的密码"),
                (Agency("戊局", year, "某区", "Y2"), 2, None)]):
            rng = random.Random(n)
            raw = {c.id: ODD[(n + i) % len(ODD)] for i, c in enumerate(rng.sample(numeric, typed))}
            path = folder / f"{form}-{n}.xlsx"
            options = WriteOptions(values=random_inputs(spec.layout, rng), raw=raw)
            if password:
                options.password = password
            write_workbook(spec, path, agency, options)
            made.append(path)
        hashed = folder / f"{form}-sha512.xlsx"
        shutil.copy(made[-1], hashed)
        for sheet in range(1, len(spec.layout.sheets) + 1):
            edit_part(hashed, f"xl/worksheets/sheet{sheet}.xml", lambda data: re.sub(
                rb'password="[0-9A-F]+"', b'algorithmName="SHA-512" hashValue="a+b/c=&amp;&quot;" '
                                          b'saltValue="s&lt;1&gt;" spinCount="100000"', data))
        made.append(hashed)
    return made


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stamp-inbox")
    results = [process_file(p, p.parent) for p in returns(folder)]
    assert all(r.status == REJECTED for r in results), [r.path for r in results if r.status != REJECTED]
    return [r for r in results if r.form]


def drawn_feedback(r, target: Path, monkeypatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(feedback, "stamped_feedback", lambda *a, **k: None)
        feedback.write_feedback(r.source, r.findings, target, form=r.form, workbook=r.workbook)
    return target.read_bytes()


def test_stamped_feedback_is_the_drawn_feedback(rejected, tmp_path, monkeypatch):
    feedback_stamp.forget()
    stamps = []
    real = feedback_stamp._stamp
    monkeypatch.setattr(feedback_stamp, "_stamp", lambda *a: stamps.append(1) or real(*a))
    for r in rejected + rejected:       # the first of each kind is checked: the second round is stamped
        stamps.clear()
        feedback.write_feedback(r.source, r.findings, tmp_path / "stamped.xlsx", form=r.form, workbook=r.workbook)
        assert entries((tmp_path / "stamped.xlsx").read_bytes()) == \
            entries(drawn_feedback(r, tmp_path / "drawn.xlsx", monkeypatch)), r.path
    assert stamps, "the second round is stamped"
    kinds = [base.checked for base in feedback_stamp._BASES.values()]
    assert kinds and all(checked[True] is True for checked in kinds), kinds


def test_a_kind_whose_stamp_is_not_the_drawing_is_drawn_from_then_on(rejected, tmp_path, monkeypatch):
    feedback_stamp.forget()
    real = feedback_stamp._core
    monkeypatch.setattr(feedback_stamp, "_core", lambda *a: real(*a).replace("<dc:subject>", "<dc:subject>x"))
    r = rejected[0]
    for _ in range(3):
        feedback.write_feedback(r.source, r.findings, tmp_path / "f.xlsx", form=r.form, workbook=r.workbook)
        assert entries((tmp_path / "f.xlsx").read_bytes()) == entries(drawn_feedback(r, tmp_path / "d.xlsx", monkeypatch))
    assert [b.checked for b in feedback_stamp._BASES.values()] == [{False: None, True: False}]
    feedback_stamp.forget()


def test_what_a_stamp_does_not_take_is_drawn():
    """A mark on a cell outside the form's cells, a comment longer than xlsxwriter keeps whole."""
    spec = get_spec("govinfo-annual-2021")
    agency = Agency("甲局", 2024, "某市")
    findings = [Finding("cell-type", ERROR, "三、依申请公开", "E7")]
    sheet = spec.layout.sheets[0].name
    feedback_stamp.forget()

    def attempt(marks):
        options = WriteOptions(annotate=annotate_for(marks, findings, {}))
        return feedback_stamp.stamped_feedback(spec, agency, options, marks, findings, {},
                                               lambda: drawn(spec, agency, options))
    assert attempt({(sheet, "B3"): Mark(ERROR, ["错"])}) is not None      # the kind's check
    assert attempt({(sheet, "B3"): Mark(ERROR, ["错"])}) is not None      # a stamp
    assert attempt({(sheet, "Z999"): Mark(ERROR, ["越界"])}) is None
    assert attempt({(sheet, "B3"): Mark(ERROR, ["长" * 20_000])}) is None
    feedback_stamp.forget()
