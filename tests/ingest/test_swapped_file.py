"""A file replaced while ingest reads it gets the verdict of the bytes whose sha256 is recorded.

Each return is read once into memory; its hash, the guard's verdict, the parse and the document
all come from those bytes. Here a thread keeps swapping every file of the inbox (os.replace, as a
mail client or a sync tool would) between an accepted return and one the guard rejects (a DOCTYPE
in a sheet), while ingest runs, 20 times over. Every verdict must belong to the version whose hash
it records: never the accepted verdict with the hostile file's hash, nor the other way round.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

from xltool.ingest.run import ingest

from returns import T3_PART, edit_part, filled

RUNS = 20
FILES = 4


def _versions(tmp: Path) -> tuple[bytes, bytes]:
    good = filled(tmp / "good.xlsx")
    bad = edit_part(shutil.copy(good, tmp / "bad.xlsx"), T3_PART,
                    lambda data: data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "boom">]>', 1))
    return Path(good).read_bytes(), Path(bad).read_bytes()


def _swapper(inbox: Path, versions: tuple[bytes, bytes], stop: threading.Event) -> None:
    staged = []
    for i, data in enumerate(versions):
        p = inbox.parent / f"staged-{i}.xlsx"
        p.write_bytes(data)
        staged.append(p)
    turn = 0
    while not stop.is_set():
        for n in range(FILES):
            tmp = inbox.parent / f".swap-{n}"
            shutil.copyfile(staged[turn % 2], tmp)
            os.replace(tmp, inbox / f"return-{n}.xlsx")
        turn += 1
        time.sleep(0.0005)   # paced: a version stays in place about as long as reading a file takes


def test_every_verdict_belongs_to_the_bytes_it_hashed(tmp_path):
    good, bad = _versions(tmp_path)
    expected = {hashlib.sha256(good).hexdigest(): "accepted", hashlib.sha256(bad).hexdigest(): "rejected"}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(FILES):
        (inbox / f"return-{n}.xlsx").write_bytes(good)
    seen = set()
    for run in range(RUNS):
        stop = threading.Event()
        swapper = threading.Thread(target=_swapper, args=(inbox, (good, bad), stop), daemon=True)
        swapper.start()
        try:
            ingest(inbox, tmp_path / "out", jobs=2, full=True)
        finally:
            stop.set()
            swapper.join()
        report = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
        for entry in report["files"]:
            sha = entry["sha256"]
            assert sha in expected, f"run {run}: {entry['path']} recorded a hash of neither version"
            assert entry["status"] == expected[sha], f"run {run}: {entry['path']} judged as the other version"
            codes = {f["code"] for f in entry["findings"]}
            assert ("xml-entity" in codes) == (expected[sha] == "rejected"), (run, entry["path"], codes)
            doc = json.loads((tmp_path / "out" / entry["json"]).read_text(encoding="utf-8"))
            assert doc["source"]["sha256"] == sha and doc["status"] == entry["status"]
            seen.add(expected[sha])
    assert seen == {"accepted", "rejected"}, "the swapping never showed both versions: the test tested nothing"


def test_one_file_swapped_under_the_pipeline_is_judged_as_what_was_hashed(tmp_path):
    """The same, at the per-file pipeline, where the window was: 300 verdicts on a file swapped
    every half millisecond (before the one read, about a third of them were the other version's)."""
    from xltool.ingest.pipeline import process_file

    good, bad = _versions(tmp_path)
    expected = {hashlib.sha256(good).hexdigest(): "accepted", hashlib.sha256(bad).hexdigest(): "rejected"}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = inbox / "return.xlsx"
    target.write_bytes(good)
    stop, seen = threading.Event(), set()

    def swap() -> None:
        turn = 0
        while not stop.is_set():
            tmp = tmp_path / ".swap"
            tmp.write_bytes(good if turn % 2 else bad)
            os.replace(tmp, target)
            turn += 1
            time.sleep(0.0005)

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    try:
        for _ in range(300):
            r = process_file(target, inbox)
            assert expected.get(r.sha256) == r.status, r.findings
            assert r.document["source"]["sha256"] == r.sha256
            seen.add(r.status)
    finally:
        stop.set()
        swapper.join()
    assert seen == {"accepted", "rejected"}
