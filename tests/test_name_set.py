"""The output names a run looks up, kept as 8 bytes a name: every name put in is found, no other
is, over more names than are sorted at a time (the runs are merged)."""

from __future__ import annotations

import random

import pytest

from xltool.name_set import NameSet

NOT_UTF8 = "局".encode("gbk").decode("utf-8", "surrogateescape")    # a GBK name, as os.fsdecode gives it


@pytest.mark.parametrize("count", [0, 1, 3000, 40_000])
def test_names_are_found_and_others_are_not(count):
    present = [f"json/in/{i % 7}/基准{i:05d}.xlsx.json" for i in range(count)]
    present += [f"json/in/{NOT_UTF8}.xlsx.json", "feedback/in/a.xlsx"]
    random.Random(3).shuffle(present)
    looked_up = NameSet(iter(present))     # read once, as a folder walk gives them
    assert len(looked_up) == len(present)
    assert all(name in looked_up for name in present)
    assert not any(f"json/x/{i}.xlsx.json" in looked_up for i in range(3000))
    assert "json/in/a.xlsx" not in looked_up and "" not in NameSet(())
