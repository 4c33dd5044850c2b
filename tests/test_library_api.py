"""The README's library example runs as printed, and the API does what it says."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import xltool

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Library"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_library_example_runs(tmp_path):
    (tmp_path / "inbox").mkdir()
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(readme_example(), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("rejected") and "table-blank" in lines[0]
    assert lines[1] == "1 rejected"
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in run["files"]] == ["测试局.xlsx"]


def test_validate_file_gives_the_document_and_writes_nothing(tmp_path):
    target = tmp_path / "a.xlsx"
    xltool.generate_workbook("govinfo-annual-2019", target, agency="某局", year=2020)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = xltool.validate_file(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert result.form == "govinfo-annual-2019" and result.agency == "某局" and result.year == 2020
    assert result.document["form"]["id"] == "govinfo-annual-2019"
    assert result.sha256 == __import__("hashlib").sha256(target.read_bytes()).hexdigest()


def test_load_form_by_path_and_unknown_id(tmp_path):
    spec = xltool.load_form(ROOT / "docs" / "example-form.yaml")
    assert spec.layout.cells
    try:
        xltool.load_form("no-such-form")
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown form id must raise KeyError")
