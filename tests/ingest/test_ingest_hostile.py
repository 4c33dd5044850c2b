"""Nothing a return (or an inbox, an output folder, a --previous folder) contains can crash, stall
or mislead a run: long and undecodable names, huge texts, slow feedback, hostile previous-year
files, odd file-system states, supersession by the wrong file, broken ledgers, changed content
behind restored times."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool.cli import app
from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.ledger import LEDGER_NAME, SCHEMA_VERSION, Ledger
from xltool.ingest.run import ingest

SPEC = get_spec("govinfo-annual-2021")
runner = CliRunner()


def said(res) -> str:
    """What the command printed, without the terminal's line wrapping."""
    return res.output.replace("\n", "")


def return_file(folder: Path, name: str | bytes, agency: str = "测试局", seed: int = 1, balanced: bool = True,
                raw: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + (name if isinstance(name, bytes) else name.encode())))
    write_workbook(SPEC, path, Agency(agency, 2024),
                   WriteOptions(values=random_inputs(SPEC.layout, random.Random(seed), balanced=balanced), raw=raw or {}))
    return path


def run_json(out: Path) -> dict:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


# --- 2. names ----------------------------------------------------------------------------------

def test_a_251_byte_file_name_gets_its_verdict_and_outputs(tmp_path):
    name = "某" * 82 + ".xlsx"
    assert len(name.encode()) == 251
    inbox = tmp_path / "inbox"
    return_file(inbox, name, balanced=False)          # rejected: a JSON and a feedback workbook
    report = ingest(inbox, tmp_path / "out", jobs=1)
    (entry,) = run_json(tmp_path / "out")["files"]
    assert entry["path"] == name and entry["status"] == "rejected"
    for output in (entry["json"], entry["feedback"]):
        assert (tmp_path / "out" / output).is_file()
        assert all(len(part.encode()) <= 255 for part in output.split("/"))
    assert report.files[0].json == entry["json"]


def test_a_folder_named_like_an_output_beside_its_file(tmp_path):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx", agency="甲局", seed=1)
    return_file(inbox / "a.xlsx.json", "b.xlsx", agency="乙局", seed=2)
    files = run_json(_ingested(inbox, tmp_path / "out"))["files"]
    assert {e["path"] for e in files} == {"a.xlsx", "a.xlsx.json/b.xlsx"}
    jsons = [e["json"] for e in files]
    assert len(set(jsons)) == 2 and all((tmp_path / "out" / j).is_file() for j in jsons)


def test_a_folder_in_the_way_in_the_output_tree_is_a_finding_not_a_crash(tmp_path):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    return_file(inbox, "b.xlsx", agency="乙局")
    (tmp_path / "out" / "json" / "a.xlsx.json").mkdir(parents=True)
    entries = {e["path"]: e for e in run_json(_ingested(inbox, tmp_path / "out"))["files"]}
    assert "output-blocked" in {f["code"] for f in entries["a.xlsx"]["findings"]}
    assert entries["b.xlsx"]["status"] == "accepted" and (tmp_path / "out" / entries["b.xlsx"]["json"]).is_file()


def _ingested(inbox: Path, out: Path) -> Path:
    ingest(inbox, out, jobs=1)
    return out


# --- 6. the same name in UTF-8 and in GBK --------------------------------------------------------

def test_the_same_name_in_utf8_and_gbk_bytes_both_get_verdicts_every_time(tmp_path):
    inbox = tmp_path / "inbox"
    return_file(inbox, "某局_2024.xlsx".encode(), agency="某局", seed=1)
    return_file(inbox, "某局_2024.xlsx".encode("gbk"), agency="某局", seed=1, balanced=False)
    runs = []
    for i in range(2):
        ingest(inbox, tmp_path / f"out{i}", jobs=2)
        runs.append(run_json(tmp_path / f"out{i}")["files"])
    first, second = runs
    assert len(first) == 2 and [e["path"] for e in first] == ["某局_2024.xlsx", "某局_2024.xlsx"]
    assert sorted(e["status"] for e in first) == ["accepted", "rejected"]
    assert [(e["status"], e["json"]) for e in first] == [(e["status"], e["json"]) for e in second]
    assert len({e["json"] for e in first}) == 2
    gbk = next(e for e in first if "path_bytes" in e)
    assert "\\x" in gbk["path_bytes"] and gbk["status"] == "rejected"


# --- 3. bounded entries --------------------------------------------------------------------------

def test_huge_texts_and_many_findings_are_bounded_in_run_json_and_the_ledger(tmp_path, monkeypatch):
    from xltool.outputs import run_report

    monkeypatch.setattr(run_report, "FINDINGS_MAX", 50)   # the cap, lowered so one return passes it
    numeric = [c.id for c in SPEC.layout.inputs() if c.type.numeric]
    inbox = tmp_path / "inbox"
    return_file(inbox, "big.xlsx", raw={cid: "x" * 100_000 for cid in numeric})
    ingest(inbox, tmp_path / "out", jobs=1)
    (entry,) = run_json(tmp_path / "out")["files"]
    assert len(entry["findings"]) == 50 and entry["findings"][-1]["code"] == "more-findings"
    assert all(len(f["message"]) < 2100 and all(len(str(a)) < 300 for a in f["args"].values()) for f in entry["findings"])
    assert (tmp_path / "out" / "run.json").stat().st_size < 1_000_000
    (ledger_entry,) = Ledger(tmp_path / "out").entries().values()
    assert len(ledger_entry["findings"]) == 50


# --- 4. feedback only in the worker, under the time limit ---------------------------------------

def test_feedback_that_takes_too_long_leaves_the_verdict_and_the_run_goes_on(tmp_path, monkeypatch):
    from xltool.ingest import pipeline

    def slow(*args, **kwargs):
        time.sleep(60)

    monkeypatch.setattr(pipeline, "write_feedback", slow)   # where the worker calls it; inherited by the fork
    inbox = tmp_path / "inbox"
    return_file(inbox, "bad.xlsx", balanced=False)
    started = time.monotonic()
    report = ingest(inbox, tmp_path / "out", jobs=1, timeout=3)
    assert time.monotonic() - started < 20
    (r,) = report.files
    codes = {f.code for f in r.findings}
    assert r.status == "rejected" and "T3-A" in codes and "file-timeout" not in codes and "feedback-not-drawn" in codes
    assert r.feedback is None and not list((tmp_path / "out").rglob("feedback/*.xlsx"))


# --- 5. an untrusted --previous ------------------------------------------------------------------

def test_hostile_previous_files_are_named_and_skipped(tmp_path):
    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (prev / "types.json").write_text(json.dumps({"agency": ["x"], "year": "2023", "values": 5}))
    (prev / "list.json").write_text("[1, 2]")
    os.mkfifo(prev / "fifo.json")
    os.symlink("/dev/zero", prev / "zero.json")
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    started = time.monotonic()
    report = ingest(inbox, tmp_path / "out", jobs=1, previous=prev)
    assert time.monotonic() - started < 30
    named = {f.args["name"] for f in report.notices if f.code == "previous-unusable"}
    assert named == {"deep.json", "types.json", "list.json", "fifo.json", "zero.json"}
    assert report.files[0].status == "accepted"
    assert {n["code"] for n in run_json(tmp_path / "out")["notices"]} == {"previous-unusable"}


# --- 7. the file system --------------------------------------------------------------------------

def test_a_file_deleted_while_its_worker_ran_gets_a_verdict(tmp_path):
    from xltool.ingest.workers import FILE_TIMEOUT, _failed

    r = _failed(tmp_path / "gone.xlsx", tmp_path, FILE_TIMEOUT.at(seconds=1))
    assert r.status == "rejected" and r.path == "gone.xlsx" and r.document is not None
    os.mkfifo(tmp_path / "now_a_fifo.xlsx")           # put in its place: hashing it must not block
    r = _failed(tmp_path / "now_a_fifo.xlsx", tmp_path, FILE_TIMEOUT.at(seconds=1))
    assert r.status == "rejected" and r.sha256 == ""


def test_an_unreadable_inbox_folder_is_named(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    (inbox / "锁住的").mkdir()
    locked = str(inbox / "锁住的")
    real_scandir = os.scandir

    def scandir(path="."):   # as for a folder without read permission (tests may run as root)
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = ingest(inbox, tmp_path / "out", jobs=1)
    assert [(f.code, f.args["name"]) for f in report.notices] == [("folder-unreadable", "锁住的")]


def test_a_folder_that_fails_while_it_is_read_is_named_and_the_rest_is_checked(tmp_path, monkeypatch):
    """A folder on a share that goes away half-way through its listing: what was read of it is
    checked, the folder is named, and the other folders are walked."""
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    for name in ("x1.xlsx", "x2.xlsx"):
        return_file(inbox / "共享", name)
    return_file(inbox / "其他", "b.xlsx")
    shared = str(inbox / "共享")
    real_scandir = os.scandir

    class FailsAfterOne:
        def __init__(self, it):
            self.it, self.given = it, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            return self

        def __next__(self):
            if self.given == 1:
                raise OSError(errno.ESTALE, "Stale file handle", shared)
            self.given += 1
            return next(self.it)

    def scandir(path="."):
        it = real_scandir(path)
        return FailsAfterOne(it) if os.fspath(path) == shared else it

    monkeypatch.setattr(os, "scandir", scandir)
    report = ingest(inbox, tmp_path / "out", jobs=1)
    assert [(f.code, f.args["name"]) for f in report.notices] == [("folder-unreadable", "共享")]
    paths = [r.path for r in report.files]
    assert "a.xlsx" in paths and "其他/b.xlsx" in paths and len([p for p in paths if p.startswith("共享/")]) == 1


# --- 8. supersession ------------------------------------------------------------------------------

def test_a_newer_rejected_return_does_not_supersede_the_accepted_one(tmp_path):
    inbox = tmp_path / "inbox"
    return_file(inbox, "甲局_2024.xlsx", agency="甲局", seed=1)
    newer = return_file(inbox, "乙局_2024.xlsx", agency="甲局", seed=2, balanced=False)  # names 甲局, rejected
    os.utime(newer, (time.time() + 60, time.time() + 60))
    report = ingest(inbox, tmp_path / "out", jobs=1)
    r = {x.path: x for x in report.files}
    assert r["甲局_2024.xlsx"].superseded_by is None and r["甲局_2024.xlsx"].status == "accepted"
    assert "newer-rejected" in {f.code for f in r["乙局_2024.xlsx"].findings}
    summary_agencies = {row[0] for row in _csv_rows(tmp_path / "out")}
    assert summary_agencies == {"甲局"}


def _csv_rows(out: Path):
    import csv
    with open(out / "values.csv", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))[1:]


# --- 10. ledger and exit codes ---------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["garbage", "truncated", "old-layout"])
def test_a_damaged_or_foreign_ledger_is_moved_aside_and_rebuilt(tmp_path, damage):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    ledger = out / LEDGER_NAME
    if damage == "garbage":
        ledger.write_bytes(b"not a database at all" * 100)
    elif damage == "truncated":
        data = ledger.read_bytes()
        for extra in ("-wal", "-shm"):
            ledger.with_name(ledger.name + extra).unlink(missing_ok=True)
        ledger.write_bytes(data[: len(data) // 2 + 100])
    else:
        ledger.unlink()
        db = sqlite3.connect(ledger)
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER)")
        db.commit()
        db.close()
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "ledger-moved-aside" in {n["code"] for n in run_json(out).get("notices", [])}
    assert list(out.glob(LEDGER_NAME + ".broken-*"))
    assert runner.invoke(app, ["ingest", str(inbox), "--out", str(out)]).exit_code == 0
    assert run_json(out)["stats"]["unchanged"] == 1


def test_a_ledger_of_a_newer_xltool_is_refused_with_exit_2(tmp_path):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    db = sqlite3.connect(out / LEDGER_NAME)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(out)])
    assert res.exit_code == 2 and f"版本 {SCHEMA_VERSION + 1}" in said(res) and "Traceback" not in res.output


def test_an_output_folder_that_is_a_file_or_full_exits_2_with_a_message(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    not_a_folder = tmp_path / "out.txt"
    not_a_folder.write_text("x")
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(not_a_folder)])
    assert res.exit_code == 2 and "不是文件夹" in said(res) and "not a folder" in said(res)

    from xltool.ingest import run
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(run, "write_run_json", full)
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "磁盘已满" in said(res) and "disk is full" in said(res)


def test_an_internal_error_exits_3_with_the_traceback_in_a_log(tmp_path, monkeypatch):
    from xltool.ingest import run
    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")

    def bug(results):
        raise KeyError("a bug")
    monkeypatch.setattr(run, "annotate_across_files", bug)
    res = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out")])
    log = tmp_path / "out" / "xltool-error.log"
    assert res.exit_code == 3 and str(log) in said(res) and "Traceback" not in res.output
    assert "Traceback" in log.read_text() and "a bug" in log.read_text()


# --- 11. change detection --------------------------------------------------------------------------

def test_changed_content_with_size_and_mtime_put_back_is_checked_again(tmp_path):
    inbox = tmp_path / "inbox"
    path = return_file(inbox, "a.xlsx")
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-30] ^= 0x01      # inside the zip's central directory comment area or a name: same size
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    (r,) = ingest(inbox, out, jobs=1).files
    assert not r.unchanged and r.sha256 == hashlib.sha256(bytes(data)).hexdigest()


def test_a_rerun_sums_from_the_ledger_without_reading_the_documents_back(tmp_path):
    """summary.xlsx and values.csv are rebuilt from what the ledger keeps per file: the JSON
    documents of unchanged files are not read again (here they are made unreadable as JSON)."""
    inbox = tmp_path / "inbox"
    for i in range(3):
        return_file(inbox, f"局{i}.xlsx", agency=f"局{i}", seed=i)
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    before = _csv_rows(out)
    for j in (out / "json").glob("*.json"):
        j.write_text("not json")
    return_file(inbox, "局3.xlsx", agency="局3", seed=3)
    ingest(inbox, out, jobs=1)
    after = _csv_rows(out)
    assert [row for row in after if row[0] != "局3"] == before
    assert {row[0] for row in after} == {"局0", "局1", "局2", "局3"}


def test_run_json_written_entry_by_entry_is_the_run_report_and_kept_when_unchanged(tmp_path):
    from xltool.form.canonical import dumps, loads

    inbox = tmp_path / "inbox"
    return_file(inbox, "a.xlsx")
    return_file(inbox, "b.xlsx", agency="乙局", balanced=False)
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    report = ingest(inbox, out, jobs=1)                 # everything unchanged now
    text = (out / "run.json").read_text(encoding="utf-8")
    assert loads(text) == loads(dumps(report.to_dict()))
    assert [line.strip()[:12] for line in text.splitlines() if '"sha256": ' in line] == ['{"agency": "'] * 2  # a line a file
    written = (out / "run.json").stat().st_mtime_ns, (out / "report.html").stat().st_mtime_ns
    time.sleep(0.01)
    ingest(inbox, out, jobs=1)                          # the same report again: nothing rewritten
    assert ((out / "run.json").stat().st_mtime_ns, (out / "report.html").stat().st_mtime_ns) == written


def test_output_names_never_clash_and_fit_the_file_system():
    from xltool.outputs.output_names import feedback_name, json_name, output_name

    long_name = "某" * 82 + ".xlsx"
    hashed = json_name(long_name)
    crafted = hashed[len("json/"):-len(".json")]      # an inbox file named like another file's hashed output
    gbk = os.fsdecode("某局.xlsx".encode("gbk"))
    deep = "/".join(["目录" * 30] * 20) + "/a.xlsx"   # 3.6 KB of folders
    names = ["a.xlsx", "a", "a.xls", "a.xls.xlsx", "A.XLSX", "a.xlsx.json/b.xlsx", long_name, crafted, gbk, "某局.xlsx", deep]
    for make in (json_name, feedback_name):
        outputs = [make(n) for n in names]
        assert len(set(outputs)) == len(names), outputs
        for o in outputs:
            assert all(len(part.encode("utf-8")) <= 255 for part in o.split("/")) and len(o.encode()) <= 1100
            o.encode("utf-8")                            # always valid UTF-8, whatever the inbox name
    assert json_name("局/a.xlsx") == "json/局/a.xlsx.json" and feedback_name("局/a.xlsx") == "feedback/局/a.xlsx"
    assert output_name(deep, "json", ".json").startswith("json/a.xlsx~")


def test_agency_text_shaped_like_sheet_xml_stays_text_in_the_summary(tmp_path):
    """The per-agency sheet is streamed: a text like "<r><t>…</t></r>" must be written as text, not
    passed through as rich-text markup (xlsxwriter's own streamed strings do that)."""
    import openpyxl

    from xltool.ingest.pipeline import process_file
    from xltool.outputs.summary import write_summary

    inbox = tmp_path / "inbox"
    path = return_file(inbox, "a.xlsx")
    base = process_file(path, inbox).document
    shaped = ["<r><t>伪造</t></r>", "<r>x</r>", "a & <b>", " 前后空格 "]
    write_summary([{**base, "agency": a} for a in shaped], tmp_path / "summary.xlsx")
    detail = openpyxl.load_workbook(tmp_path / "summary.xlsx")["各单位明细（2021版）"]
    assert sorted(r[0] for r in detail.iter_rows(min_row=3, values_only=True)) == sorted(shaped)
    assert [r[5] for r in detail.iter_rows(min_row=3, max_row=3, values_only=True)] == [base["values"][detail.cell(1, 6).value]]
