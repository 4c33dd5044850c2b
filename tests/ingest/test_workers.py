"""The worker processes ingest forks: how each is set up before it reads any return."""

import gc
import resource

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
