"""The output folder's housekeeping: temp files of a killed run go, nothing else does."""

from __future__ import annotations

import os

from xltool.fileio import TEMP_PREFIX, clear_temp_files


def test_temp_files_are_cleared_everywhere_below_and_nothing_else(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (out / "json" / "区县").mkdir(parents=True)
    elsewhere.mkdir()
    temps = [out / f"{TEMP_PREFIX}run.json", out / "json" / "区县" / f"{TEMP_PREFIX}a.xlsx.json"]
    kept = [out / "run.json", out / "json" / "区县" / "a.xlsx.json", out / "json" / "a.tmp-not-a-prefix",
            elsewhere / f"{TEMP_PREFIX}someone-elses"]
    for f in temps + kept:
        f.write_text("x")
    os.symlink(elsewhere, out / "link-to-elsewhere")     # a link to a folder is not followed
    (out / f"{TEMP_PREFIX}folder").mkdir()              # a folder of that name is left as it is
    clear_temp_files(out)
    assert not any(f.exists() for f in temps)
    assert all(f.exists() for f in kept) and (out / f"{TEMP_PREFIX}folder").is_dir()
