"""A small load figure for `xltool serve`: the latency of one verdict and uploads per second.

Starts the real server (uvicorn, in this process, on a free loopback port) over a throw-away inbox
and output folder, then uploads a sample return through the agencies' links: first one at a time
(latency of one verdict), then `--count` uploads with `--concurrency` in flight (throughput).
Bounded: at most 200 uploads and `--max-seconds` of sending; loopback only.

    python scripts/serve_load.py --count 40 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "inbox" / "乐山市机关事务管理局_2020.xlsx"
MAX_COUNT = 200
MAX_PREFILL = 1000
API = {"Accept": "application/json", "X-Requested-With": "serve_load"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=40, help=f"uploads in the throughput run (at most {MAX_COUNT})")
    ap.add_argument("--concurrency", type=int, default=8, help="uploads in flight at once")
    ap.add_argument("--single", type=int, default=5, help="uploads one at a time, for the latency")
    ap.add_argument("--agencies", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of the server")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long")
    ap.add_argument("--file", type=Path, default=SAMPLE, help="the workbook to upload")
    ap.add_argument("--prefill", type=int, default=0,
                    help=f"returns already in the inbox before the server starts (at most {MAX_PREFILL}): every "
                         "upload's run walks them, so this shows the cost of a fuller inbox")
    args = ap.parse_args()
    count = max(1, min(args.count, MAX_COUNT))
    sys.path.insert(0, str(ROOT))

    import httpx

    from xltool.serve.server import Background, build_intake, loopback_socket
    from xltool.serve.tokens import LINKS_CSV

    data = args.file.read_bytes()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        base = Path(tmp)
        roster = base / "agencies.csv"
        with open(roster, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["单位名称", "年度"])
            w.writerows([f"压测单位{i:03d}", 2020] for i in range(args.agencies))
        for i in range(max(0, min(args.prefill, MAX_PREFILL))):
            folder = base / "inbox" / f"压测单位{i % args.agencies:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"20200101-000000-{i:06d}-000000.xlsx").write_bytes(data)
        sock = loopback_socket("127.0.0.1")
        url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        intake = build_intake(base / "inbox", base / "out", roster, url, jobs=args.jobs)
        with Background(intake, sock):
            with open(base / "out" / LINKS_CSV, encoding="utf-8-sig") as fh:
                links = [row[2] for row in list(csv.reader(fh))[1:]]
            t0 = time.perf_counter()
            while intake.checker.runs == 0:
                time.sleep(0.05)
            first_run = time.perf_counter() - t0
            deadline = time.monotonic() + args.max_seconds

            latencies = []
            with httpx.Client(timeout=120) as client:
                for i in range(args.single):
                    t0 = time.perf_counter()
                    r = client.post(links[i % len(links)], files={"file": ("x.xlsx", data)}, headers=API)
                    latencies.append(time.perf_counter() - t0)
                    assert r.status_code == 200 and r.json()["status"], r.text

            async def throughput() -> tuple[int, float, list[float]]:
                gate = asyncio.Semaphore(args.concurrency)
                times: list[float] = []
                async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=args.concurrency)) as c:
                    async def one(i: int) -> bool:
                        async with gate:
                            if time.monotonic() > deadline:
                                return False
                            t0 = time.perf_counter()
                            r = await c.post(links[i % len(links)], files={"file": ("x.xlsx", data)}, headers=API)
                            times.append(time.perf_counter() - t0)
                            return r.status_code == 200 and r.json().get("status") is not None
                    t0 = time.perf_counter()
                    ok = await asyncio.gather(*(one(i) for i in range(count)))
                    return sum(ok), time.perf_counter() - t0, times

            done, elapsed, times = asyncio.run(throughput())
            files = sum(1 for p in (base / "inbox").rglob("*") if p.is_file())

    print(f"file: {args.file.name} ({len(data) // 1024} KB), server workers: {args.jobs}, agencies: {args.agencies}, "
          f"returns in the inbox at start: {args.prefill} (first run: {first_run:.1f} s)")
    print(f"one verdict (upload -> verdict, one at a time, n={len(latencies)}): "
          f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"throughput: {done}/{count} uploads with a verdict in {elapsed:.1f} s = {done / elapsed:.1f} uploads/s "
          f"(concurrency {args.concurrency}; per upload median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms)")
    print(f"files in the inbox: {files}")


if __name__ == "__main__":
    main()
