"""Kill ingest (SIGKILL) part-way through, several times, at random points: after a final run the
outputs equal those of an uninterrupted run, nothing lost or duplicated."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xltool.form.forms import get_spec
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook


def _inbox(folder: Path, n: int) -> None:
    rng = random.Random(5)
    for i in range(n):
        form = "govinfo-annual-2019" if i % 3 == 0 else "govinfo-annual-2021"
        spec = get_spec(form)
        values = random_inputs(spec.layout, rng, balanced=i % 5 != 0)  # every fifth breaks T3-A
        sub = folder / f"区{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        write_workbook(spec, sub / f"单位{i:03d}.xlsx", Agency(f"单位{i:03d}", 2020 if form.endswith("2019") else 2024),
                       WriteOptions(values=values))


def _run(inbox: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xltool.cli", "ingest", str(inbox), "--out", str(out), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _outputs(out: Path) -> dict:
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "json").rglob("*") if p.is_file()}
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for e in run["files"]:
        e.pop("checked_at")   # when each verdict was given differs from run to run
    for k in ("unchanged",):
        run["stats"].pop(k)
    run.pop("out")
    return {"json": files, "run": run}


@pytest.mark.slow
def test_sigkill_at_random_points_then_a_final_run_equals_an_uninterrupted_run(tmp_path):
    inbox = tmp_path / "inbox"
    _inbox(inbox, 60)
    reference = tmp_path / "reference"
    assert _run(inbox, reference).wait(timeout=300) in (0, 1)
    killed = tmp_path / "killed"
    rng = random.Random(11)
    for _ in range(4):
        proc = _run(inbox, killed)
        time.sleep(rng.uniform(0.3, 3.0))
        os.kill(proc.pid, signal.SIGKILL)  # the ingest process only, as a crash or `kill -9` would
        proc.wait()
    assert _run(inbox, killed).wait(timeout=300) in (0, 1)
    got, want = _outputs(killed), _outputs(reference)
    assert sorted(got["json"]) == sorted(want["json"])
    assert got["json"] == want["json"]
    assert got["run"] == want["run"]
    assert not list(killed.rglob(".tmp-*"))  # temp files of killed runs are cleared by the next run
