"""The progress bar of a long command: drawn on a terminal, counting every file; absent when
stderr is a file or a pipe, so that a script's output stays clean."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ingest_samples(out: Path, on_terminal: bool) -> str:
    """What `xltool ingest samples/inbox` writes to stderr, through a pseudo-terminal or a pipe."""
    cmd = [sys.executable, "-m", "xltool", "ingest", str(ROOT / "samples" / "inbox"), "--out", str(out)]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    if not on_terminal:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120).stderr
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    said = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:       # the child closed the terminal
            break
        if not chunk:
            break
        said += chunk
    os.close(master)
    proc.wait(timeout=120)
    return said.decode("utf-8", "replace")


def test_the_bar_counts_every_file_on_a_terminal_and_stays_out_of_a_pipe(tmp_path):
    on_terminal = _ingest_samples(tmp_path / "a", on_terminal=True)
    files = len(json.loads((tmp_path / "a" / "run.json").read_text(encoding="utf-8"))["files"])
    counts = re.findall(r"(\d+)/(\d+)", on_terminal)
    assert "校验 / checking" in on_terminal and (str(files), str(files)) in counts
    piped = _ingest_samples(tmp_path / "b", on_terminal=False)
    assert "校验 / checking" not in piped and not re.search(r"\d+/\d+", piped)
