"""A long body reused from the last write: copied only when it is exactly what was recorded."""

from __future__ import annotations

import json
import os

from xltool.outputs.spliced_file import record_path, write_spliced


def body_maker(text: bytes, calls: list):
    def make(put):
        calls.append(1)
        put(text)
    return make


def test_the_body_is_copied_for_the_same_key_and_made_for_another(tmp_path):
    target, calls = tmp_path / "run.json", []
    write_spliced(target, b"[head 1]", "k1", body_maker(b"BODY" * 1000, calls), b"[tail]")
    write_spliced(target, b"[head 2, longer]", "k1", body_maker(b"never made", calls), b"[tail]")
    assert target.read_bytes() == b"[head 2, longer]" + b"BODY" * 1000 + b"[tail]" and len(calls) == 1
    write_spliced(target, b"[head 2, longer]", "k2", body_maker(b"new", calls), b"[tail]")
    assert target.read_bytes() == b"[head 2, longer]new[tail]" and len(calls) == 2
    write_spliced(target, b"[h]", None, body_maker(b"new", calls), b"")   # no key: always made
    assert len(calls) == 3


def test_a_file_or_record_edited_by_hand_is_never_copied_from(tmp_path):
    target, calls = tmp_path / "report.html", []
    write_spliced(target, b"<h>", "k", body_maker(b"<body>", calls), b"</h>")
    target.write_bytes(b"<h><BODY></h>")                                 # the page edited
    write_spliced(target, b"<h>", "k", body_maker(b"<body>", calls), b"</h>")
    assert target.read_bytes() == b"<h><body></h>" and len(calls) == 2
    record = json.loads(record_path(target).read_text())
    record_path(target).write_text(json.dumps({**record, "offset": 0}))   # the record pointed elsewhere
    write_spliced(target, b"<h>", "k", body_maker(b"<body>", calls), b"</h>")
    assert target.read_bytes() == b"<h><body></h>" and len(calls) == 3


def test_the_same_content_is_not_written_again(tmp_path):
    target = tmp_path / "run.json"
    sha = write_spliced(target, b"a", "k", body_maker(b"b", []), b"c")
    os.utime(target, ns=(1, 1))
    assert write_spliced(target, b"a", "k", body_maker(b"b", []), b"c") == sha
    assert target.stat().st_mtime_ns == 1
