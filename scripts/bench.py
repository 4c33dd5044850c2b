"""Benchmark `xltool ingest` against the parse floor and the alternatives, in one run.

Usage (from the repository root):

    python scripts/bench.py                      # 2000 files, 2 worker processes
    python scripts/bench.py --n 500 --jobs 2 --keep
    python scripts/bench.py --compare-readers --n 200

It writes N filled workbooks of both form versions (2019 and 2021) to a temporary inbox:
every file has its own values (random fills, written by xltool.write), about one in five is
invalid (an unbalanced table 三, so T3-A breaks, or text typed in a number cell). Then it
measures, on those same files:

  (a) `xltool ingest INBOX --out OUT --jobs J`, end to end (a subprocess; files/s);
  (b) the floor: zipfile + XML parse of each file's sheet parts, pulling the input values
      (one process; the floor over 2 cores is that time halved);
  (c) the `formulas` package alone, naively per file (ExcelModel().loads().finish().calculate())
      on a sample of files, extrapolated to N;
  (d) LibreOffice headless converting a batch of files to .xlsx (per-file time), if installed;
  (e) `xltool ingest` again over the unchanged inbox, same output folder (the ledger's re-run);
  (f) the peak resident memory of the ingest run (the largest single process, /usr/bin/time -v);
  (g) `xltool --help` start-up time (median of 5);

and prints a table of absolute times and of ratios to the floor.

`--compare-readers` measures the parts instead, per file: read.read_workbook (openpyxl)
against fastread.read_workbook_fast against the floor, and recalc.Model (the `formulas`
engine) against fastcalc.FastModel, checking on the way that the fast ones give the same
answers.

`--phases` adds one more ingest run with timers around its two phases (reading and
checking the files in the worker pool; writing feedback workbooks, summary.xlsx and
report.html), to show where the time goes. `--keep` keeps the generated inbox and outputs
(their folder is printed); without it they are deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parent.parent
FORMS = ("govinfo-annual-2019", "govinfo-annual-2021")
YEARS = {"govinfo-annual-2019": 2020, "govinfo-annual-2021": 2024}
INVALID_SHARE = 0.2
_CELL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}c"
_VALUE = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}v"


# --- the inbox ------------------------------------------------------------------------------------

def plan(n: int, seed: int) -> list[tuple[str, int, str]]:
    """(form, seed, kind) per file: kind is valid, unbalanced or text."""
    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        kind = "valid"
        if rng.random() < INVALID_SHARE:
            kind = rng.choice(["unbalanced", "text"])
        jobs.append((FORMS[i % 2], seed * 1_000_003 + i, kind))
    return jobs


def write_one(args: tuple[str, int, str, str]) -> str:
    """One filled workbook with values of its own."""
    from xltool.form.forms import get_spec
    from xltool.generate.synth import random_inputs
    from xltool.generate.writer import Agency, WriteOptions, write_workbook

    form, seed, kind, folder = args
    spec = get_spec(form)
    rng = random.Random(seed)
    values = random_inputs(spec.layout, rng, high=rng.choice([20, 200, 5000]), balanced=kind != "unbalanced")
    raw = {}
    if kind == "text":
        numeric = [c for c in spec.layout.inputs() if c.type.numeric and not c.role]
        raw[rng.choice(numeric).id] = rng.choice(["12件", "１２", "约30", "三"])
    name = f"{form[-4:]}-{kind}-{seed}.xlsx"
    write_workbook(spec, Path(folder) / name, Agency(f"基准测试单位{seed}", YEARS[form], "某市"),
                   WriteOptions(values=values, raw=raw))
    return name


def make_inbox(folder: Path, n: int, jobs: int, seed: int) -> dict[str, str]:
    """Write the files (in parallel); returns file name -> form id."""
    work = [(form, s, kind, str(folder)) for form, s, kind in plan(n, seed)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        names = list(pool.map(write_one, work, chunksize=16))
    return {name: form for name, (form, _, _, _) in zip(names, work)}


# --- the floor ------------------------------------------------------------------------------------

def input_positions() -> dict[str, dict[int, set[str]]]:
    """Per form: sheet position (1-based, in workbook order) -> A1 names of its input cells."""
    from xltool.form.forms import get_spec

    out = {}
    for form in FORMS:
        layout = get_spec(form).layout
        index = {s.name: i + 1 for i, s in enumerate(layout.sheets)}
        wanted: dict[int, set[str]] = {}
        for cell in layout.inputs():
            wanted.setdefault(index[cell.sheet], set()).add(cell.a1)
        out[form] = wanted
    return out


def floor_read(path: Path, wanted: dict[int, set[str]]) -> dict[str, str | None]:
    """The least any reader must do: unzip each sheet part, parse its XML, take the input cells' text."""
    values = {}
    with zipfile.ZipFile(path) as archive:
        for position, refs in wanted.items():
            root = ET.fromstring(archive.read(f"xl/worksheets/sheet{position}.xml"))
            for c in root.iter(_CELL):
                ref = c.get("r")
                if ref in refs:
                    values[ref] = c.findtext(_VALUE)
    return values


def time_each(read, files: list[Path]) -> float:
    """Seconds to read every file, one at a time, keeping nothing (as ingest does)."""
    start = time.perf_counter()
    for path in files:
        read(path)
    return time.perf_counter() - start


def time_floor(files: list[Path], forms: dict[str, str]) -> float:
    positions = input_positions()
    start = time.perf_counter()
    for path in files:
        floor_read(path, positions[forms[path.name]])
    return time.perf_counter() - start


# --- the runs -------------------------------------------------------------------------------------

def xltool_command() -> list[str]:
    exe = shutil.which("xltool")
    return [exe] if exe else [sys.executable, "-m", "xltool.cli"]


def ingest_has_jobs() -> bool:
    run = subprocess.run([*xltool_command(), "ingest", "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"})
    return "--jobs" in run.stdout


def run_ingest(inbox: Path, out: Path, jobs: int) -> tuple[float, int | None, int]:
    """(seconds, peak RSS in KB or None, exit code) of one `xltool ingest` run."""
    cmd = [*xltool_command(), "ingest", str(inbox), "--out", str(out)]
    if ingest_has_jobs():
        cmd += ["--jobs", str(jobs)]
    timer = Path("/usr/bin/time")
    if timer.exists():
        cmd = [str(timer), "-v", *cmd]
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"xltool ingest failed ({run.returncode}):\n{run.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    return seconds, int(m.group(1)) if m else None, run.returncode


# `xltool ingest` in-process with timers around its two phases. Usage: python -c _PHASES
# REPORT.json ingest ARGS... (the phases are found by their names as of this writing; one
# that cannot be found is left out).
_PHASES = r"""
import importlib, json, sys, time
report, sys.argv = sys.argv[1], ["xltool", *sys.argv[2:]]
spent = {}
def timed(module_name, name, label):
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    fn = getattr(module, name, None)
    if fn is None:
        return
    def wrapper(*a, **k):
        start = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
    setattr(module, name, wrapper)
timed("xltool.workers", "run_all", "reading and checking the files (worker pool)")
timed("xltool.outputs", "write_outputs", "writing feedback workbooks, summary.xlsx, report.html")
from xltool.cli import main
try:
    main()
except SystemExit:
    pass
json.dump(spent, open(report, "w"))
"""


def run_phases(inbox: Path, out: Path, jobs: int) -> dict[str, float]:
    """Seconds per phase of one more `xltool ingest` run, into a fresh output folder."""
    report = out.parent / "phases.json"
    cmd = [sys.executable, "-c", _PHASES, str(report), "ingest", str(inbox), "--out", str(out)]
    if ingest_has_jobs():
        cmd += ["--jobs", str(jobs)]
    subprocess.run(cmd, capture_output=True, text=True)
    return json.loads(report.read_text()) if report.exists() else {}


def time_formulas_naive(files: list[Path]) -> float | None:
    """Seconds per file for the `formulas` package loading and calculating a whole workbook."""
    try:
        import formulas
    except ImportError:
        return None
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):      # its progress bars
        for path in files:
            formulas.ExcelModel().loads(str(path)).finish().calculate()
    return (time.perf_counter() - start) / len(files)


def time_libreoffice(files: list[Path], scratch: Path) -> float | None:
    """Seconds per file for one soffice --convert-to run over the batch (start-up included)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    profile, out = scratch / "lo-profile", scratch / "lo-out"
    start = time.perf_counter()
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", "xlsx:Calc Office Open XML", "--outdir", str(out), *map(str, files)],
                   check=True, capture_output=True, timeout=1800)
    return (time.perf_counter() - start) / len(files)


def time_startup() -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([*xltool_command(), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- reporting ------------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"


def table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:>16}  {note}")


def full_run(args, scratch: Path) -> None:
    inbox, out = scratch / "inbox", scratch / "out"
    inbox.mkdir()
    t = time.perf_counter()
    forms = make_inbox(inbox, args.n, args.jobs, args.seed)
    files = sorted(inbox.iterdir())
    print(f"generated {len(files)} workbooks in {time.perf_counter() - t:.1f} s "
          f"({sum(p.stat().st_size for p in files) / len(files) / 1024:.1f} KB each) in {inbox}")

    ingest_s, rss_kb, code = run_ingest(inbox, out, args.jobs)
    rerun_s, _, _ = run_ingest(inbox, out, args.jobs)
    floor_s = time_floor(files, forms)
    sample = files[: min(args.sample, len(files))]
    formulas_s = time_formulas_naive(sample) if args.sample else None
    lo_s = time_libreoffice(files[: min(args.sample, len(files))], scratch) if args.sample else None
    startup_s = time_startup()
    phases = run_phases(inbox, scratch / "out-phases", args.jobs) if args.phases else {}

    n = len(files)
    floor_file = floor_s / n
    ingest_file = ingest_s / n
    print(f"\n{n} files, ingest --jobs {args.jobs} on {os.cpu_count()} cores (exit code {code})\n")
    rows = [
        ("(a) xltool ingest, end to end", ms(ingest_file) + "/file",
         f"{n / ingest_s:7.1f} files/s; {ingest_s:.2f} s total; {ingest_file / floor_file:.1f}x the floor"),
        ("(b) floor: unzip + parse sheet XML, 1 process", ms(floor_file) + "/file", f"{n / floor_s:7.1f} files/s"),
        ("    floor over 2 cores", ms(floor_file / 2) + "/file",
         f"{2 * n / floor_s:7.1f} files/s; ingest is {ingest_file / (floor_file / 2):.1f}x this"),
    ]
    if formulas_s is not None:
        rows.append(("(c) formulas package, naive, per file", ms(formulas_s) + "/file",
                     f"sample of {len(sample)}, extrapolated to {n} files: {formulas_s * n / 60:.1f} min; "
                     f"{formulas_s / floor_file:.0f}x the floor"))
    if lo_s is not None:
        rows.append(("(d) LibreOffice --convert-to, batch", ms(lo_s) + "/file",
                     f"batch of {len(sample)}, start-up included; {lo_s / floor_file:.0f}x the floor"))
    rows += [
        ("(e) ingest again, unchanged inbox", ms(rerun_s / n) + "/file", f"{rerun_s:.2f} s total (the ledger reuses verdicts; outputs are written again)"),
        ("(f) peak RSS of the ingest run", f"{rss_kb / 1024:.0f} MB" if rss_kb else "n/a",
         "largest single process (/usr/bin/time -v)" if rss_kb else "/usr/bin/time not found"),
        ("(g) xltool --help start-up", ms(startup_s), "median of 5"),
    ]
    table(rows)
    if phases:
        print("\n  where an ingest run's time goes (one more run, --phases):")
        table([(f"    {label}", ms(seconds / n) + "/file", f"{seconds:.2f} s; {seconds / n / floor_file:.1f}x the floor")
               for label, seconds in phases.items()])


# --- --compare-readers ----------------------------------------------------------------------------

def compare_readers(args, scratch: Path) -> None:
    from xltool.calc.fastcalc import fast_model_for
    from xltool.calc.reference import Model
    from xltool.checks.rules import parse_number
    from xltool.form.forms import get_spec
    from xltool.xlsx import read
    from xltool.xlsx.fastread import read_workbook_fast

    # the references, also once read.read_workbook and recalc.model_for take the fast paths
    read_workbook = getattr(read, "read_workbook_openpyxl", read.read_workbook)
    references = {}

    def model_for(layout):
        if layout.form_id not in references:
            references[layout.form_id] = Model(layout)
        return references[layout.form_id]

    inbox = scratch / "inbox"
    inbox.mkdir()
    forms = make_inbox(inbox, args.n, args.jobs, args.seed)
    files = sorted(inbox.iterdir())
    n = len(files)
    print(f"generated {n} workbooks in {inbox}\n")

    floor_s = time_floor(files, forms)
    openpyxl_s = time_each(read_workbook, files)
    fast_s = time_each(read_workbook_fast, files)
    fast = [read_workbook_fast(p) for p in files]
    readers_differ = sum(read_workbook(p) != data for p, data in zip(files, fast))

    layouts = {form: get_spec(form).layout for form in FORMS}
    inputs = []
    for path, data in zip(files, fast):
        layout = layouts[forms[path.name]]
        values = {}
        for cell in layout.inputs():
            if cell.type.numeric:
                found = data.sheets[cell.sheet].get(cell.row, cell.col)
                values[cell.id] = parse_number(cell.type, found.value)[0] if found and found.value is not None else None
        inputs.append((layout, values))
    for layout in layouts.values():      # compile outside the timings
        model_for(layout), fast_model_for(layout)

    def calc(models, keep: bool):
        out = []
        start = time.perf_counter()
        for layout, values in inputs:
            model = models(layout)
            computed = model.evaluate(values)
            checks = model.run_checks({**values, **computed})
            if keep:
                out.append((computed, [(c.lhs, c.rhs) for c in checks]))
        return time.perf_counter() - start, out

    recalc_s, _ = calc(model_for, keep=False)
    fastcalc_s, _ = calc(fast_model_for, keep=False)
    calcs_differ = sum(a != b for a, b in zip(calc(model_for, True)[1], calc(fast_model_for, True)[1]))

    print(f"{n} files, one process, per file:\n")
    table([
        ("floor: unzip + parse sheet XML, take inputs", ms(floor_s / n), "1.0x"),
        ("read.read_workbook (openpyxl)", ms(openpyxl_s / n), f"{openpyxl_s / floor_s:.1f}x the floor"),
        ("fastread.read_workbook_fast", ms(fast_s / n),
         f"{fast_s / floor_s:.1f}x the floor; {openpyxl_s / fast_s:.1f}x faster than openpyxl; "
         f"{readers_differ} of {n} differ"),
        ("recalc.Model (formulas), evaluate + checks", ms(recalc_s / n), f"{recalc_s / floor_s:.1f}x the floor"),
        ("fastcalc.FastModel, evaluate + checks", ms(fastcalc_s / n),
         f"{fastcalc_s / floor_s:.2f}x the floor; {recalc_s / fastcalc_s:.0f}x faster; {calcs_differ} of {n} differ"),
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="number of workbooks (default 2000)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for generation and ingest (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the generated inbox and outputs")
    ap.add_argument("--compare-readers", action="store_true", help="time the readers and the recalculations instead")
    ap.add_argument("--sample", type=int, default=20,
                    help="files for the formulas-package and LibreOffice figures (default 20; 0 skips them)")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the fills (default 1)")
    ap.add_argument("--phases", action="store_true",
                    help="one more ingest run with timers: reading and checking vs writing the outputs")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="xltool-bench-"))
    try:
        (compare_readers if args.compare_readers else full_run)(args, scratch)
    finally:
        if args.keep:
            print(f"\nkept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
