"""The first hour with xltool: what a coordinator meets first (issue 14, part 2), one test each."""

import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
SPEC = "govinfo-annual-2021"


def filled(path: Path, agency="测试局", raw=None, seed=1, password=None) -> Path:
    spec = get_spec(SPEC)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = WriteOptions(values=random_inputs(spec.layout, random.Random(seed)), raw=raw or {})
    if password:
        options.password = password
    write_workbook(spec, path, Agency(agency, 2024), options)
    return path


@pytest.fixture(scope="module")
def rejected_run(tmp_path_factory):
    """An inbox with one accepted and one rejected return, ingested: (output folder, run.json)."""
    tmp = tmp_path_factory.mktemp("first-hour")
    inbox = tmp / "inbox"
    filled(inbox / "好.xlsx", "甲局")
    filled(inbox / "错.xlsx", "乙局", raw={"t3.new.natural_person": "１２"}, seed=2)
    out = tmp / "out"
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out)])
    assert res.exit_code == 1, res.output
    return out, json.loads((out / "run.json").read_text(encoding="utf-8"))


def _unwritable_dir() -> Path | None:
    """A folder even root cannot create files in (sysfs), or None where there is none."""
    try:
        fd, name = tempfile.mkstemp(dir="/sys/kernel")
    except OSError:
        return Path("/sys/kernel")
    os.close(fd)
    os.unlink(name)
    return None


# --- output paths: a clear message and exit 2, never a traceback ------------------------------------

def test_generate_to_a_path_that_cannot_be_written_says_so(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    res = runner.invoke(app, ["generate", SPEC, "-o", str(a_file / "x.xlsx"), "--agency", "甲局"])
    assert res.exit_code == 2 and "不是文件夹" in res.output and "not a folder" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    res = runner.invoke(app, ["generate", SPEC, "--roster", str(ROOT / "samples" / "roster.csv"), "-o", str(a_file)])
    assert res.exit_code == 2 and "not a folder" in res.output
    locked = _unwritable_dir()
    if locked is not None:
        for args in (["-o", str(locked / "x.xlsx")], ["--roster", str(ROOT / "samples" / "roster.csv"), "-o", str(locked / "gen")]):
            res = runner.invoke(app, ["generate", SPEC, *args])
            assert res.exit_code == 2 and "无法写入" in res.output and "Traceback" not in res.output, res.output
            assert isinstance(res.exception, SystemExit)


def test_render_to_a_path_that_cannot_be_written_says_so(rejected_run, tmp_path):
    out, run = rejected_run
    good = out / next(f["json"] for f in run["files"] if f["status"] == "accepted")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for target in (a_file / "x.html", tmp_path):             # under a file; a folder
        res = runner.invoke(app, ["render", str(good), "-o", str(target)])
        assert res.exit_code == 2 and "无法写入" in res.output, res.output
        assert isinstance(res.exception, SystemExit)
    locked = _unwritable_dir()
    if locked is not None:
        res = runner.invoke(app, ["render", str(good), "-o", str(locked / "x.html")])
        assert res.exit_code == 2 and "无法写入" in res.output and isinstance(res.exception, SystemExit)


# --- render of a rejected return --------------------------------------------------------------------

def test_render_refuses_a_rejected_return_unless_draft(rejected_run, tmp_path):
    out, run = rejected_run
    bad = out / next(f["json"] for f in run["files"] if f["status"] == "rejected")
    res = runner.invoke(app, ["render", str(bad), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 1 and "--draft" in res.output and not (tmp_path / "x.html").exists()
    res = runner.invoke(app, ["render", str(bad), "-o", str(tmp_path / "x.html"), "--draft"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "x.html").read_text(encoding="utf-8")
    assert 'class="draft-banner"' in page and "不得发布" in page and "<title>【草稿 DRAFT】" in page
    good = out / next(f["json"] for f in run["files"] if f["status"] == "accepted")
    res = runner.invoke(app, ["render", str(good), "-o", str(tmp_path / "good.html")])
    assert res.exit_code == 0 and 'class="draft-banner"' not in (tmp_path / "good.html").read_text(encoding="utf-8")


# --- generate never overwrites silently -------------------------------------------------------------

def test_generate_refuses_to_overwrite_a_filled_return_without_force(tmp_path):
    target = filled(tmp_path / "甲局.xlsx", "甲局")
    before = target.read_bytes()
    res = runner.invoke(app, ["generate", SPEC, "-o", str(target), "--agency", "甲局"])
    assert res.exit_code == 2 and str(target) in res.output and "--force" in res.output
    assert target.read_bytes() == before
    res = runner.invoke(app, ["generate", SPEC, "-o", str(target), "--agency", "甲局", "--force"])
    assert res.exit_code == 0 and target.read_bytes() != before


def test_generate_with_a_roster_refuses_to_overwrite_and_names_the_files(tmp_path):
    roster = ROOT / "samples" / "roster.csv"
    out = tmp_path / "gen"
    assert runner.invoke(app, ["generate", SPEC, "--roster", str(roster), "--year", "2024", "-o", str(out)]).exit_code == 0
    filled_one = filled(out / "pingtan.xlsx", "平潭综合实验区（管委会，全区汇总）")
    before = filled_one.read_bytes()
    res = runner.invoke(app, ["generate", SPEC, "--roster", str(roster), "--year", "2024", "-o", str(out)])
    assert res.exit_code == 2 and "8 个文件已存在" in res.output and "pingtan.xlsx" in res.output
    assert filled_one.read_bytes() == before
    res = runner.invoke(app, ["generate", SPEC, "--roster", str(roster), "--year", "2024", "-o", str(out), "--force"])
    assert res.exit_code == 0 and filled_one.read_bytes() != before


# --- permissions follow the umask -------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    inbox = tmp_path / "inbox"
    filled(inbox / "好.xlsx", "甲局")
    filled(inbox / "错.xlsx", "乙局", raw={"t3.new.natural_person": "１２"}, seed=2)
    roster = tmp_path / "r.csv"
    roster.write_text("单位名称\n甲局\n乙局\n丙局\n", encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "xltool", *args], env=env, capture_output=True, text=True,
                              preexec_fn=lambda: os.umask(umask), timeout=300)
    assert run("ingest", str(inbox), "--out", str(out), "--roster", str(roster), "--jobs", "1").returncode == 1
    assert run("generate", SPEC, "-o", str(tmp_path / "gen" / "x.xlsx"), "--agency", "甲局").returncode == 0
    outputs = [out / "report.html", out / "run.json", out / "summary.xlsx", out / "values.csv", out / "missing.csv",
               out / "json" / "好.xlsx.json", out / "feedback" / "错.xlsx", tmp_path / "gen" / "x.xlsx"]
    modes = {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in outputs}
    assert modes == {k: oct(mode) for k in modes}


# --- other file types -------------------------------------------------------------------------------

def test_pdf_word_and_images_are_listed_as_skipped_with_the_reason(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "年报.pdf").write_bytes(b"%PDF-1.4\n")
    (inbox / "年报.docx").write_bytes(b"PK\x03\x04")
    (inbox / "扫描件.JPG").write_bytes(b"\xff\xd8\xff")
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out"), "--json"])
    run = json.loads(res.output)
    by_path = {f["path"]: f for f in run["files"]}
    assert set(by_path) == {"年报.pdf", "年报.docx", "扫描件.JPG"} and run["stats"]["skipped"] == 3
    assert all(f["status"] == "skipped" for f in by_path.values())
    message = by_path["年报.pdf"]["findings"][0]
    assert message["code"] == "skipped-wrong-document-type" and "收到的是 PDF，请提交 Excel 表格" in message["message"]
    assert "Word" in by_path["年报.docx"]["findings"][0]["message"]
    assert "图片" in by_path["扫描件.JPG"]["findings"][0]["message"]


# --- the terminal wraps, never crops ----------------------------------------------------------------

def test_the_terminal_wraps_the_fix_instruction_at_80_columns(rejected_run):
    from rich.console import Console

    from xltool.outputs.run_report import FileResult, RunReport
    from xltool.outputs.terminal import print_run

    out, run = rejected_run
    files = [FileResult.from_entry(e, 0.0) for e in run["files"]]
    buf = io.StringIO()
    print_run(RunReport(run["inbox"], run["out"], files), Console(file=buf, width=80, highlight=False))
    text = buf.getvalue()
    assert "…" not in text.replace("…另有", "")
    flat = re.sub(r"[\s│┃]", "", text)
    for f in files:
        for finding in f.findings:
            if finding.is_error:
                assert re.sub(r"\s", "", finding.message) in flat, finding.message


# --- titles, not raw codes --------------------------------------------------------------------------

def _every_code():
    import importlib
    import pkgutil

    import xltool
    from xltool.checks.rules import rule_code
    from xltool.findings import Code
    for m in pkgutil.walk_packages(xltool.__path__, "xltool."):
        if not m.name.endswith(".__main__"):   # running the command line is not importing it
            importlib.import_module(m.name)
    from xltool.form.forms import available_forms
    for form_id in available_forms():
        spec = get_spec(form_id)
        for rule in spec.rules:
            rule_code(spec, rule.id)
    return Code.registry


def test_every_code_has_a_short_chinese_and_english_title():
    registry = _every_code()
    assert len(registry) > 50
    for code, c in registry.items():
        assert c.title is not None, f"{code} has no title: add it to xltool/finding_titles.py"
        zh, en = c.title
        assert zh and en and zh != code and re.search(r"[\u4e00-\u9fff]", zh), code
    assert registry["blank-cells"].title == ("未填写的格子", "Blank cells")
    assert registry["T3-A"].title[0] == get_spec(SPEC).rule("T3-A").title


def test_reports_show_titles_and_keep_the_code_small(rejected_run):
    out, run = rejected_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<h3><span>应填数字</span>.*?<code class=\"code\">not-a-number</code>", page)
    ws = openpyxl.load_workbook(out / "feedback" / "错.xlsx")["问题清单"]
    listed = [row[2] for row in ws.iter_rows(min_row=5, values_only=True) if row[2]]
    assert "应填数字\n(not-a-number)" in listed
    res = runner.invoke(app, ["validate", str(Path(run["inbox"]) / "错.xlsx")])
    assert "应填数字" in res.output and "(not-a-number)" in res.output


# --- messages that say what is wrong ----------------------------------------------------------------

def test_an_inbox_that_is_a_file_and_validate_on_a_folder(tmp_path):
    a_file = filled(tmp_path / "a.xlsx")
    res = runner.invoke(app, ["ingest", str(a_file), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "这是一个文件" in res.output and "this is a file" in res.output
    assert "no such folder" not in res.output and "xltool validate" in res.output
    res = runner.invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 2 and "这是一个文件夹" in res.output and "this is a folder" in res.output
    assert "no such file" not in res.output


def test_jobs_zero_is_explained_in_chinese_and_english(tmp_path):
    (tmp_path / "inbox").mkdir()
    res = runner.invoke(app, ["ingest", str(tmp_path / "inbox"), "--out", str(tmp_path / "o"), "--jobs", "0"])
    assert res.exit_code == 2 and "--jobs 应为 1 或更大的整数" in res.output and "--jobs must be 1 or more" in res.output


# --- small things -----------------------------------------------------------------------------------

def test_help_shows_flags_without_a_type():
    for command in ([], ["ingest"], ["generate"], ["render"], ["validate"]):
        res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
        assert res.exit_code == 0 and "<bool>" not in res.output, command
    assert "--draft" in runner.invoke(app, ["render", "--help"]).output


def test_a_rerun_says_how_many_files_were_unchanged(tmp_path):
    inbox = tmp_path / "inbox"
    filled(inbox / "a.xlsx")
    filled(inbox / "b.xlsx", seed=2)
    runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    assert "其中 2 个与上次相同" in res.output


def test_the_findings_sheet_prints_one_page_wide_landscape(rejected_run):
    out, _ = rejected_run
    ws = openpyxl.load_workbook(out / "feedback" / "错.xlsx")["问题清单"]
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)   # None: 1, the default
    assert ws.page_setup.fitToHeight == 0                       # as many pages tall as it needs
    assert ws.print_area and "$A$1:$G$" in ws.print_area
    assert ws["F5"].alignment.wrap_text


def test_version_and_python_m_xltool():
    from xltool import __version__
    assert runner.invoke(app, ["--version"]).output.strip() == f"xltool {__version__}"
    res = subprocess.run([sys.executable, "-m", "xltool", "--version"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == f"xltool {__version__}"


def test_the_readme_lists_every_command_and_points_at_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):readme.index("### Generated workbooks")]
    for needle in ("xltool render", "--previous", "--roster", "--force", "--draft", "--version"):
        assert needle in table, needle
    for path in re.findall(r"`((?:xltool|docs|samples|scripts|tests|templates|\.ci)/[^`\s]*)`", readme) \
            + re.findall(r"\]\(((?:docs|samples)/[^)]+)\)", readme):
        if "<" not in path and "*" not in path:
            assert (ROOT / path).exists(), path


def test_schema_titles_keep_the_block_of_table_two():
    from xltool.form.canonical import json_schema
    props = json_schema(get_spec(SPEC))["properties"]["values"]["properties"]
    assert props["t2_1.rules.issued"]["title"] == "第二十条第（一）项 > 规章 | 本年制发件数"
    titles = [p["title"] for k, p in props.items() if k.startswith("t2_")]
    assert len(set(titles)) == len(titles)                  # no two values of table 二 share a title


# --- feedback keeps the template's protection ------------------------------------------------------

def test_feedback_keeps_the_protection_hash_of_the_template(tmp_path):
    template = tmp_path / "gen" / "甲局.xlsx"
    res = runner.invoke(app, ["generate", SPEC, "-o", str(template), "--agency", "甲局", "--year", "2024",
                              "--password", "秘密X"])
    assert res.exit_code == 0, res.output
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    returned = inbox / "甲局.xlsx"
    # filled in as a clerk would, the protection untouched, one number typed as text
    wb = openpyxl.load_workbook(template)
    cells = get_spec(SPEC).layout.cells
    target = cells["t3.new.natural_person"]
    wb[target.sheet][target.a1].value = "１２"
    wb.save(returned)
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output

    def hashes(path):
        book = openpyxl.load_workbook(path)
        return {ws.title: ws.protection.password for ws in book.worksheets if ws.protection.sheet}
    template_hash = hashes(template)[target.sheet]
    assert template_hash
    feedback = hashes(tmp_path / "out" / "feedback" / "甲局.xlsx")
    assert feedback[target.sheet] == template_hash and feedback["问题清单"] == template_hash
    default = tmp_path / "default.xlsx"
    runner.invoke(app, ["generate", SPEC, "-o", str(default), "--agency", "甲局"])
    assert hashes(default)[target.sheet] != template_hash     # the default password would not unlock it
