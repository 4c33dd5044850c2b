"""The run's lists of names kept out of memory: the walk's paths in the order of their bytes, the
queue of files left to check."""

from __future__ import annotations

import os
import random

import pytest

from xltool.ingest.path_spool import PathSpool

NOT_UTF8 = "局".encode("gbk").decode("utf-8", "surrogateescape")    # a GBK name, as os.fsdecode gives it


def names(n: int) -> list[str]:
    made = [f"/in/{i % 7}/基准{i:05d}.xlsx" for i in range(n)]
    made += ["/in/a.xlsx", "/in/a/x.xlsx", "/in/a-b.xlsx", f"/in/{NOT_UTF8}.xlsx", "/in/Z.xlsx"]
    random.Random(3).shuffle(made)
    return made


def test_paths_come_back_in_the_order_of_their_bytes_over_many_pages():
    paths = names(1500)
    with PathSpool() as spool:
        kept = spool.sorted_paths(iter(paths))      # read once, as the walk gives them
        assert len(kept) == len(paths)
        queue = spool.queue()
        for path in kept:     # ingest queues the files to check as it goes through them
            queue.append(path)
        assert [queue.popleft() for _ in range(len(paths))] == sorted(paths, key=os.fsencode) == list(kept)
        assert [p for p in kept if p.startswith("/in/a")][:3] == ["/in/a-b.xlsx", "/in/a.xlsx", "/in/a/x.xlsx"]


def test_the_queue_is_first_in_first_out_across_pages():
    paths = names(1300)
    with PathSpool() as spool:
        queue = spool.queue()
        taken = []
        for i, p in enumerate(paths):       # taken from while still being filled, as a run would not, but may
            queue.append(p)
            if i % 3 == 0:
                taken.append(queue.popleft())
        assert len(queue) == len(paths) - len(taken)
        while queue:
            taken.append(queue.popleft())
        assert taken == paths and len(queue) == 0
        with pytest.raises(IndexError):
            queue.popleft()
