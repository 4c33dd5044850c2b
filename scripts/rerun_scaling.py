"""Measure what a re-run of `xltool ingest` costs, and the ingest process's peak memory, at a few
inbox sizes: first run, re-run with nothing changed, re-run with 1% of the returns changed.

Usage (from the repository root; generated inboxes are cached in --work):

    python scripts/rerun_scaling.py --n 500 1000 2000 --jobs 2

Each run is `xltool ingest INBOX --out OUT` in a fresh process; the wall time includes start-up.
"unchanged" is the first re-run (only the counts of its run report differ: every file is now reused),
"again" the one after it (nothing differs at all).
The peak RSS is the ingest (parent) process's own (getrusage RUSAGE_SELF), not its workers'.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMS = (("govinfo-annual-2019", 2020), ("govinfo-annual-2021", 2024))
_RUN = """
import resource, sys, time
t = time.monotonic()
from xltool.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print("WALL", time.monotonic() - t, "RSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)
"""


def write_return(path: Path, i: int, seed: int) -> None:
    from xltool.form.forms import get_spec
    from xltool.generate.synth import random_inputs
    from xltool.generate.writer import Agency, WriteOptions, write_workbook

    form, year = FORMS[i % 2]
    spec = get_spec(form)
    rng = random.Random(seed)
    write_workbook(spec, path, Agency(f"单位{i:05d}", year), WriteOptions(values=random_inputs(spec.layout, rng, balanced=i % 5 != 0)))


def make_inbox(folder: Path, n: int) -> None:
    for i in range(n):
        path = folder / f"区{i % 20:02d}" / f"单位{i:05d}.xlsx"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_return(path, i, seed=i)


def ingest(inbox: Path, out: Path, jobs: int) -> tuple[float, float]:
    started = time.monotonic()
    res = subprocess.run([sys.executable, "-c", _RUN, "ingest", str(inbox), "--out", str(out), "--jobs", str(jobs)], cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    line = next(x for x in res.stderr.splitlines() if x.startswith("WALL"))
    return wall, float(line.split()[3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[500, 1000])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "xltool-rerun-scaling")
    args = ap.parse_args()
    rows = []
    for n in args.n:
        inbox, out = args.work / f"inbox{n}", args.work / f"out{n}"
        make_inbox(inbox, n)
        subprocess.run(["rm", "-rf", str(out)], check=True)
        first = ingest(inbox, out, args.jobs)
        same = ingest(inbox, out, args.jobs)     # nothing changed; run.json's counts differ (every file now reused)
        again = ingest(inbox, out, args.jobs)    # nothing changed, not even the report
        changed = list(range(1, n, 100))  # 1%, accepted returns (every fifth is rejected): the sums change
        for i in changed:
            write_return(inbox / f"区{i % 20:02d}" / f"单位{i:05d}.xlsx", i, seed=10_000 + i)
        one_pct = ingest(inbox, out, args.jobs)
        for i in changed:   # back to the cached content, for the next measurement
            write_return(inbox / f"区{i % 20:02d}" / f"单位{i:05d}.xlsx", i, seed=i)
        rows.append({"n": n, "first_s": first[0], "first_rss_mb": first[1], "unchanged_s": same[0],
                     "unchanged_rss_mb": same[1], "again_s": again[0], "again_rss_mb": again[1], "one_percent_s": one_pct[0], "one_percent_rss_mb": one_pct[1]})
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
