"""The bad-file corpus (scripts/make_corpus.py), ingested once as a whole: every file gets its
expected verdict, the run completes in bounded time and memory, and the inbox is never touched.

The corpus is built into a temporary folder; `xltool ingest` runs on it once, in a subprocess
(`python -m xltool.cli ingest ... --json --jobs 2 --timeout 20`) under a hard 300 s limit, while
the memory of its whole process tree (parent + workers) is sampled from /proc.
What each file must get is tests/corpus_expected.py's table (the script only builds files). Files
listed in its KNOWN_DEFECTS carry what xltool should say and does not say yet: they are strict xfails,
so a fix makes them fail until the marker is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from corpus_expected import EXPECTED, KNOWN_DEFECTS

ROOT = Path(__file__).resolve().parents[2]
INGEST_TIMEOUT_S = 300
MEMORY_LIMIT_MB = 300
TIME_BIN = "/usr/bin/time"      # GNU time (Debian package `time`); optional, /proc is enough


# --------------------------------------------------------------------------- the one run

@dataclass
class Memory:
    samples: int = 0
    tree_rss_kb: int = 0        # peak of the summed RSS (shared copy-on-write pages counted once per process)
    tree_pss_kb: int | None = None   # peak of the summed PSS (shared pages split between the processes)
    process_hwm_kb: int = 0     # the largest single process (kernel high-water mark)
    time_maxrss_kb: int | None = None  # GNU time's figure: the largest single process, exact
    pids: set[int] = field(default_factory=set)

    def mb(self, kb: int | None) -> str:
        return "n/a" if kb is None else f"{kb / 1024:.0f} MB"


@dataclass
class Run:
    inbox: Path
    out: Path
    expected: dict[str, dict]
    made: str                   # what make_corpus.py printed (how the real .xls / encrypted files were made)
    build_s: float
    ingest_s: float
    returncode: int
    stderr: str
    report: dict
    files: dict[str, dict]
    before: dict[str, tuple]
    after: dict[str, tuple]
    memory: Memory


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("corpus")
    inbox, out = root / "inbox", root / "out"
    started = time.perf_counter()
    built = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), str(inbox)],
                           check=True, cwd=ROOT, timeout=240, capture_output=True, text=True)
    build_s = time.perf_counter() - started
    made = built.stdout.strip()
    on_disk = set(built_entries(inbox))
    unknown = on_disk - set(EXPECTED)
    assert not unknown, f"files the expectation table (tests/corpus_expected.py) does not know: {sorted(unknown)}"
    missing = {rel for rel, e in EXPECTED.items() if rel not in on_disk and "optional" not in e}
    assert not missing, f"files the table expects but make_corpus.py did not build: {sorted(missing)}"
    expected = {rel: e for rel, e in EXPECTED.items() if rel in on_disk}
    before = snapshot(inbox)
    started = time.perf_counter()
    returncode, stdout, stderr, memory = run_measured(
        [sys.executable, "-m", "xltool.cli", "ingest", str(inbox), "--out", str(out), "--json",
         "--jobs", "2", "--timeout", "20"], root)
    ingest_s = time.perf_counter() - started
    after = snapshot(inbox)
    report = json.loads((out / "run.json").read_text(encoding="utf-8")) if (out / "run.json").is_file() else {}
    if stdout.strip():
        assert json.loads(stdout) == report, "--json output and run.json differ"
    files = {entry["path"]: entry for entry in report.get("files", [])}
    return Run(inbox, out, expected, made, build_s, ingest_s, returncode, stderr, report, files, before, after, memory)


def built_entries(inbox: Path) -> list[str]:
    """Every file, link and special file the corpus script made (links not followed)."""
    found = []
    for folder, dirs, files in os.walk(inbox, followlinks=False):
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            found.append((Path(folder) / name).relative_to(inbox).as_posix())
    return found


def run_measured(cmd: list[str], workdir: Path) -> tuple[int, str, str, Memory]:
    """Run cmd (in its own process group) to completion or INGEST_TIMEOUT_S, sampling its tree's memory."""
    memory = Memory()
    time_file = workdir / "time.txt"
    if os.access(TIME_BIN, os.X_OK):
        cmd = [TIME_BIN, "-v", "-o", str(time_file), *cmd]
    stdout_path, stderr_path = workdir / "stdout.json", workdir / "stderr.txt"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=workdir, start_new_session=True)
        deadline = time.monotonic() + INGEST_TIMEOUT_S
        try:
            while proc.poll() is None:
                sample(proc.pid, memory)
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    pytest.fail(f"ingest did not finish within {INGEST_TIMEOUT_S} s")
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if time_file.is_file():
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
        memory.time_maxrss_kb = int(found.group(1)) if found else None
    return (proc.returncode, stdout_path.read_text(encoding="utf-8"),
            stderr_path.read_text(encoding="utf-8", errors="replace"), memory)


def sample(root_pid: int, memory: Memory) -> None:
    """One sample of the process tree under root_pid, from /proc (Linux)."""
    rss = pss = 0
    pss_known = True
    for pid in descendants(root_pid):
        status = _read(f"/proc/{pid}/status")
        if status is None:
            continue
        memory.pids.add(pid)
        rss += _kb(status, "VmRSS")
        memory.process_hwm_kb = max(memory.process_hwm_kb, _kb(status, "VmHWM"))
        rollup = _read(f"/proc/{pid}/smaps_rollup")
        if rollup is None:
            pss_known = False
        else:
            pss += _kb(rollup, "Pss")
    memory.samples += 1
    memory.tree_rss_kb = max(memory.tree_rss_kb, rss)
    if pss_known:
        memory.tree_pss_kb = max(memory.tree_pss_kb or 0, pss)


def descendants(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        text = _read(f"/proc/{name}/stat")
        if text is None:
            continue
        try:
            ppid = int(text[text.rindex(")") + 2:].split()[1])
        except (ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, i = [root_pid], 0
    while i < len(found):
        found.extend(children.get(found[i], []))
        i += 1
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _kb(text: str, key: str) -> int:
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else 0


def snapshot(inbox: Path) -> dict[str, tuple]:
    """Every entry under the inbox without following links or opening FIFOs: type, size, mtime,
    and the content hash of regular files (the link text of symlinks)."""
    state = {}
    for folder, dirs, files in os.walk(inbox, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(inbox).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                state[rel] = ("file", st.st_size, st.st_mtime_ns, _sha256(path))
            else:
                state[rel] = (stat.filemode(st.st_mode)[0], st.st_mtime_ns)
    return state


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verdict_problem(rel: str, expected: dict, files: dict[str, dict]) -> str | None:
    entry = files.get(rel)
    if entry is None:
        return f"{rel}: not in run.json (expected {expected['status']} {expected['codes']})"
    codes = [f["code"] for f in entry["findings"]]
    missing = [c for c in expected["codes"] if c not in codes]
    if entry["status"] != expected["status"] or missing:
        return f"{rel}: {entry['status']} {codes}; expected {expected['status']} with {expected['codes']}"
    if expected.get("exact") and sorted(set(codes)) != sorted(expected["codes"]):
        return f"{rel}: findings {codes}; expected exactly {expected['codes']}"
    return None


# --------------------------------------------------------------------------- tests

def test_the_run_completes(corpus: Run) -> None:
    print(f"\n{corpus.made}\ncorpus built in {corpus.build_s:.1f} s; "
          f"ingest --jobs 2 --timeout 20: {corpus.ingest_s:.1f} s, exit {corpus.returncode}, "
          f"stats {corpus.report.get('stats', {}).get('accepted')} accepted / "
          f"{corpus.report.get('stats', {}).get('rejected')} rejected / {corpus.report.get('stats', {}).get('skipped')} skipped")
    assert corpus.returncode == 1, corpus.stderr[-3000:]      # some files are rejected; no usage error, no crash
    assert corpus.report["stats"]["files"] == len(corpus.files)
    assert not any(f["code"] in ("file-timeout", "worker-crashed", "memory-limit", "unreadable")
                   for entry in corpus.files.values() for f in entry["findings"]
                   if entry["path"] not in KNOWN_DEFECTS), \
        [(p, [f["code"] for f in e["findings"]]) for p, e in corpus.files.items()]


def test_every_file_gets_its_expected_verdict(corpus: Run) -> None:
    problems = [problem for rel, expected in corpus.expected.items() if "known_defect" not in expected
                if (problem := verdict_problem(rel, expected, corpus.files))]
    assert not problems, "\n".join(problems)


def test_every_file_in_the_inbox_is_in_the_run_report(corpus: Run) -> None:
    on_disk = set()
    for folder, _dirs, files in os.walk(corpus.inbox, followlinks=False):
        for name in files:
            on_disk.add((Path(folder) / name).relative_to(corpus.inbox).as_posix())
    assert on_disk - set(corpus.files) - set(KNOWN_DEFECTS) == set()
    assert set(corpus.files) - set(corpus.expected) == set()    # nothing the corpus does not know about
    listed = {rel for rel, e in corpus.expected.items() if "known_defect" not in e}
    assert listed - set(corpus.files) == set()


def test_outputs_are_written_for_every_verdict(corpus: Run) -> None:
    for rel, entry in corpus.files.items():
        if entry["status"] == "skipped":
            assert entry["json"] is None, rel
            continue
        doc = json.loads((corpus.out / entry["json"]).read_text(encoding="utf-8"))
        assert doc["status"] == entry["status"] and doc["source"]["sha256"] == entry["sha256"], rel
        if entry["status"] == "accepted":
            assert doc["values"], rel
    assert (corpus.out / "ledger.sqlite").is_file()


def test_the_inbox_is_unchanged(corpus: Run) -> None:
    assert corpus.before == corpus.after


def test_the_corpus_has_at_least_30_kinds_of_bad_file(corpus: Run) -> None:
    kinds = {e["kind"] for e in corpus.expected.values()}
    bad = {e["kind"] for e in corpus.expected.values() if e["status"] != "accepted" or e["codes"]}
    print(f"\n{len(kinds)} kinds, {len(bad)} of them bad")
    assert len(bad) >= 30
    assert {"rejected", "accepted", "skipped"} <= {e["status"] for e in corpus.expected.values()}


def test_peak_memory_of_the_ingest(corpus: Run) -> None:
    m = corpus.memory
    if m.samples == 0:
        pytest.skip("no /proc to sample the process tree")
    print(f"\npeak memory of ingest (parent + 2 workers, {m.samples} samples, {len(m.pids)} processes): "
          f"PSS {m.mb(m.tree_pss_kb)} (shared pages split), RSS sum {m.mb(m.tree_rss_kb)} "
          f"(shared copy-on-write pages counted in every process); largest single process "
          f"{m.mb(m.process_hwm_kb)} (/usr/bin/time: {m.mb(m.time_maxrss_kb)})")
    tree = m.tree_pss_kb if m.tree_pss_kb is not None else m.tree_rss_kb
    assert tree < MEMORY_LIMIT_MB * 1024
    assert max(m.process_hwm_kb, m.time_maxrss_kb or 0) < MEMORY_LIMIT_MB * 1024


# --------------------------------------------------------------------------- a file the corpus cannot hold

def test_a_file_name_that_is_not_utf8_does_not_stop_the_run(tmp_path: Path) -> None:
    # Not in the corpus: a name that is not UTF-8 would also be in every other test's run report.
    from xltool.form.forms import get_spec
    from xltool.generate.synth import random_inputs
    from xltool.generate.writer import Agency, WriteOptions, write_workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spec = get_spec("govinfo-annual-2021")
    good = tmp_path / "good.xlsx"
    write_workbook(spec, good, Agency("语料编码局", 2024), WriteOptions(values=random_inputs(spec.layout, random.Random(5))))
    shutil.copyfile(good, os.path.join(os.fsencode(inbox), "语料编码局_报表.xlsx".encode("gbk")))
    proc = subprocess.run([sys.executable, "-m", "xltool.cli", "ingest", str(inbox), "--out", str(tmp_path / "out"),
                           "--json", "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [entry] = json.loads(proc.stdout)["files"]
    assert entry["status"] == "accepted" and entry["agency"] == "语料编码局"
