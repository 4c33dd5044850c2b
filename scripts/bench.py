"""Benchmark `xltool ingest` against the least a correct reader must do, on files a spreadsheet program saved.

Usage (from the repository root):

    python scripts/bench.py                       # 2000 files, --jobs 2, medians of 3
    python scripts/bench.py --n 200 --skip-libreoffice --skip-formulas
    python scripts/bench.py --json > bench.json

The inputs. Agencies send back workbooks saved by Excel, WPS or LibreOffice, never the raw
xlsxwriter output `xltool generate` writes. So the corpus starts from filled workbooks of both
form versions (govinfo-annual-2019 and -2021) written by `xltool.write`, re-saved by LibreOffice
(one `soffice --convert-to xlsx` process for the whole base set). LibreOffice costs ~0.2 s a
file, so the N files are then made from that base set by editing the LibreOffice-saved sheet XML
directly: new values in every numeric input (`<c r="D7" ...><v>12</v></c>`), the formula cells'
cached results and the check cells recomputed from them as a spreadsheet would, a distinct agency
name in the shared strings, re-zipped with the base's member order, dates and compression. About
one in five (--rejected-share) is one a clerk got wrong: a total typed over (formula gone, sheet
protection removed), text typed into a number cell, or an identity broken (an unbalanced table 三).
The corpus is cached under --cache (default ~/.cache/xltool-bench), keyed by its parameters,
the xltool version and the forms' layout fingerprints; only the first run needs LibreOffice
(24 files, a few seconds).

What is measured, on the same files, interleaved (floor, then the ingest runs, --repeats times;
medians reported):

  ingest        `xltool ingest INBOX --out OUT --jobs J` into a fresh OUT, timed as a subprocess
                (start-up, reading, checking, JSON, feedback workbooks, summary and report included).
                INBOX (a copy of the corpus) and OUT are in a new folder under --scratch (default:
                --cache), as a coordinator's are in a working folder. The report says what creating
                a 10 KB file costs there and in the system's temp folder: ingest creates one or two
                files per return and the floor none, so a filesystem slow at it weighs on ingest
                alone. Nothing is deleted before the run ends: here, for a minute or more after
                thousands of files are deleted, making a file took 0.5-1.1 ms instead of 0.05-0.15.
                So the bench first waits (up to 2 minutes) until making a file is quick again;
  floor         the minimal correct read, in one process: each file's bytes from disk, the zip
                opened from them, [Content_Types].xml, xl/workbook.xml, its rels, the shared strings
                and every sheet (the form's sheets and the hidden _xltool sheet) parsed, every
                cell's value resolved. No checking, no output. The parser (xml.etree or lxml) is
                whichever is faster here. "floor / J" is that time spread ideally over J cores.
                ingest must do at least this much per file (it reads the same parts, and checks,
                writes JSON and reports besides), so ingest / (floor / J) is its overhead factor;
  floor, J processes  the same read split over J forked processes, timed: what J cores really give
                at the moment (on a shared machine, often well short of J times one);
  re-run        ingest again into the same OUT with nothing changed, and with 1% of the inbox's
                files given new content (the ledger should only redo those);
  memory        one more (untimed) ingest run with /proc polled: the peak RSS (VmHWM) of the
                parent process and of each worker process, separately; then the parent's peak in
                a re-run of it with nothing changed (all N verdicts read back from the ledger);
  generate      `xltool generate govinfo-annual-2021 --roster R.csv --year 2024 -o DIR` for a roster of
                2,000 agencies (N if fewer), with --jobs J: in all and per workbook;
  start-up      `xltool --help`.

Two fair comparison rows (sampled, skippable; each ratio against the floor of its own sample,
timed right after it, median of 3):

  formulas      the `formulas` package with ONE model compiled from a LibreOffice-saved base and
                reused for every file: per file the floor read plus `model.calculate(inputs)`;
                the compile is reported separately, not charged per file;
  LibreOffice   ONE long-lived headless soffice (tests/libreoffice.py, UNO) opening each file and
                recalculating everything (calculateAll, nothing saved): the per-file cost is the
                difference between a batch of k files and a batch of 1, so neither soffice's
                start-up nor the UNO connection is charged to the files (nor is reading the results
                back, which a real check would need: the row flatters LibreOffice).

ingest and generate are driven only through the CLI (`xltool ...` subprocesses); xltool's
internals are imported only to build the inputs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from xltool import __version__ as XLTOOL_VERSION
from xltool.calc.model import model_for
from xltool.form.forms import get_spec
from xltool.form.layout import CHECK_BAD, CHECK_OK
from xltool.generate.synth import random_inputs
from xltool.generate.writer import Agency, WriteOptions, write_workbook

ROOT = Path(__file__).resolve().parent.parent
FORMS = ("govinfo-annual-2019", "govinfo-annual-2021")
YEARS = {"govinfo-annual-2019": 2020, "govinfo-annual-2021": 2024}   # a year each version is for
CORPUS_FORMAT = 2            # bump when the way files are made changes (invalidates the cache)
BASES_PER_FORM = 12
REJECTED_KINDS = ("typed_total", "text", "unbalanced")
TEXT_TYPOS = ("12件", "１２", "约30", "三", "5 ", "-")
AGENCY_KINDS = ("教育局", "卫生健康委员会", "司法局", "财政局", "民政局", "自然资源局", "生态环境局",
                "住房和城乡建设局", "交通运输局", "农业农村局", "商务局", "文化和旅游局", "人民政府办公室",
                "市场监督管理局", "统计局", "医疗保障局", "街道办事处", "乡人民政府")
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def find_soffice() -> str | None:
    return os.environ.get("XLTOOL_SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")


# --- building the corpus: a LibreOffice-saved base set ------------------------------------------

def placeholder(form: str, k: int) -> str:
    """The base's agency name, replaced in every file made from it (unique inside the package)."""
    return f"占位单位{form[-4:]}号{k:02d}"


def make_bases(folder: Path, seed: int) -> None:
    """BASES_PER_FORM filled workbooks per version, written by xltool, re-saved by one soffice run."""
    soffice = find_soffice()
    if not soffice:
        sys.exit("LibreOffice (soffice) is needed once to build the corpus: its files are the base set")
    raw = folder / "raw"
    raw.mkdir(parents=True)
    rng = random.Random(seed)
    for form in FORMS:
        spec = get_spec(form)
        for k in range(BASES_PER_FORM):
            values = random_inputs(spec.layout, rng, high=rng.choice([20, 200, 5000]))
            for cell in spec.layout.inputs():   # text parts, so the shared strings hold a clerk's prose
                if cell.type.kind == "longtext" and not cell.role:
                    values[cell.id] = "本年度认真贯彻落实政府信息公开条例，" * rng.randint(1, 6)
            write_workbook(spec, raw / f"{form}-{k:02d}.xlsx", Agency(placeholder(form, k), YEARS[form], "某市"),
                           WriteOptions(values=values))
    saved = folder / "libreoffice"
    with tempfile.TemporaryDirectory() as profile:
        t = time.perf_counter()
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "xlsx:Calc Office Open XML", "--outdir", str(saved),
                        *sorted(map(str, raw.iterdir()))], check=True, capture_output=True, timeout=1800)
    log(f"  LibreOffice re-saved {2 * BASES_PER_FORM} base workbooks in {time.perf_counter() - t:.1f} s")
    shutil.rmtree(raw)


@dataclass
class Base:
    """One LibreOffice-saved workbook, split into its zip members, with where each cell id lives."""
    form: str
    agency: str                    # the placeholder name
    agency_si: str                 # its <si> in the shared strings (LibreOffice may split it into runs)
    infos: list[zipfile.ZipInfo]
    parts: dict[str, bytes]
    part_of: dict[str, str] = field(default_factory=dict)     # sheet name -> zip member


def load_base(path: Path, form: str, k: int) -> Base:
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
        infos = z.infolist()
    name = placeholder(form, k)
    si = next(m.group(0) for m in re.finditer(r"<si>.*?</si>", parts["xl/sharedStrings.xml"].decode(), re.DOTALL)
              if "".join(re.findall(r"<t[^>]*>(.*?)</t>", m.group(0), re.DOTALL)) == name)
    base = Base(form, name, si, infos, parts)
    sheets, _ = package_parts(base.parts.__getitem__)
    base.part_of = dict(sheets)
    return base


def package_parts(read) -> tuple[list[tuple[str, str]], str | None]:
    """([(sheet name, zip member)] in workbook order, the shared strings' member), found through
    [Content_Types].xml, the workbook and its rels, as a reader must (part names are not fixed)."""
    ct = ET.fromstring(read("[Content_Types].xml"))
    wb_part = next(o.get("PartName") for o in ct.iter(f"{{{NS_CT}}}Override") if o.get("ContentType") == WORKBOOK_TYPE)
    wb_part = wb_part.lstrip("/")
    folder, name = wb_part.rsplit("/", 1)
    rels = ET.fromstring(read(f"{folder}/_rels/{name}.rels"))

    def member(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"

    target, sst = {}, None
    for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship"):
        target[r.get("Id")] = r.get("Target")
        if r.get("Type", "").endswith("/sharedStrings"):
            sst = member(r.get("Target"))
    wb = ET.fromstring(read(wb_part))
    sheets = [(s.get("name"), member(target[s.get(f"{{{NS_REL}}}id")])) for s in wb.iter(f"{{{NS_MAIN}}}sheet")]
    return sheets, sst


# --- building the corpus: N files edited from the base set --------------------------------------

_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.DOTALL)
_FORMULA = re.compile(r"<f[ >].*?</f>|<f/>", re.DOTALL)


def number_text(v) -> str:
    if isinstance(v, Decimal):
        v = v.normalize()
        return format(v, "f")
    return repr(v) if isinstance(v, float) else str(v)


def set_cells(xml: str, edits: dict[str, tuple[str, str | None, str]]) -> str:
    """Rewrite cells in sheet XML: ref -> (t attribute, formula XML or None to keep / '' to drop, <v> text)."""
    def sub(m: re.Match) -> str:
        ref = m.group(1)
        if ref not in edits:
            return m.group(0)
        t, formula, value = edits[ref]
        attrs = re.sub(r'\s+t="[^"]*"', "", m.group(2))
        if formula is None:
            found = _FORMULA.search(m.group(3) or "")
            formula = found.group(0) if found else ""
        return f'<c r="{ref}"{attrs} t="{t}">{formula}<v>{escape(value)}</v></c>'
    return _CELL.sub(sub, xml)


def add_shared_string(sst: str, text: str) -> tuple[str, int]:
    """Append a string to sharedStrings.xml the way LibreOffice writes one; returns (xml, its index)."""
    index = sst.count("<si>")
    sst = sst.replace("</sst>", f"<si><t xml:space=\"preserve\">{escape(text)}</t></si></sst>")
    sst = re.sub(r'count="\d+"', lambda m: f'count="{int(m.group(0)[7:-1]) + 1}"', sst, count=1)
    sst = re.sub(r'uniqueCount="\d+"', f'uniqueCount="{index + 1}"', sst, count=1)
    return sst, index


def make_variant(base: Base, agency: str, kind: str, rng: random.Random) -> bytes:
    """A new file from a base: new inputs, recomputed cached results, a new agency; a clerk's mistake by kind."""
    layout = get_spec(base.form).layout
    model = model_for(layout)
    values = random_inputs(layout, rng, high=rng.choice([10, 50, 200, 5000]), balanced=kind != "unbalanced")
    numeric = [c for c in layout.inputs() if c.type.numeric and not c.role and c.id in values]
    texts: dict[str, str] = {}
    if kind == "text":      # pasted past the validation: LibreOffice keeps it as a string; SUM skips it
        cell = rng.choice(numeric)
        texts[cell.id] = rng.choice(TEXT_TYPOS)
        del values[cell.id]
    computed = model.evaluate(values)
    typed_over: dict[str, int | Decimal] = {}
    if kind == "typed_total":   # protection removed, a total typed over (its formula is gone)
        cell = rng.choice([c for c in layout.computed() if c.table == "t3"] or layout.computed())
        typed_over[cell.id] = computed[cell.id] + rng.randint(1, 9)
    checks = {(r.check.sheet, r.check.a1): r.ok for r in model.run_checks({**values, **computed, **typed_over})}

    parts = dict(base.parts)
    sst_name = "xl/sharedStrings.xml"
    sst = parts[sst_name].decode().replace(base.agency_si, f'<si><t xml:space="preserve">{escape(agency)}</t></si>')
    edits: dict[str, dict[str, tuple]] = {}
    for cid, v in values.items():
        cell = layout.cells[cid]
        edits.setdefault(cell.sheet, {})[cell.a1] = ("n", None, number_text(v))
    for cid, v in computed.items():
        cell = layout.cells[cid]
        edits.setdefault(cell.sheet, {})[cell.a1] = ("n", None, number_text(v))
    for cid, v in typed_over.items():
        cell = layout.cells[cid]
        edits[cell.sheet][cell.a1] = ("n", "", number_text(v))
    for cid, text in texts.items():
        cell = layout.cells[cid]
        sst, index = add_shared_string(sst, text)
        edits.setdefault(cell.sheet, {})[cell.a1] = ("s", "", str(index))
    for (sheet, ref), ok in checks.items():
        edits.setdefault(sheet, {})[ref] = ("str", None, CHECK_OK if ok else CHECK_BAD)
    parts[sst_name] = sst.encode()
    for sheet, cells in edits.items():
        member = base.part_of[sheet]
        xml = set_cells(parts[member].decode(), cells)
        if any(layout.cells[c].sheet == sheet for c in typed_over):
            xml = re.sub(r"<sheetProtection[^>]*/>", "", xml)
        parts[member] = xml.encode()
    for name in ("docProps/core.xml", "docProps/app.xml"):
        if name in parts:
            parts[name] = parts[name].replace(base.agency.encode(), agency.encode())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in base.infos:     # same order, dates and compression as LibreOffice wrote them
            z.writestr(info, parts[info.filename])
    return buf.getvalue()


def agency_name(i: int) -> str:
    return f"基准{i:05d}{AGENCY_KINDS[i % len(AGENCY_KINDS)]}"


def build_corpus(folder: Path, bases_dir: Path, n: int, rejected_share: float, seed: int) -> None:
    """N inbox files plus 1% alternates (new content for the same names, for the re-run)."""
    bases = {form: [load_base(bases_dir / "libreoffice" / f"{form}-{k:02d}.xlsx", form, k)
                    for k in range(BASES_PER_FORM)] for form in FORMS}
    rng = random.Random(seed)
    manifest = {"files": {}, "alternates": {}}
    (folder / "inbox").mkdir(parents=True)
    (folder / "alt").mkdir()
    n_alt = max(1, math.ceil(n / 100))
    for i in range(n + n_alt):
        form = FORMS[i % 2]
        kind = rng.choice(REJECTED_KINDS) if rng.random() < rejected_share else "valid"
        agency = agency_name(i if i < n else i - n)   # an alternate is a later return of an inbox agency
        name = f"{agency}_{YEARS[form]}.xlsx"
        if i >= n:  # the alternate replaces file i - n: same name, so same form version
            form = FORMS[(i - n) % 2]
            name = f"{agency}_{YEARS[form]}.xlsx"
        data = make_variant(rng.choice(bases[form]), agency, kind, rng)
        target = folder / ("inbox" if i < n else "alt") / name
        target.write_bytes(data)
        (manifest["files"] if i < n else manifest["alternates"])[name] = {"form": form, "kind": kind}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def corpus_dirs(cache: Path, n: int, rejected_share: float, seed: int) -> tuple[Path, Path]:
    """(base set folder, corpus folder) for these parameters, named by a hash of them."""
    def keyed(prefix: str, params: dict) -> Path:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
        return cache / f"{prefix}-{digest}"

    common = {"format": CORPUS_FORMAT, "xltool": XLTOOL_VERSION, "seed": seed, "bases": BASES_PER_FORM,
              "layouts": [get_spec(form).layout.fingerprint for form in FORMS]}
    return keyed("bases", common), keyed("corpus", {**common, "n": n, "rejected_share": rejected_share})


def settle(built: Path, target: Path) -> None:
    """Move a finished build into place; a concurrent run that got there first wins."""
    try:
        built.rename(target)
    except OSError:
        if not target.exists():
            raise
        shutil.rmtree(built, ignore_errors=True)


def cached_corpus(cache: Path, n: int, rejected_share: float, seed: int) -> tuple[Path, Path]:
    """The base set and corpus folders, each built (once) if missing."""
    cache.mkdir(parents=True, exist_ok=True)
    bases_dir, corpus = corpus_dirs(cache, n, rejected_share, seed)
    if not (bases_dir / "libreoffice").exists():
        log(f"building the LibreOffice base set in {bases_dir}")
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix="tmp-bases-"))
        make_bases(tmp, seed)
        settle(tmp, bases_dir)
    if not (corpus / "manifest.json").exists():
        log(f"building {n} files in {corpus}")
        t = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix="tmp-corpus-"))
        build_corpus(tmp, bases_dir, n, rejected_share, seed)
        settle(tmp, corpus)
        log(f"  built in {time.perf_counter() - t:.1f} s")
    return bases_dir, corpus


# --- the floor ------------------------------------------------------------------------------------

def floor_read(data: bytes, etree) -> dict[str, list]:
    """The least a correct reader does: every sheet's cells with their values resolved."""
    z = zipfile.ZipFile(io.BytesIO(data))
    sheets, sst_member = package_parts(z.read)          # [Content_Types].xml, workbook.xml, its rels
    m = f"{{{NS_MAIN}}}"
    c_tag, v_tag, t_tag, si_tag, run_t = m + "c", m + "v", m + "t", m + "si", f"{m}r/{m}t"
    sst = []
    if sst_member:
        for si in etree.fromstring(z.read(sst_member)).iter(si_tag):
            t = si.find(t_tag)      # plain text, or rich-text runs (phonetic runs are not the text)
            sst.append(t.text or "" if t is not None else "".join(x.text or "" for x in si.iterfind(run_t)))
    out = {}
    for name, member in sheets:
        cells = []
        for c in etree.fromstring(z.read(member)).iter(c_tag):
            t, v = c.get("t"), c.findtext(v_tag)
            if t == "s":
                v = sst[int(v)]
            elif t == "inlineStr":
                v = "".join(x.text or "" for x in c.iter(t_tag))
            elif v is not None and t in (None, "n"):
                v = float(v)
            cells.append((c.get("r"), v))
        out[name] = cells
    return out


def parsers() -> dict:
    found = {"xml.etree": ET}
    with contextlib.suppress(ImportError):
        from lxml import etree
        found["lxml"] = etree
    return found


def time_floor(files: list[Path], etree) -> float:
    start = time.perf_counter()
    for path in files:
        floor_read(path.read_bytes(), etree)
    return time.perf_counter() - start


def time_floor_parallel(files: list[Path], etree, jobs: int) -> float:
    """The floor read of the same files split over `jobs` forked processes (every jobs-th file each):
    what `jobs` cores of this machine really give at the moment, which on a shared machine can be
    far from `jobs` times one."""
    start = time.perf_counter()
    pids = []
    for j in range(jobs):
        pid = os.fork()
        if pid == 0:   # the child: read its share, leave without running the parent's handlers
            code = 1
            try:
                for path in files[j::jobs]:
                    floor_read(path.read_bytes(), etree)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    failed = [pid for pid in pids if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} floor process(es) failed")
    return time.perf_counter() - start


def pick_parser(files: list[Path]) -> tuple[str, object]:
    """The faster of xml.etree and lxml on these files (both must read them the same)."""
    sample = files[:50]
    options = parsers()
    if len(options) > 1:
        a, b = (floor_read(sample[0].read_bytes(), p) for p in options.values())
        assert a == b, "xml.etree and lxml read a file differently"
    best = {name: min(time_floor(sample, p) for _ in range(3)) for name, p in options.items()}
    name = min(best, key=best.get)
    return name, options[name]


# --- running xltool -------------------------------------------------------------------------------

def xltool_command() -> list[str]:
    """The console script next to this interpreter (not a pyenv shim, whose start-up is not xltool's)."""
    exe = Path(sys.executable).with_name("xltool")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from xltool.cli import main; main()"]


def timed(cmd: list[str], ok=(0,)) -> float:
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if run.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return seconds


def ingest_cmd(inbox: Path, out: Path, jobs: int) -> list[str]:
    return [*xltool_command(), "ingest", str(inbox), "--out", str(out), "--jobs", str(jobs)]


def time_ingest(inbox: Path, out: Path, jobs: int) -> float:
    """Seconds of one `xltool ingest` (exit 1 = some file rejected, expected)."""
    return timed(ingest_cmd(inbox, out, jobs), ok=(0, 1))


def ingest_stats(out: Path) -> dict:
    return json.loads((out / "run.json").read_text(encoding="utf-8")).get("stats", {})


def swap_in(inbox: Path, alternates: list[Path]) -> dict[Path, bytes]:
    """Give 1% of the inbox's files new content; returns what to restore."""
    saved = {}
    for alt in alternates:
        target = inbox / alt.name
        saved[target] = target.read_bytes()
        target.write_bytes(alt.read_bytes())
    return saved


def time_rerun_changed(inbox: Path, out: Path, jobs: int, alternates: list[Path]) -> float:
    saved = swap_in(inbox, alternates)
    try:
        return time_ingest(inbox, out, jobs)
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


# --- memory ---------------------------------------------------------------------------------------

def _status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _children_map() -> dict[int, int]:
    """pid -> parent pid, for every process in /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    return parents


_SELF_PEAK = """
import atexit, sys
from xltool.cli import main
peak_file = sys.argv.pop(1)
def report():
    with open("/proc/self/status") as status, open(peak_file, "w") as fh:
        fh.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report)
main()
"""   # `xltool ARGS`, telling at its exit its own peak RSS: VmHWM, which starts afresh at exec (getrusage's
#       ru_maxrss would keep the benchmark's own size, inherited through the fork), and counts no child's pages


def measure_memory(inbox: Path, out: Path, jobs: int, interval: float = 0.02) -> dict:
    """Peak RSS of the ingest process itself (its VmHWM, read by itself at its exit) and of each
    descendant (VmHWM, polling /proc), in an untimed run."""
    peak_file = out.parent / "parent-peak-kb"
    cmd = [sys.executable, "-c", _SELF_PEAK, str(peak_file), "ingest", str(inbox), "--out", str(out), "--jobs", str(jobs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    done = threading.Event()

    def poll():
        while not done.is_set():
            parents = _children_map()
            tree, frontier = set(), {proc.pid}
            while frontier:
                tree |= frontier
                frontier = {p for p, pp in parents.items() if pp in frontier} - tree
            for pid in tree - {proc.pid}:
                hwm = _status_kb(pid, "VmHWM:")
                if hwm:
                    peaks[pid] = max(peaks.get(pid, 0), hwm)
            time.sleep(interval)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    proc.wait()
    done.set()
    poller.join()
    parent = int(peak_file.read_text()) if peak_file.exists() else 0
    return {"parent_mb": parent / 1024, "worker_max_mb": max(peaks.values(), default=0) / 1024,
            "workers_seen": len(peaks), "workers_sum_mb": sum(peaks.values()) / 1024}


# --- generate and start-up ------------------------------------------------------------------------

def has_option(command: str, option: str) -> bool:
    """Whether `xltool COMMAND --help` lists an option (the CLI is being reorganised in parallel)."""
    run = subprocess.run([*xltool_command(), command, "--help"], capture_output=True, text=True, check=False,
                         env={**os.environ, "COLUMNS": "200"})
    return option in run.stdout


GENERATE_ROWS = 2000   # the roster size issue 11 names: under 10 s with --jobs 2


def time_generate(scratch: Path, count: int, repeats: int, jobs: int) -> tuple[float, int]:
    """Median seconds of `xltool generate --roster` for `count` agencies (with --jobs if it has one)."""
    roster = scratch / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位名称", "地区"])
        for i in range(count):
            w.writerow([agency_name(i), "某市"])
    extra = ["--jobs", str(jobs)] if has_option("generate", "--jobs") else []
    times = []
    for r in range(repeats):
        target = scratch / f"generated-{r}"
        times.append(timed([*xltool_command(), "generate", "govinfo-annual-2021", "--roster", str(roster),
                            "--year", "2024", "-o", str(target), *extra]))
        # kept until the run ends, as every OUT is (see wait_for_quick_disk)
    return statistics.median(times), count


def file_creation_ms(folder: Path, count: int = 200) -> float:
    """What creating and writing a 10 KB file (an ingest's JSON) costs in a new subfolder of
    `folder`, as ingest's OUT is: ingest makes one or two files per return, the floor none."""
    probe = Path(tempfile.mkdtemp(dir=folder, prefix="probe-"))
    chunk = b"x" * 10_000
    try:
        start = time.perf_counter()
        for i in range(count):
            fd = os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, chunk)
            os.close(fd)
        return (time.perf_counter() - start) / count * 1e3
    finally:
        shutil.rmtree(probe, ignore_errors=True)


# making a 10 KB file takes 0.025-0.06 ms on this machine's disk when it is settled (0.05-0.15 on busier days);
# 0.2 ms, which 0.3 let through, charged a 10,000-file ingest some 2 s for its 12,000 new files
SETTLED_MS = 0.1
SETTLE_WAIT_S = 180


def wait_for_quick_disk(folder: Path) -> tuple[float, float]:
    """Wait (up to SETTLE_WAIT_S) until making a file in `folder` is as quick as usual; (seconds
    waited, the last cost measured in ms).

    On this machine's ext4 (mounted with `discard`), for a minute or more after thousands of files
    are deleted, making and writing a file takes 0.2-1.1 ms instead of 0.025-0.15. Ingest makes one
    or two files per return and the floor none, so a run started right after another deleted its
    files charged its ingest for the disk's clean-up. For the same reason nothing the bench writes
    (each repeat's OUT, each generate's folder) is deleted before the run ends: the scratch folder
    needs room for them all (some 70 MB per 1,000 files and ingest run, --repeats + 1 runs)."""
    start = time.monotonic()
    cost = file_creation_ms(folder)
    while cost > SETTLED_MS and time.monotonic() - start < SETTLE_WAIT_S:
        time.sleep(5)
        cost = file_creation_ms(folder)
    return time.monotonic() - start, cost


def time_startup(repeats: int) -> float:
    return statistics.median(timed([*xltool_command(), "--help"]) for _ in range(max(5, repeats)))


# --- the comparison rows --------------------------------------------------------------------------

def time_formulas(bases_dir: Path, files: list[Path], forms: dict[str, str], etree) -> dict | None:
    """`formulas`: one model per version compiled once; per file the floor read + calculate()."""
    try:
        import formulas
    except ImportError:
        return None
    models, compile_s = {}, 0.0
    with contextlib.redirect_stderr(io.StringIO()):    # its progress bars
        for form in FORMS:
            path = bases_dir / "libreoffice" / f"{form}-00.xlsx"
            t = time.perf_counter()
            model = formulas.ExcelModel().loads(str(path)).finish()
            compile_s += time.perf_counter() - t
            models[form] = (model, path.name.upper(), formula_cells(load_base(path, form, 0)))
        start = time.perf_counter()
        for path in files:
            model, book, computed = models[forms[path.name]]
            inputs = {}
            for sheet, cells in floor_read(path.read_bytes(), etree).items():
                prefix = f"'[{book}]{sheet.upper()}'!"
                skip = computed.get(sheet, ())
                for ref, v in cells:     # the typed values only: a formula cell's cached result would
                    if isinstance(v, float) and ref not in skip:     # replace the formula (no work)
                        inputs[prefix + ref] = v
            model.calculate(inputs=inputs)
        seconds = time.perf_counter() - start
    return {"per_file_s": seconds / len(files), "sample": len(files), "compile_s": compile_s}


def formula_cells(base: Base) -> dict[str, set[str]]:
    """Sheet name -> refs of the cells holding a formula in a base (the model computes them)."""
    return {sheet: {m.group(1) for m in _CELL.finditer(base.parts[member].decode()) if "<f" in (m.group(3) or "")}
            for sheet, member in base.part_of.items()}


def time_libreoffice(files: list[Path]) -> dict | None:
    """One long-lived soffice (UNO): per-file open + calculateAll, from a batch of k minus a batch of 1."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.libreoffice import LibreOffice, check, libreoffice_problem, type_job
    except ImportError:
        return None
    if libreoffice_problem():
        log(f"  LibreOffice row skipped: {libreoffice_problem()}")
        return None
    jobs = [type_job(path, {}, "api") for path in files]
    with LibreOffice() as lo:
        for result in lo.run(jobs[:2]):      # warm-up: soffice start, first document load
            check(result)
        t = time.perf_counter()
        check(lo.run(jobs[:1])[0])
        one = time.perf_counter() - t
        t = time.perf_counter()
        for result in lo.run(jobs):
            check(result)
        many = time.perf_counter() - t
    return {"per_file_s": (many - one) / (len(jobs) - 1), "sample": len(jobs), "batch_overhead_s": one}


# --- the run --------------------------------------------------------------------------------------

def with_floor(measure, sample: list[Path], etree) -> dict | None:
    """A comparison row with the floor of its own sample timed right after it: on a shared machine
    the load changes between rows, so its ratio is taken against a floor measured under the same load."""
    row = measure()
    if row is not None:
        row["floor_per_file_s"] = statistics.median(time_floor(sample, etree) for _ in range(3)) / len(sample)
        row["x_floor"] = row["per_file_s"] / row["floor_per_file_s"]
    return row


def measure_interleaved(inbox: Path, files: list[Path], alternates: list[Path], etree, jobs: int,
                        repeats: int, scratch: Path) -> dict:
    """Per repeat: the floor, a full ingest into a fresh OUT, a re-run with nothing changed, a re-run
    with 1% changed. Interleaved so a slow spell on the shared machine hits every row alike."""
    times: dict[str, list[float]] = {"floor": [], "floor_parallel": [], "ingest": [], "rerun_unchanged": [],
                                     "rerun_1pct_changed": []}
    stats, processed = {}, None
    for r in range(repeats):
        log(f"  repeat {r + 1}/{repeats}: floor, floor over {jobs} processes, ingest, re-run unchanged, "
            "re-run 1% changed")
        times["floor"].append(time_floor(files, etree))
        times["floor_parallel"].append(time_floor_parallel(files, etree, jobs))
        out = scratch / f"out-{r}"
        times["ingest"].append(time_ingest(inbox, out, jobs))
        stats = stats or ingest_stats(out)
        times["rerun_unchanged"].append(time_ingest(inbox, out, jobs))
        times["rerun_1pct_changed"].append(time_rerun_changed(inbox, out, jobs, alternates))
        last = ingest_stats(out)
        processed = last.get("files", 0) - last.get("unchanged", 0)
        # kept until the run ends (see wait_for_quick_disk)
    result = {key: {"seconds": statistics.median(all_), "all": all_} for key, all_ in times.items()}
    result["rerun_1pct_changed"]["processed"] = processed
    result["stats"] = {k: stats.get(k) for k in ("accepted", "rejected", "errors", "warnings")}
    return result


def compile_bytecode() -> None:
    """xltool's modules compiled to bytecode first, as `pip install` does: where
    PYTHONDONTWRITEBYTECODE is set (this machine sets it) an editable install would otherwise
    compile every module from source at each start, which no installed copy does."""
    import compileall

    import xltool

    compileall.compile_dir(str(Path(xltool.__file__).parent), quiet=1)


def run(args) -> dict:
    compile_bytecode()
    bases_dir, corpus = cached_corpus(Path(args.cache).expanduser(), args.n, args.rejected_share, args.seed)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    forms = {name: m["form"] for name, m in manifest["files"].items()}
    kinds = [m["kind"] for m in manifest["files"].values()]
    scratch_root = Path(args.scratch).expanduser() if args.scratch else Path(args.cache).expanduser()
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=scratch_root, prefix="run-"))
    log(f"  waiting until making a file in {scratch_root} is as quick as usual")
    waited, create_ms = wait_for_quick_disk(scratch_root)
    res = {"scratch": {"path": str(scratch_root), "create_ms": create_ms, "waited_s": waited,
                       "temp_path": tempfile.gettempdir(), "temp_create_ms": file_creation_ms(Path(tempfile.gettempdir()))}}
    try:
        inbox = scratch / "inbox"
        shutil.copytree(corpus / "inbox", inbox)      # the re-run edits 1% of it; the cache stays intact
        files = sorted(inbox.iterdir())
        alternates = sorted((corpus / "alt").iterdir())
        n = len(files)
        parser_name, etree = pick_parser(files)
        res.update(measure_interleaved(inbox, files, alternates, etree, args.jobs, args.repeats, scratch))
        log("  memory (one more ingest run, /proc polled)")
        res["memory"] = measure_memory(inbox, scratch / "out-memory", args.jobs)
        res["memory_rerun"] = measure_memory(inbox, scratch / "out-memory", args.jobs)   # the same OUT: nothing to redo
        log("  generate, start-up")
        generate_s, generate_count = time_generate(scratch, min(n, GENERATE_ROWS), args.repeats, args.jobs)
        res["generate"] = {"seconds": generate_s, "workbooks": generate_count}
        res["startup"] = {"seconds": time_startup(args.repeats)}
        sample = files[: min(n, args.sample)]
        res["formulas"] = None if args.skip_formulas else with_floor(
            lambda: time_formulas(bases_dir, sample, forms, etree), sample, etree)
        lo_sample = sample[: min(len(sample), 40)]
        res["libreoffice"] = None if args.skip_libreoffice else with_floor(
            lambda: time_libreoffice(lo_sample), lo_sample, etree)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    floor, ingest = res["floor"]["seconds"], res["ingest"]["seconds"]
    res["floor"]["parser"] = parser_name
    res["ingest"].update({"files_per_s": n / ingest, "x_floor": ingest / floor, "x_floor_spread": ingest / (floor / args.jobs),
                          "x_floor_parallel": ingest / res["floor_parallel"]["seconds"],
                          # each ingest run against the floor run of its own repeat: the machine's speed
                          # drifts within minutes, and a pair taken together shares the drift
                          "x_floor_paired": [i / f for i, f in zip(res["ingest"]["all"], res["floor"]["all"])]})
    res["corpus"] = {"path": str(corpus), "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
                     "mean_kb": sum(p.stat().st_size for p in (corpus / "inbox").iterdir()) / n / 1024,
                     "changed_on_rerun": len(alternates)}
    return {"n": n, "jobs": args.jobs, "cores": os.cpu_count(), "repeats": args.repeats, "xltool": XLTOOL_VERSION, **res}


def report(res: dict) -> None:
    n, jobs = res["n"], res["jobs"]
    floor, ingest = res["floor"]["seconds"], res["ingest"]["seconds"]
    spread = floor / jobs

    def ms(s: float) -> str:
        return f"{s * 1e3:8.2f} ms"

    def row(label: str, per_file: str, note: str) -> None:
        print(f"  {label:<40} {per_file:>16}  {note}")

    c = res["corpus"]
    st = res["stats"]
    print(f"{n} LibreOffice-saved files ({c['mean_kb']:.1f} KB each; made as {c['kinds']}); "
          f"ingest verdicts: {st['accepted']} accepted, {st['rejected']} rejected")
    print(f"--jobs {jobs} on {res['cores']} cores; medians of {res['repeats']} interleaved runs; "
          f"floor parser: {res['floor']['parser']}")
    sc = res["scratch"]
    print(f"inbox copy and outputs in {sc['path']}: creating a 10 KB file there takes {sc['create_ms']:.3f} ms "
          f"({sc['temp_path']}: {sc['temp_create_ms']:.3f} ms); waited {sc['waited_s']:.0f} s for it to be as quick "
          f"as usual (at most {SETTLED_MS} ms)\n")
    row("", "per file", "")
    def spread_of(key: str) -> str:
        runs = res[key]["all"]
        return f"  (runs {min(runs):.2f}-{max(runs):.2f} s)" if len(runs) > 1 else ""

    paired = res["ingest"]["x_floor_paired"]
    row("ingest, end to end", ms(ingest / n),
        f"{n / ingest:7.1f} files/s  {ingest:7.2f} s  {ingest / floor:.2f}x floor, {ingest / spread:.2f}x floor/{jobs}"
        + spread_of("ingest")
        + (f"; each run over its own repeat's floor {min(paired):.2f}-{max(paired):.2f}x" if len(paired) > 1 else ""))
    row("floor: minimal correct read, 1 process", ms(floor / n),
        f"{n / floor:7.1f} files/s  {floor:7.2f} s" + spread_of("floor"))
    row(f"floor / {jobs} (ideal spread over {jobs} cores)", ms(spread / n), f"{n / spread:7.1f} files/s")
    parallel = res["floor_parallel"]["seconds"]
    row(f"floor, {jobs} processes (measured)", ms(parallel / n),
        f"{n / parallel:7.1f} files/s  {parallel:7.2f} s  {floor / parallel:.2f}x one process; "
        f"ingest is {ingest / parallel:.2f}x this" + spread_of("floor_parallel"))
    for key, label in (("rerun_unchanged", "re-run, nothing changed"),
                       ("rerun_1pct_changed", f"re-run, {c['changed_on_rerun']} files (1%) changed")):
        s = res[key]["seconds"]
        done = f"; {res[key]['processed']} files processed again" if "processed" in res[key] else ""
        row(label, "", f"{s:7.2f} s total  ({s / ingest:.0%} of a full run{done})")
    m = res["memory"]
    row("peak RSS, ingest parent", f"{m['parent_mb']:.0f} MB", "")
    row("peak RSS, ingest parent, re-run", f"{res['memory_rerun']['parent_mb']:.0f} MB",
        "nothing changed: every verdict read back from the ledger")
    row("peak RSS, ingest children", f"{m['worker_max_mb']:.0f} MB",
        f"largest of {m['workers_seen']} child processes: the workers and the report.html, summary.xlsx and values.csv writers, forked "
        f"(sum of their peaks {m['workers_sum_mb']:.0f} MB, pages shared with the parent counted in each)")
    g = res["generate"]
    after = (g["seconds"] - res["startup"]["seconds"]) / g["workbooks"]
    row("generate --roster, per workbook", ms(g["seconds"] / g["workbooks"]),
        f"{g['workbooks']} workbooks in {g['seconds']:.2f} s with --jobs {res['jobs']}; "
        f"{after * 1e3:.2f} ms each past start-up")
    row("xltool --help start-up", ms(res["startup"]["seconds"]), "")
    if res["formulas"]:
        f = res["formulas"]
        row("formulas: 1 compiled model, floor + calc", ms(f["per_file_s"]),
            f"{f['x_floor']:.0f}x floor; sample of {f['sample']}; compile once {f['compile_s']:.1f} s")
    if res["libreoffice"]:
        lo = res["libreoffice"]
        row("LibreOffice: 1 soffice, open + recalc", ms(lo["per_file_s"]),
            f"{lo['x_floor']:.0f}x floor; sample of {lo['sample']}, start-up not charged")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="files in the inbox (default 2000)")
    ap.add_argument("--jobs", type=int, default=2, help="ingest worker processes (default 2)")
    ap.add_argument("--rejected-share", type=float, default=0.2, help="share of files with a clerk's mistake (0.2)")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "xltool-bench"),
                    help="folder for the generated corpus (default ~/.cache/xltool-bench)")
    ap.add_argument("--scratch", default=None,
                    help="folder for the inbox copy and the ingest outputs (default: --cache). Ingest creates "
                         "a file or two per return, the floor none: the report shows what creating one costs there. "
                         "Every run's outputs are kept until the end: some 70 MB per 1,000 files and run "
                         "(--repeats + 1 runs; 2.7 GB at --n 10000 with 3 repeats)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs; medians are reported (default 3)")
    ap.add_argument("--sample", type=int, default=100, help="files for the formulas and LibreOffice rows (100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-libreoffice", action="store_true", help="leave out the LibreOffice row")
    ap.add_argument("--skip-formulas", action="store_true", help="leave out the formulas row")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    res = run(args)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
    else:
        report(res)


if __name__ == "__main__":
    main()
