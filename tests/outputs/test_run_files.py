"""A run's files: on disk (what ingest keeps, holding no result) they answer exactly as the same
results in a list do, in the names' byte order, and keep what a check changes."""

from __future__ import annotations

import gc
import os
import random

import pytest

from xltool.checks.cell_types import NOT_A_NUMBER as BAD
from xltool.findings import ACCEPTED, REJECTED, SKIPPED
from xltool.ingest.crossfile import DUPLICATE_CONTENT as SEEN
from xltool.outputs.packed_result import PackedResult, pack_entry
from xltool.outputs.run_files import FIELDS, ListedFiles
from xltool.outputs.run_report import FileResult, RunReport
from xltool.outputs.stored_run_files import StoredRunFiles

GBK = "局".encode("gbk").decode("utf-8", "surrogateescape")   # a name that is not UTF-8, as os.fsdecode gives it


class Stored(dict):
    """Entries kept by key, as the ledger keeps them (ingest.ledger.LedgerEntries)."""

    def packed(self, key: str) -> bytes:
        return self[key]

    def forget(self, key: str) -> None:
        pass


def results(stored: Stored) -> list[PackedResult]:
    """Returns of every kind: the same content twice, one agency and year twice, a skipped file, no
    agency, a name that is not UTF-8 (and outputs named after it), names whose folder order and
    byte order differ."""
    made = []
    specs = [("a/x.xlsx", "甲局", 2024, "11" * 32, ACCEPTED), ("a-b.xlsx", "甲局", 2024, "22" * 32, ACCEPTED),
             ("a.xlsx", "乙局", 2024, "11" * 32, ACCEPTED), (f"{GBK}.xlsx", "丙局", 2023, "33" * 32, REJECTED),
             ("b.txt", None, None, "44" * 32, SKIPPED), ("c.xlsx", None, None, "55" * 32, REJECTED),
             ("d.xlsx", "丁局", 0, "66" * 32, ACCEPTED), ("e.xlsx", "0", 2024, "77" * 32, ACCEPTED),
             ("f.xlsx", "0", 2024, "88" * 32, REJECTED)]
    for n, (key, agency, year, sha, status) in enumerate(specs):
        shown = key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        findings = [BAD.at(sheet="三", cell=f"D{n + 5}", value="x")] if status == REJECTED else []
        r = FileResult(shown, 100 + n, 1000.0 + n, sha, status, findings, "govinfo-annual-2021", agency, year,
                       json=f"json/{key}.json", feedback=f"feedback/{key}" if status == REJECTED else None,
                       checked_at="2026-12-01T08:00:00+00:00", issued_agency=agency, key=key if key != shown else "")
        stored[r.raw_path] = pack_entry(r.entry())
        made.append(PackedResult(r.entry(), stored, r.mtime, r.raw_path))
    return made


@pytest.fixture
def both(tmp_path):
    stored = Stored()
    made = results(stored)
    on_disk = StoredRunFiles(tmp_path, stored)
    for r in random.Random(7).sample(made, len(made)):     # in the order the workers happen to finish
        on_disk.add(r)
    listed = ListedFiles(sorted(made, key=lambda r: os.fsencode(r.raw_path)))
    return on_disk.finish(), listed


def test_on_disk_they_read_as_the_list_does(both):
    on_disk, listed = both
    assert len(on_disk) == len(listed) == 9
    assert [r.raw_path for r in on_disk] == [r.raw_path for r in listed]
    assert [r.raw_path for r in on_disk][:3] == ["a-b.xlsx", "a.xlsx", "a/x.xlsx"]    # the names' bytes
    assert [r.entry() for r in on_disk] == [r.entry() for r in listed]
    assert on_disk[-1].entry() == listed[-1].entry() and [r.path for r in on_disk[1:3]] == ["a.xlsx", "a/x.xlsx"]
    with pytest.raises(IndexError):
        on_disk[9]
    assert list(on_disk.fields(*FIELDS)) == list(listed.fields(*FIELDS))
    assert RunReport("in", "out", on_disk).stats() == RunReport("in", "out", listed).stats()
    with pytest.raises(ValueError, match="not a field"):
        list(on_disk.fields("findings"))
    for files in (on_disk, listed):
        assert files.any_with("agency", "乙局") and files.any_with("agency", "0") and files.any_with("year", 2023)
        assert not files.any_with("agency", "戊局") and not files.any_with("agency", "乙")


def test_groups_are_the_files_that_share_set_fields(both):
    """Empty and zero fields never group (no agency, year 0), a skipped file never does, and an
    agency named "0" is a name like any other."""
    on_disk, listed = both
    for names in (("sha256",), ("agency", "year"), ("agency",)):
        assert sorted(on_disk.groups(*names)) == sorted(listed.groups(*names)), names
    paths = [r.raw_path for r in listed]
    assert sorted([paths[i] for i in g] for g in on_disk.groups("sha256")) == [["a.xlsx", "a/x.xlsx"]]
    assert sorted([paths[i] for i in g] for g in on_disk.groups("agency", "year")) == [
        ["a-b.xlsx", "a/x.xlsx"], ["e.xlsx", "f.xlsx"]]


def test_what_a_check_changes_is_kept(both):
    on_disk, listed = both
    for files in (on_disk, listed):
        r = files[2]
        r.findings.append(SEEN.at(other="a.xlsx"))
        r.superseded_by = "a.xlsx"
        files.save(2, r)
    assert on_disk[2].entry() == listed[2].entry()
    assert on_disk[2].finding_codes == (SEEN.code,) and on_disk[2].warnings == 1
    assert list(on_disk.fields(*FIELDS)) == list(listed.fields(*FIELDS))
    assert sorted(on_disk.groups("agency", "year", in_use=True)) == sorted(listed.groups("agency", "year", in_use=True))
    assert [i for g in on_disk.groups("agency", "year", in_use=True) for i in g] == [6, 7]   # 0 and 2 are not in use


def test_the_database_goes_with_the_files_and_a_forked_child_only_reads_it(tmp_path):
    stored = Stored()
    on_disk = StoredRunFiles(tmp_path, stored)
    for r in results(stored):
        on_disk.add(r)
    on_disk.finish()
    path = on_disk.path
    assert path.name.startswith(".tmp-") and path.is_file()     # ingest clears one a killed run left
    pid = os.fork()
    if pid == 0:    # the child: reads over its own connection, and leaves the file to its parent
        code = 0 if [r.raw_path for r in on_disk][0] == "a-b.xlsx" else 1
        del on_disk
        gc.collect()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and path.is_file()
    del on_disk
    gc.collect()
    assert not path.exists()
