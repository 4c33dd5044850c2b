"""What one ingest worker spends per file: the CPU time of `check_in_worker` over a fixed set of files.

Usage (from the repository root, after scripts/bench.py has built its corpus once):

    PYTHONPATH=$PWD python scripts/worker_profile.py                      # 300 files, median of 3
    PYTHONPATH=$PWD python scripts/worker_profile.py --profile --top 40   # where the time goes
    PYTHONPATH=$PWD python scripts/worker_profile.py --inbox DIR --n 100

It does what a worker does, in this one process: `workers.warm_up()` (forms loaded, formulas
compiled), a warm-up over 20 other files, then `pipeline.check_in_worker` over the first N
files of the inbox in sorted order (the same N every time, rejected returns included, so their
feedback workbooks count), writing into a temporary output folder. Reported: process time per
file (median and each run), which is what limits a CPU-bound ingest on few cores, and the
verdicts of one run. Nothing runs in parallel: it measures cost, not throughput.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

WARM_UP_FILES = 20
DEFAULT_INBOX_GLOB = "corpus-*/inbox"    # scripts/bench.py's cached corpora
DEFAULT_CACHE = Path.home() / ".cache" / "xltool-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, help="an inbox (default: the newest corpus scripts/bench.py cached)")
    parser.add_argument("--n", type=int, default=300, help="files measured (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median is reported (default 3)")
    parser.add_argument("--profile", action="store_true", help="one run under cProfile instead")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key (default tottime)")
    parser.add_argument("--top", type=int, default=40, help="cProfile lines shown (default 40)")
    args = parser.parse_args()

    inbox = args.inbox or _newest_corpus()
    if inbox is None:
        print("no inbox: pass --inbox, or build the benchmark corpus once with scripts/bench.py --n 200",
              file=sys.stderr)
        return 2
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    measured, warm = files[:args.n], files[args.n:args.n + WARM_UP_FILES]
    if not measured:
        print(f"no files in {inbox}", file=sys.stderr)
        return 2

    import xltool
    from xltool.ingest.pipeline import check_in_worker
    from xltool.ingest.workers import warm_up

    print(f"xltool from {Path(xltool.__file__).parent}; {len(measured)} files of {inbox}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="worker-profile-") as out:
        warm_up()
        for path in warm:
            check_in_worker(path, inbox, Path(out), 60.0)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(_run, check_in_worker, measured, inbox, Path(out))
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
            return 0
        runs, verdicts = [], {}
        for _ in range(args.repeats):
            started = time.process_time()
            verdicts = _run(check_in_worker, measured, inbox, Path(out))
            runs.append((time.process_time() - started) / len(measured) * 1000)
    print(f"{statistics.median(runs):.2f} ms/file (process time, median of {len(runs)}; runs: "
          f"{', '.join(f'{ms:.2f}' for ms in runs)}); verdicts: {verdicts}")
    return 0


def _run(check_in_worker, files: list[Path], inbox: Path, out: Path) -> dict[str, int]:
    """check_in_worker over `files`, as a worker would; the count of each verdict."""
    verdicts: dict[str, int] = {}
    for path in files:
        status = json.loads(check_in_worker(path, inbox, out, 60.0).head)["status"]
        verdicts[status] = verdicts.get(status, 0) + 1
    return verdicts


def _newest_corpus() -> Path | None:
    found = sorted(DEFAULT_CACHE.glob(DEFAULT_INBOX_GLOB), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


if __name__ == "__main__":
    sys.exit(main())
