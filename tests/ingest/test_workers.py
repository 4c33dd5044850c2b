"""The worker processes ingest forks: how each is set up before it reads any return."""

import gc
import resource
from pathlib import Path

from xltool.ingest.workers import WORKER_GC_THRESHOLDS, run_all


def _worker_settings(_path):
    return gc.get_threshold(), resource.getrlimit(resource.RLIMIT_AS)[0]


def test_workers_collect_garbage_rarely_and_run_under_a_memory_cap(tmp_path):
    """A return's parse makes thousands of short-lived elements: at the default thresholds the
    collector would run dozens of times a file. Each worker also gets its address-space cap."""
    got = []
    run_all(_worker_settings, ["a", "b", "c"], tmp_path, 2, lambda path, settings: got.append(settings), 30)
    assert len(got) == 3
    assert gc.get_threshold() != WORKER_GC_THRESHOLDS     # this process keeps the defaults
    for thresholds, address_space in got:
        assert thresholds == WORKER_GC_THRESHOLDS
        assert address_space != resource.RLIM_INFINITY


def _check(path):
    """A stand-in for the per-file check: one file hangs, one kills its worker."""
    import os
    import time
    name = os.path.basename(path)
    if name == "slow":
        time.sleep(60)
    if name == "crash":
        os._exit(3)
    return f"verdict on {name}"


def test_a_file_that_hangs_or_kills_its_worker_gets_its_own_verdict_and_the_others_theirs(tmp_path):
    """Workers take files a few at a time: a group with a file that hangs or kills its worker is
    taken again file by file, so that file alone is abandoned (time-out) or reported (crash)."""
    from xltool.findings import REJECTED
    from xltool.ingest.workers import CHUNK

    names = [f"f{i}" for i in range(3 * CHUNK)]
    names[1], names[CHUNK + 2] = "slow", "crash"
    got = {}
    run_all(_check, [str(tmp_path / n) for n in names], tmp_path, 2,
            lambda path, result: got.setdefault(Path(path).name, []).append(result), 2)
    assert sorted(got) == sorted(names) and all(len(v) == 1 for v in got.values())      # once each
    for name in names:
        if name in ("slow", "crash"):
            verdict = got[name][0]
            assert verdict.status == REJECTED
            assert [f.code for f in verdict.findings] == ["file-timeout" if name == "slow" else "worker-crashed"]
        else:
            assert got[name] == [f"verdict on {name}"]
