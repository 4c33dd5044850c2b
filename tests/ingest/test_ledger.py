"""The ingest ledger: re-runs process only new or changed files; one ingest per output folder;
returns sent twice or replaced are reported across files."""

import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook
from xltool.ingest.ledger import Ledger
from xltool.ingest.run import IngestBusy, ingest

SPEC = get_spec("govinfo-annual-2021")


def return_file(folder: Path, name: str, agency: str, seed: int, year: int = 2024) -> Path:
    path = folder / name
    write_workbook(SPEC, path, Agency(agency, year),
                   WriteOptions(values=random_inputs(SPEC.layout, random.Random(seed))))
    return path


@pytest.fixture
def inbox(tmp_path):
    box = tmp_path / "inbox"
    box.mkdir()
    for i in range(3):
        return_file(box, f"局{i}_2024.xlsx", f"局{i}", seed=i)
    return box


def entries(report):
    return {r.path: r for r in report.files}


def test_rerun_reports_unchanged_files_without_processing_them(inbox, tmp_path):
    out = tmp_path / "out"
    first = ingest(inbox, out, jobs=1)
    assert first.stats()["unchanged"] == 0 and first.stats()["accepted"] == 3
    second = ingest(inbox, out, jobs=1)
    assert second.stats()["unchanged"] == 3
    assert [r.entry() for r in second.files] == [r.entry() for r in first.files]   # the same verdicts, and times
    full = ingest(inbox, out, jobs=1, full=True)
    assert full.stats()["unchanged"] == 0


def test_changed_touched_and_missing_outputs(inbox, tmp_path):
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    return_file(inbox, "局0_2024.xlsx", "局0", seed=99)           # new content
    os.utime(inbox / "局1_2024.xlsx", (time.time() + 5, time.time() + 5))  # same content, new time
    (out / "json" / "局2_2024.xlsx.json").unlink()               # an output went missing
    r = entries(ingest(inbox, out, jobs=1))
    assert not r["局0_2024.xlsx"].unchanged and r["局1_2024.xlsx"].unchanged and not r["局2_2024.xlsx"].unchanged
    assert (out / "json" / "局2_2024.xlsx.json").is_file()
    history = Ledger(out).history("局0")
    assert len(history) == 2 and history[0]["sha256"] != history[1]["sha256"]


def test_a_second_ingest_on_the_same_output_folder_is_refused(inbox, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from xltool.ingest.run import OutputLock\n"
        f"with OutputLock(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IngestBusy) as e:
            ingest(inbox, out, jobs=1)
        assert str(holder.pid) in str(e.value) and "等它结束" in str(e.value)
    finally:
        holder.kill()
        holder.wait()
    assert ingest(inbox, out, jobs=1).stats()["files"] == 3  # the lock died with its process


def test_same_agency_twice_newest_wins_and_identical_copies(inbox, tmp_path):
    newer = return_file(inbox, "局0_2024_修改版.xlsx", "局0", seed=7)
    os.utime(newer, (time.time() + 60, time.time() + 60))
    shutil.copyfile(inbox / "局1_2024.xlsx", inbox / "局1_2024 - 副本.xlsx")
    r = entries(ingest(inbox, tmp_path / "out", jobs=2))
    assert r["局0_2024.xlsx"].superseded_by == "局0_2024_修改版.xlsx"
    assert "superseded-accepted" in {f.code for f in r["局0_2024.xlsx"].findings}   # its numbers no longer count
    assert r["局0_2024_修改版.xlsx"].superseded_by is None
    assert "supersedes" in {f.code for f in r["局0_2024_修改版.xlsx"].findings}      # and the newer one says whom
    copy = r["局1_2024 - 副本.xlsx"]
    assert copy.superseded_by == "局1_2024.xlsx" and "duplicate-content" in {f.code for f in copy.findings}


def test_file_named_for_another_year_or_agency(inbox, tmp_path):
    shutil.move(inbox / "局2_2024.xlsx", inbox / "局2_2023.xlsx")
    shutil.move(inbox / "局1_2024.xlsx", inbox / "局0_2024_报表.xlsx")
    r = entries(ingest(inbox, tmp_path / "out", jobs=1))
    assert {(f.code, f.args.get("name_year")) for f in r["局2_2023.xlsx"].findings} == {("filename-year-mismatch", 2023)}
    assert {f.code for f in r["局0_2024_报表.xlsx"].findings} == {"filename-agency-mismatch"}


def test_output_order_does_not_depend_on_jobs(inbox, tmp_path):
    one = ingest(inbox, tmp_path / "o1", jobs=1)
    two = ingest(inbox, tmp_path / "o2", jobs=2)
    def verdicts(report):   # not when each was given: two runs a second apart
        return [{**r.entry(), "checked_at": None} for r in report.files]

    assert verdicts(one) == verdicts(two)
    for r in one.files:
        assert (tmp_path / "o1" / r.json).read_bytes() == (tmp_path / "o2" / r.json).read_bytes()


def _parts(xlsx: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(xlsx) as z:   # docProps hold the time of writing: the rest must be the same
        return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}


def test_a_rerun_puts_together_the_same_summary_as_a_fresh_run(inbox, tmp_path):
    """summary.xlsx and values.csv of a re-run are joined from the rows the ledger kept: after one
    return changed and one was added, they are what a fresh run over the same inbox makes."""
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    ingest(inbox, out, jobs=1)
    return_file(inbox, "局0_2024.xlsx", "局0", seed=99)
    return_file(inbox, "局9_2024.xlsx", "局9", seed=9)
    again = ingest(inbox, out, jobs=1)
    assert again.stats()["unchanged"] == 2
    ingest(inbox, fresh, jobs=1)
    assert (out / "values.csv").read_bytes() == (fresh / "values.csv").read_bytes()
    assert _parts(out / "summary.xlsx") == _parts(fresh / "summary.xlsx")
    assert b"\xe5\xb1\x809" in (out / "values.csv").read_bytes()   # 局9 is in it


def test_values_csv_saved_by_hand_is_made_anew_not_copied_from(inbox, tmp_path):
    """A re-run copies the unchanged returns' rows of values.csv from the file it wrote last time
    (outputs.piece_file); a values.csv edited since (a coordinator opened it in Excel and saved)
    is not copied from, and comes out as a fresh run's."""
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    ingest(inbox, out, jobs=1)
    csv = out / "values.csv"
    csv.write_bytes(csv.read_bytes().replace(b"\r\n", b"\n"))     # saved again with other line ends
    return_file(inbox, "局0_2024.xlsx", "局0", seed=98)
    ingest(inbox, out, jobs=1)
    ingest(inbox, fresh, jobs=1)
    assert csv.read_bytes() == (fresh / "values.csv").read_bytes()


def _children() -> set[int]:
    """This process's child processes, running or finished and not waited for (Linux /proc)."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as fh:
            found |= {int(pid) for pid in fh.read().split()}
    return found


def test_run_json_failing_beside_the_other_outputs_leaves_no_child_and_nothing_half_written(inbox, tmp_path, monkeypatch):
    """run.json is written while forked children draw summary.xlsx, values.csv and report.html: when
    it cannot be written (the disk full), the run says so, every child is waited for, and each
    output is either the last run's or a whole new one (never half a file)."""
    import errno

    import xltool.ingest.run as run
    from xltool.ingest.run import OutputUnusable

    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    before = {name: (out / name).read_bytes() for name in ("run.json", "summary.xlsx", "values.csv")}
    return_file(inbox, "局9_2024.xlsx", "局9", seed=9)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run, "write_run_json", disk_full)
    children_before = _children()     # what earlier tests in this process left is not this run's
    with pytest.raises(OutputUnusable, match="磁盘已满"):
        ingest(inbox, out, jobs=1)
    assert _children() == children_before    # no child of this run is left, not even a finished one
    assert (out / "run.json").read_bytes() == before["run.json"]
    assert not list(out.glob(".tmp-*"))
    monkeypatch.undo()
    again = ingest(inbox, out, jobs=1)
    assert again.stats()["accepted"] == 4 and b"\xe5\xb1\x809" in (out / "values.csv").read_bytes()   # 局9


def test_a_ledger_of_the_older_layout_keeps_its_history(inbox, tmp_path):
    """Version 1 kept the summary's values as a JSON document per return: its files are checked
    again once, its history stays, and nothing is moved aside as damaged."""
    import sqlite3

    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    db = sqlite3.connect(out / "ledger.sqlite")
    db.executescript("DROP TABLE files; CREATE TABLE files (key BLOB PRIMARY KEY, path TEXT, partial TEXT);"
                     "PRAGMA user_version = 1;")
    db.close()
    report = ingest(inbox, out, jobs=1)
    assert report.stats()["unchanged"] == 0 and report.stats()["accepted"] == 3 and not report.notices
    assert len(Ledger(out).history("局0")) == 2
    assert not list(out.glob("ledger.sqlite.broken-*"))
    assert ingest(inbox, out, jobs=1).stats()["unchanged"] == 3


def test_a_ledger_of_version_2_keeps_its_verdicts(inbox, tmp_path):
    """Version 2 stored no head beside each entry: the column is added, and its verdicts are
    reused from their entries, the same as a fresh run's."""
    import sqlite3

    out = tmp_path / "out"
    first = ingest(inbox, out, jobs=1)
    db = sqlite3.connect(out / "ledger.sqlite")
    db.executescript("ALTER TABLE files DROP COLUMN head; PRAGMA user_version = 2;")
    db.close()
    again = ingest(inbox, out, jobs=1)
    assert again.stats()["unchanged"] == 3 and not again.notices
    assert all(r._findings is None for r in again.files)    # read from the heads the upgrade gave them
    assert [r.entry() for r in again.files] == [r.entry() for r in first.files]
    db = sqlite3.connect(out / "ledger.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    db.close()


def test_a_rerun_reads_each_kept_verdict_from_its_head_alone(inbox, tmp_path):
    """A re-run decodes no finding of an unchanged return: what it reads of every file is the
    head the ledger keeps beside the entry, and the entry is read when a report needs it."""
    out = tmp_path / "out"
    first = ingest(inbox, out, jobs=1)
    second = ingest(inbox, out, jobs=1)
    for a, b in zip(first.files, second.files, strict=True):
        assert b._findings is None and (b.status, b.errors, b.warnings, b.finding_codes) == (
            a.status, a.errors, a.warnings, a.finding_codes)
    assert [r.entry() for r in second.files] == [r.entry() for r in first.files]


def test_a_report_reads_its_verdicts_back_from_the_ledger_and_knows_when_they_were_replaced(inbox, tmp_path):
    """Results keep their scalars and read their entries back from the ledger. A later run (the
    upload server runs again and again) that replaces a verdict there is noticed, never passed
    off as the earlier run's: the other verdicts still read as they were."""
    out = tmp_path / "out"
    first = ingest(inbox, out, jobs=1)
    before = {r.path: r.entry() for r in first.files}
    return_file(inbox, "局0_2024.xlsx", "局0", seed=99)           # new content: a new verdict for the same path
    ingest(inbox, out, jobs=1)
    replaced, kept = entries(first)["局0_2024.xlsx"], entries(first)["局1_2024.xlsx"]
    assert kept.entry() == before["局1_2024.xlsx"] and kept.entry_line()
    with pytest.raises(LookupError, match="replaced by a later run"):
        replaced.entry()
    with pytest.raises(LookupError, match="replaced by a later run"):
        replaced.entry_line()


def test_a_damaged_record_is_reported_not_fatal_and_checked_again(inbox, tmp_path):
    """A verdict the ledger can no longer give back (its stored entry damaged) does not stop a
    re-run: that file's entry says so, the others are as they were, and the next run checks it again."""
    import json
    import sqlite3

    out = tmp_path / "out"
    first = {r.path: r.entry() for r in ingest(inbox, out, jobs=1).files}
    db = sqlite3.connect(out / "ledger.sqlite")
    db.execute("UPDATE files SET entry = ? WHERE path = ?", (b"not zlib", "局1_2024.xlsx"))
    db.commit()
    db.close()
    second = ingest(inbox, out, jobs=1)
    written = {e["path"]: e for e in json.loads((out / "run.json").read_text(encoding="utf-8"))["files"]}
    assert [f["code"] for f in written["局1_2024.xlsx"]["findings"]] == ["stored-entry-unreadable"]
    assert written["局1_2024.xlsx"]["status"] == first["局1_2024.xlsx"]["status"]
    assert written["局0_2024.xlsx"] == first["局0_2024.xlsx"]
    assert "stored-entry-unreadable" in (out / "report.html").read_text(encoding="utf-8")
    assert second.stats()["unchanged"] == 3
    third = ingest(inbox, out, jobs=1)
    assert third.stats()["unchanged"] == 2 and not entries(third)["局1_2024.xlsx"].unchanged
    assert entries(third)["局1_2024.xlsx"].entry()["findings"] == first["局1_2024.xlsx"]["findings"]


def test_a_damaged_head_means_the_file_is_checked_again(inbox, tmp_path):
    import sqlite3

    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    db = sqlite3.connect(out / "ledger.sqlite")
    db.execute("UPDATE files SET head = ? WHERE path = ?", ('{"path": ', "局2_2024.xlsx"))
    db.commit()
    db.close()
    again = ingest(inbox, out, jobs=1)
    assert again.stats()["unchanged"] == 2 and not entries(again)["局2_2024.xlsx"].unchanged
    assert entries(again)["局2_2024.xlsx"].status == "accepted"


def test_outputs_found_in_subfolders_missing_ones_made_again_stale_feedback_removed(inbox, tmp_path):
    """The outputs present are found by one walk of the output folder: a rejected return's feedback
    is linked from report.html, in a subfolder too; a return whose JSON or feedback went missing
    is checked again; once the agency's corrected file is accepted its old feedback is removed and
    no longer linked, and another rejected return's stays."""
    number = next(c for c in SPEC.layout.inputs() if c.type.numeric and c.role is None)
    (inbox / "区县").mkdir()
    for folder, name, agency in ((inbox / "区县", "局8_2024.xlsx", "局8"), (inbox, "局9_2024.xlsx", "局9")):
        write_workbook(SPEC, folder / name, Agency(agency, 2024),
                       WriteOptions(values=random_inputs(SPEC.layout, random.Random(8)), raw={number.id: "约十件"}))
    out = tmp_path / "out"
    first = entries(ingest(inbox, out, jobs=1))
    linked = {name: first[name].feedback for name in ("区县/局8_2024.xlsx", "局9_2024.xlsx")}
    assert all(linked.values()) and all((out / f).is_file() for f in linked.values())
    page = (out / "report.html").read_text(encoding="utf-8")
    assert all(f'href="{quote(f)}"' in page for f in linked.values())

    again = entries(ingest(inbox, out, jobs=1))                          # nothing changed: nothing checked again
    assert again["区县/局8_2024.xlsx"].unchanged and again["局9_2024.xlsx"].unchanged
    (out / linked["局9_2024.xlsx"]).unlink()                                  # an output went missing
    (out / again["区县/局8_2024.xlsx"].json).unlink()
    again = entries(ingest(inbox, out, jobs=1))
    assert not again["局9_2024.xlsx"].unchanged and (out / linked["局9_2024.xlsx"]).is_file()
    assert not again["区县/局8_2024.xlsx"].unchanged and (out / again["区县/局8_2024.xlsx"].json).is_file()
    assert again["局0_2024.xlsx"].unchanged

    return_file(inbox / "区县", "局8_2024.xlsx", "局8", seed=8)           # corrected: accepted now
    again = entries(ingest(inbox, out, jobs=1))
    assert again["区县/局8_2024.xlsx"].status == "accepted"
    assert not (out / linked["区县/局8_2024.xlsx"]).exists()
    assert (out / linked["局9_2024.xlsx"]).is_file()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f'href="{quote(linked["区县/局8_2024.xlsx"])}"' not in page and f'href="{quote(linked["局9_2024.xlsx"])}"' in page


def test_a_rerun_meets_every_kept_record_whatever_the_folders_order(inbox, tmp_path, monkeypatch):
    """A re-run reads the ledger's records in the order of the names' bytes, a page at a time, as
    the walk reaches each file: names whose folder-by-folder order differs from that order (a/x
    before a-b.xlsx and a.xlsx), a name that is not UTF-8, and files gone from the inbox since
    (their records are passed over) leave every other file reused."""
    monkeypatch.setattr("xltool.ingest.ledger.KnownRecords.PAGE", 2)   # pages end between names
    (inbox / "a").mkdir()
    return_file(inbox / "a", "x.xlsx", "局a", seed=5)
    return_file(inbox, "a-b.xlsx", "局b", seed=6)
    return_file(inbox, "a.xlsx", "局c", seed=7)
    gbk = os.fsdecode("局d".encode("gbk") + b".xlsx")
    return_file(inbox, gbk, "局d", seed=8)
    return_file(inbox, "gone.xlsx", "局e", seed=9)
    out = tmp_path / "out"
    first = ingest(inbox, out, jobs=1)
    assert first.stats()["files"] == 8 and first.stats()["unchanged"] == 0
    (inbox / "gone.xlsx").unlink()
    (inbox / "0-new.xlsx").write_bytes((inbox / "a.xlsx").read_bytes())   # new, and first in byte order
    again = ingest(inbox, out, jobs=1)
    reused = {r.raw_path for r in again.files if r.unchanged}
    assert reused == {r.raw_path for r in first.files} - {"gone.xlsx"}
    assert [r.raw_path for r in again.files] == sorted(reused | {"0-new.xlsx"}, key=os.fsencode)


def test_kept_records_are_met_in_byte_order_and_only_once(tmp_path, inbox):
    ingest(inbox, tmp_path / "out", jobs=1)
    ledger = Ledger(tmp_path / "out")
    try:
        records = ledger.known_records()
        records.PAGE = 1
        names = sorted(os.fsencode(p.name) for p in inbox.iterdir())
        assert records.take(b"0") is None                       # before them all: nothing, nothing passed over
        first = records.take(names[0])
        assert first is not None and first.size == (inbox / os.fsdecode(names[0])).stat().st_size
        assert records.take(names[0]) is None                   # taken already
        assert records.take(names[2]) is not None               # names[1] passed over
        assert records.take(b"\xff") is None
    finally:
        ledger.close()


def test_a_run_holds_none_of_its_results(inbox, tmp_path, monkeypatch):
    """Each verdict goes to disk as it comes (outputs.stored_run_files): when the outputs are
    written, the run holds no file's result in memory, in a first run or a re-run."""
    import gc

    from xltool.ingest import run
    from xltool.outputs.packed_result import PackedResult

    out = tmp_path / "out"
    alive = []
    real = run.write_outputs

    def counting(report, *args, **kwargs):
        gc.collect()
        alive.append(sum(isinstance(o, PackedResult) and getattr(o._stored_entries, "path", None) == out / "ledger.sqlite"
                         for o in gc.get_objects()))
        return real(report, *args, **kwargs)

    monkeypatch.setattr(run, "write_outputs", counting)
    first = ingest(inbox, out, jobs=1)
    second = ingest(inbox, out, jobs=1)
    assert (first.stats()["unchanged"], second.stats()["unchanged"], len(second.files)) == (0, 3, 3)
    assert alive == [0, 0]


def test_a_rerun_with_nothing_new_to_check_starts_without_the_checking_stack(inbox, tmp_path):
    """A re-run that only reads verdicts back never loads the readers, the rules or the forms
    (xlsxwriter, openpyxl, pydantic's form models): at 10,000 returns they were a fifth of its
    time. A file to check loads them."""
    out = tmp_path / "out"
    ingest(inbox, out, jobs=1)
    checking_stack = ("xltool.ingest.pipeline", "xltool.form.spec", "xltool.checks.rules", "xlsxwriter", "openpyxl")
    code = ("import sys\nfrom pathlib import Path\nfrom xltool.ingest.run import ingest\n"
            f"report = ingest(Path({str(inbox)!r}), Path({str(out)!r}), jobs=1)\n"
            "print(report.stats()['unchanged'], sorted(m for m in {!r} if m in sys.modules))".format(checking_stack))
    unchanged = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.split(" ", 1) == ["3", "[]\n"]
    return_file(inbox, "局0_2024.xlsx", "局0", seed=99)
    changed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.startswith("2 ") and "xltool.ingest.pipeline" in changed.stdout
