"""A file's verdict as a run holds it: packed, yet read like the FileResult it came from."""

from __future__ import annotations

from xltool.checks.cell_types import NOT_A_NUMBER as BAD
from xltool.ingest.crossfile import DUPLICATE_CONTENT as SEEN
from xltool.outputs.packed_result import PackedResult, pack_entry
from xltool.outputs.run_report import FileResult, RunReport


def result() -> FileResult:
    return FileResult("区/甲局_2024.xlsx", 1234, 17.5, "ab" * 32, "rejected", [BAD.at(sheet="三", cell="D5", value="x"), BAD.at(sheet="三", cell="D6", value="y")],
                      "govinfo-annual-2021", "甲局", 2024, json="json/区/甲局_2024.xlsx.json", feedback="feedback/x.xlsx",
                      checked_at="2026-12-01T08:00:00+00:00", issued_agency="甲局")


class Stored(dict):
    """Entries kept by key, as the ledger keeps them (ingest.ledger.LedgerEntries)."""

    forgotten: list[str]

    def packed(self, key: str) -> bytes:
        return self[key]

    def forget(self, key: str) -> None:
        self.forgotten = [*getattr(self, "forgotten", []), key]


def kept(r: FileResult) -> Stored:
    return Stored({r.raw_path: pack_entry(r.entry())})


def test_a_packed_result_reads_like_the_result_it_packs():
    r = result()
    packed = PackedResult(r.entry(), kept(r), r.mtime)
    assert packed.entry() == r.entry() and (packed.errors, packed.warnings) == (2, 0)
    assert packed.finding_codes == (BAD.code, BAD.code) and packed.raw_path == r.raw_path
    assert RunReport("in", "out", [packed]).stats() == RunReport("in", "out", [r]).stats()


def test_what_a_check_adds_stays_and_shows_in_the_entry():
    r = result()
    packed = PackedResult.from_stored(pack_entry(r.entry()), kept(r), r.mtime)
    for target in (r, packed):
        target.findings.append(SEEN.at(other="区/乙局_2024.xlsx"))
        target.superseded_by = "区/乙局_2024.xlsx"
    assert packed.entry() == r.entry() and packed.warnings == 1
    assert packed.finding_codes == (BAD.code, BAD.code, SEEN.code)


def test_its_line_in_run_json_is_the_stored_text_until_something_is_added():
    from xltool.outputs.run_report import entry_line

    r = result()
    packed = PackedResult.from_stored(pack_entry(r.entry()), kept(r), r.mtime)
    assert packed.entry_line() == entry_line(r.entry()) == r.entry_line()
    packed.superseded_by = "区/乙局_2024.xlsx"
    assert '"superseded_by": "区/乙局_2024.xlsx"' in packed.entry_line()
    packed.superseded_by = None
    packed.findings.append(SEEN.at(other="区/乙局_2024.xlsx"))
    assert SEEN.code in packed.entry_line() and packed.entry_line() == entry_line(packed.entry())


def test_an_entry_the_ledger_cannot_give_back_reads_as_what_the_result_holds():
    """A damaged record never stops a run: the entry is made from the result's own fields, with a
    finding saying so, and the file is marked to be checked again."""
    from xltool.outputs.packed_result import STORED_ENTRY_UNREADABLE
    from xltool.outputs.run_report import entry_line

    r = result()
    stored = kept(r)
    packed = PackedResult.from_stored(stored[r.raw_path], stored, r.mtime)
    stored[r.raw_path] = b"x\x9c damaged"
    entry = packed.entry()
    assert [f["code"] for f in entry["findings"]] == [STORED_ENTRY_UNREADABLE.code]
    assert {k: entry[k] for k in ("path", "status", "agency", "sha256", "json", "feedback")} == {
        k: r.entry()[k] for k in ("path", "status", "agency", "sha256", "json", "feedback")}
    assert stored.forgotten == [r.raw_path]
    assert packed.entry_line() == entry_line(packed.entry())
    del stored[r.raw_path]                    # a record gone altogether reads the same way
    assert [f.code for f in PackedResult(r.entry(), stored, r.mtime).findings] == [STORED_ENTRY_UNREADABLE.code]


def test_hash_and_output_names_read_back_as_the_texts_they_were():
    """The hash is kept as bytes and a mirrored output name as a mark: each reads back as its text,
    whatever it is (a hashed output name, a key that is not the printed path, a file never hashed)."""
    from xltool.outputs.packed_result import entry_head

    cases = [
        result(),                                                                   # json mirrored, feedback not
        FileResult("甲局_2024.xlsx", 9, 1.0, "AB" * 32, "rejected", [], json=None,  # upper case: not what hex() gives
                   feedback="feedback/甲局_2024.xlsx"),
        FileResult("a\\xff.xlsx", 9, 1.0, "", "rejected", [], json="json/a~0123456789abcdef.xlsx.json",
                   key="a\udcff.xlsx"),                                              # an undecodable name, never hashed
        FileResult("b.xlsx", 9, 1.0, "f" * 63, "skipped", [], json="json/b.xlsx.json"),
    ]
    for r in cases:
        for packed in (PackedResult(r.entry(), kept(r), r.mtime, r.key),
                       PackedResult.from_head(entry_head(r.entry()), kept(r), r.mtime, r.raw_path)):
            assert (packed.sha256, packed.json, packed.feedback) == (r.sha256, r.json, r.feedback)
            assert packed.entry() == r.entry()


def test_a_run_holds_about_half_a_kilobyte_per_file():
    """What lets the ingest process hold 10,000 results in a few MB (issue 11: its memory flat in N)."""
    import gc
    import tracemalloc

    from xltool.outputs.packed_result import entry_head

    heads = []
    for i in range(2000):
        r = FileResult(f"区/基准{i:05d}统计局_2024.xlsx", 19000 + i, 1.0, f"{i:064x}", "accepted", [],
                       "govinfo-annual-2021", f"基准{i:05d}统计局", 2024, json=f"json/区/基准{i:05d}统计局_2024.xlsx.json",
                       checked_at="2026-12-01T08:00:00+00:00", issued_agency=f"基准{i:05d}统计局")
        heads.append((r.raw_path, entry_head(r.entry())))
    gc.collect()
    tracemalloc.start()
    try:
        held = [PackedResult.from_head(head, Stored(), 1.0, key) for key, head in heads]
        gc.collect()
        per_file = tracemalloc.get_traced_memory()[0] / len(held)
    finally:
        tracemalloc.stop()
    assert held[7].sha256 == f"{7:064x}" and held[7].json == "json/区/基准00007统计局_2024.xlsx.json"
    assert per_file < 520, per_file   # 0.76 KB when the hash and the names were kept as text
