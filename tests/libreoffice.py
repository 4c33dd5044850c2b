"""Drive LibreOffice headless like a clerk: open a generated workbook, type into it, save it as .xlsx.

A helper for the tests, not a test file. LibreOffice is the stand-in for the agencies' Excel/WPS.

How it works: one `soffice --headless` per `LibreOffice` object, with a private profile directory
(so parallel runs and a desktop LibreOffice do not clash) and a named pipe to accept UNO
connections. The UNO side runs in the interpreter that has LibreOffice's Python bridge (Debian's
`python3-uno` for `/usr/bin/python3`), as a subprocess running *this file* (`--worker JOB.json`);
jobs and results travel as JSON files. Many files are handled per worker call and per soffice
process. soffice is killed (its whole process group) on `close()`, at interpreter exit, and when a
worker call times out, so a test cannot hang on it.

Typing: `method="clerk"` (the default) selects each cell and dispatches `.uno:EnterString`,
the path a keyboard entry takes in the UI: it honours sheet protection (a locked cell is left
unchanged; LibreOffice's "protected cell" message box is cancelled in headless mode). Every typed
cell is read back, so a refused entry is an error, not a silent no-op. `method="api"` uses
`XCell.setValue`/`setString` and `method="array"` uses `XCellRangeData.setDataArray`.

What LibreOffice 7.4 does under sheet protection (seen in tests/clients/test_libreoffice_roundtrip.py):
- unlocked cells: every method works while the sheet stays protected;
- locked cells: `.uno:EnterString` leaves the cell unchanged; `setDataArray`/`setFormulaArray`
  raise RuntimeException; but `setValue`/`setString`/`setFormula` go through silently
  (the per-cell API does not check protection).

This file runs under two interpreters: the test one (imports pytest lazily) and the UNO worker
one (stdlib + uno only). Keep its top level to the standard library.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

XLSX_FILTER = "Calc Office Open XML"
INSTALL_HINT = ("install LibreOffice Calc and its Python bridge, e.g. "
                "`apt-get install --no-install-recommends libreoffice-calc python3-uno` (see .ci/run)")
STARTUP_TIMEOUT = 60.0     # seconds for soffice to accept a connection
RUN_TIMEOUT = 180.0        # seconds for one worker call (all its jobs)

CellValues = dict  # {(sheet name, "D5"): value}


class LibreOfficeError(RuntimeError):
    """LibreOffice could not be started or driven, or refused what a job asked."""


class WorkerKilled(LibreOfficeError):
    """The UNO worker process died of a signal (LibreOffice's bridge crashed)."""


# --- finding LibreOffice ----------------------------------------------------------------------

def find_soffice() -> str | None:
    """The soffice executable, or None. $XLTOOL_SOFFICE wins."""
    env = os.environ.get("XLTOOL_SOFFICE")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = ["/usr/lib/libreoffice/program/soffice",
                  *sorted(glob.glob("/opt/libreoffice*/program/soffice"), reverse=True),
                  "/Applications/LibreOffice.app/Contents/MacOS/soffice"]
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


_uno_python_cache: dict[str, str | None] = {}


def find_uno_python(soffice: str | None = None) -> str | None:
    """An interpreter that can `import uno` for this LibreOffice, or None. $XLTOOL_UNO_PYTHON wins."""
    soffice = soffice or find_soffice()
    key = soffice or ""
    if key in _uno_python_cache:
        return _uno_python_cache[key]
    if os.environ.get("XLTOOL_UNO_PYTHON"):
        candidates = [os.environ["XLTOOL_UNO_PYTHON"]]
    else:
        candidates = []
        if soffice:  # a LibreOffice from libreoffice.org bundles its own Python next to soffice
            program = Path(os.path.realpath(soffice)).parent
            candidates += [str(program / "python"), str(program.parent / "Resources" / "python")]
        candidates += ["/usr/bin/python3", shutil.which("python3") or ""]
    found = None
    for py in dict.fromkeys(c for c in candidates if c):
        if not os.access(py, os.X_OK):
            continue
        try:
            ok = subprocess.run([py, "-I", "-c", "import uno"], capture_output=True, timeout=30,
                                env=_clean_env()).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            found = py
            break
    _uno_python_cache[key] = found
    return found


def libreoffice_problem() -> str | None:
    """Why LibreOffice cannot be driven here, or None when it can."""
    soffice = find_soffice()
    if not soffice:
        return f"LibreOffice (soffice) not found: {INSTALL_HINT}"
    if not find_uno_python(soffice):
        return (f"LibreOffice found at {soffice}, but no Python can `import uno` "
                f"(tried /usr/bin/python3 and LibreOffice's own): {INSTALL_HINT}")
    return None


def require_libreoffice() -> None:
    """In a test: skip (or, under CI=true, fail) when LibreOffice cannot be driven."""
    from external import require  # here: this file also runs as the UNO worker, with `python -I`

    require(libreoffice_problem())


def _clean_env() -> dict[str, str]:
    # the test interpreter's PYTHON* settings (pyenv, venv) must not leak into the system one
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


# --- one headless LibreOffice -----------------------------------------------------------------

class LibreOffice:
    """One headless soffice with a private profile; jobs are run by a UNO worker subprocess.

        with LibreOffice() as lo:
            lo.fill_and_save(src, dst, {("三、依申请公开", "D5"): 12})
            results = lo.run([fill_job(a, a2, va), fill_job(b, b2, vb), recalc_job(c, c2)])
    """

    def __init__(self, soffice: str | None = None, python: str | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT, run_timeout: float = RUN_TIMEOUT):
        problem = None if (soffice and python) else libreoffice_problem()
        if problem:
            raise LibreOfficeError(problem)
        self.soffice = soffice or find_soffice()
        self.python = python or find_uno_python(self.soffice)
        self.startup_timeout, self.run_timeout = startup_timeout, run_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="xltool-lo-"))
        self.pipe = f"xltool_lo_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self.proc: subprocess.Popen | None = None
        self.version: str | None = None
        self._log = None
        self._runs = 0
        atexit.register(self.close)

    # lifecycle

    def start(self) -> LibreOffice:
        if self.proc and self.proc.poll() is None:
            return self
        try:
            return self._launch()
        except WorkerKilled:  # the bridge's occasional signal (see run): one fresh soffice more
            return self._launch()

    def _launch(self) -> LibreOffice:
        self.workdir.mkdir(parents=True, exist_ok=True)
        profile = self.workdir / "profile"
        self._log = open(self.workdir / "soffice.log", "ab")
        args = [self.soffice, "--headless", "--invisible", "--norestore", "--nolockcheck", "--nodefault",
                "--nologo", f"-env:UserInstallation={profile.as_uri()}",
                f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"]
        env = _clean_env()
        env["LC_ALL"] = "C.UTF-8"   # "14.495" is typed with a decimal point
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=env, start_new_session=True)  # own process group: killed as one
        try:
            info = self._call([{"op": "hello"}], timeout=self.startup_timeout + 30)[0]
        except BaseException:
            self.stop()
            raise
        if not info.get("ok"):
            self.stop()
            raise LibreOfficeError(f"LibreOffice started but did not answer: {info.get('error')}")
        self.version = info.get("version")
        return self

    def close(self) -> None:
        """Stop soffice and remove the profile and job files."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def stop(self) -> None:
        """Stop soffice (its whole process group); the next run starts a fresh one."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            try:  # stragglers of its process group (soffice.bin forked by oosplash)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> LibreOffice:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # running jobs

    def run(self, jobs: list[dict], timeout: float | None = None) -> list[dict]:
        """Run jobs (see fill_job, recalc_job, type_job) in one worker call; a result per job.

        The UNO bridge (Debian's python3-uno) now and then dies of a signal under load (a segfault seen
        in a full, loaded test run, never reproduced alone): that is LibreOffice's crash, not a verdict
        on xltool, so the jobs are run once more on a fresh soffice. A second crash is an error."""
        self.start()
        try:
            return self._call(jobs, timeout or self.run_timeout)
        except WorkerKilled:
            self.stop()
            self.start()
            return self._call(jobs, timeout or self.run_timeout)

    def _call(self, jobs: list[dict], timeout: float) -> list[dict]:
        if self.proc is None or self.proc.poll() is not None:
            raise LibreOfficeError("soffice is not running (call start())")
        self._runs += 1
        # LibreOffice opens a private copy: its lock file (~lock.NAME#, left behind if soffice is
        # killed, and then a "document in use" refusal) never lands next to the caller's file
        inbox = self.workdir / f"in-{self._runs}"
        inbox.mkdir(parents=True, exist_ok=True)
        jobs = [dict(job) for job in jobs]
        for i, job in enumerate(jobs):
            if job.get("src"):
                job["open"] = str(inbox / f"{i}-{Path(job['src']).name}")
                shutil.copyfile(job["src"], job["open"])
        job_file = self.workdir / f"jobs-{self._runs}.json"
        out_file = self.workdir / f"results-{self._runs}.json"
        job_file.write_text(json.dumps({
            "connect": f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext",
            "connect_timeout": self.startup_timeout, "jobs": jobs}, ensure_ascii=False), encoding="utf-8")
        cmd = [self.python, "-I", str(Path(__file__).resolve()), "--worker", str(job_file), str(out_file)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_clean_env())
        except subprocess.TimeoutExpired:  # (subprocess.run has killed the worker)
            self.stop()  # a hung LibreOffice is killed, never waited for
            raise LibreOfficeError(f"LibreOffice did not finish {len(jobs)} job(s) in {timeout:g} s; killed it") from None
        results = json.loads(out_file.read_text(encoding="utf-8")) if out_file.exists() else []
        if len(results) == len(jobs) and done.returncode < 0:
            # every result was saved (after its document was closed): the signal came in pyuno's
            # teardown, which the worker now skips with os._exit, so the work itself is complete
            return results
        if done.returncode != 0 or len(results) < len(jobs):
            crashed = self.proc is None or self.proc.poll() is not None
            if crashed:
                self.stop()
            log = (self.workdir / "soffice.log").read_text(errors="replace")[-1500:] if crashed else ""
            raise (WorkerKilled if done.returncode < 0 else LibreOfficeError)(
                f"UNO worker failed (exit {done.returncode}{', soffice died' if crashed else ''}) after "
                f"{len(results)} of {len(jobs)} job(s): {done.stderr.strip()[-2000:]}"
                + (f"\nsoffice log: {log}" if log else ""))
        if self.proc is None or self.proc.poll() is not None:
            self.stop()   # it died during the run (the failed jobs say so); the next run starts a new one
        return results

    # one file at a time (each is one worker call; use run() with many jobs to batch)

    def fill_and_save(self, src: Path, dst: Path, values: CellValues, method: str = "clerk") -> dict:
        return check(self.run([fill_job(src, dst, values, method)])[0])

    def recalc_and_save(self, src: Path, dst: Path) -> dict:
        return check(self.run([recalc_job(src, dst)])[0])


# jobs (plain dicts, so they go to the worker as JSON)

def _cells(values: CellValues) -> list[list[Any]]:
    out = []
    for (sheet, ref), v in values.items():
        if hasattr(v, "as_tuple"):          # Decimal -> a number (JSON has no Decimal)
            v = float(v)
        out.append([sheet, ref, v])
    return out


def fill_job(src: Path, dst: Path, values: CellValues, method: str = "clerk") -> dict:
    """Type values (every one must be accepted), recalculate everything, save as .xlsx."""
    return {"op": "type", "src": str(src), "dst": str(dst), "cells": _cells(values), "method": method,
            "strict": True, "recalc": True}


def type_job(src: Path, values: CellValues, method: str, dst: Path | None = None) -> dict:
    """Try to type values and report per cell what happened (refusals are results, not errors)."""
    return {"op": "type", "src": str(src), "dst": str(dst) if dst else None, "cells": _cells(values),
            "method": method, "strict": False, "recalc": True}


def recalc_job(src: Path, dst: Path) -> dict:
    return {"op": "type", "src": str(src), "dst": str(dst), "cells": [], "method": "api",
            "strict": True, "recalc": True}


def check(result: dict) -> dict:
    """A job's result, or LibreOfficeError saying what went wrong."""
    if not result.get("ok"):
        raise LibreOfficeError(result.get("error") or "job failed")
    return result


# --- the process-wide instance ------------------------------------------------------------------

_session: LibreOffice | None = None


def session() -> LibreOffice:
    """One LibreOffice for this process (started on first use, closed at exit or by shutdown())."""
    global _session
    if _session is None:
        _session = LibreOffice()
    return _session.start()


def shutdown() -> None:
    global _session
    if _session is not None:
        _session.close()
        _session = None


def fill_and_save(src: Path, dst: Path, values: CellValues, method: str = "clerk") -> dict:
    """Open src in LibreOffice, type values into (sheet, A1) cells with the sheets protected,
    recalculate everything (calculateAll), save as .xlsx (Calc Office Open XML) to dst."""
    return session().fill_and_save(Path(src), Path(dst), values, method)


def recalc_and_save(src: Path, dst: Path) -> dict:
    """Open src, recalculate everything, save as .xlsx to dst."""
    return session().recalc_and_save(Path(src), Path(dst))


def run_jobs(jobs: Iterable[dict]) -> list[dict]:
    return session().run(list(jobs))


# === the UNO worker (runs under the interpreter with python3-uno) ===============================

def _worker(job_path: str, out_path: str) -> int:
    import uno  # noqa: F401  (also registers the com.sun.star import hook)
    from com.sun.star.beans import PropertyValue

    def pv(name, value):
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    spec = json.loads(Path(job_path).read_text(encoding="utf-8"))
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + float(spec.get("connect_timeout", 60))
    while True:
        try:
            ctx = resolver.resolve(spec["connect"])
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    smgr = ctx.ServiceManager
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
    results: list[dict] = []

    def save_results():
        Path(out_path).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")

    def version() -> str:
        cp = smgr.createInstanceWithContext("com.sun.star.configuration.ConfigurationProvider", ctx)
        node = cp.createInstanceWithArguments("com.sun.star.configuration.ConfigurationAccess",
                                              (pv("nodepath", "/org.openoffice.Setup/Product"),))
        return f"{node.getByName('ooName')} {node.getByName('ooSetupVersionAboutBox')}"

    def describe(cell) -> dict:
        kind = cell.getType().value  # EMPTY | VALUE | TEXT | FORMULA
        return {"type": kind, "formula": cell.getFormula(), "string": cell.getString(),
                "value": cell.getValue()}

    def accepted(cell, want) -> bool:
        if isinstance(want, bool) or want is None:
            return False
        if isinstance(want, (int, float)):
            return cell.getType().value == "VALUE" and cell.getValue() == float(want)
        return cell.getType().value == "TEXT" and cell.getString() == str(want)

    def as_typed(v) -> str:
        if isinstance(v, float):
            return repr(v)
        return str(v)

    def run_type(job: dict) -> dict:
        method = job["method"]
        hidden = method != "clerk"   # the dispatcher needs a real (if invisible) frame
        url = uno.systemPathToFileUrl(str(Path(job.get("open") or job["src"]).resolve()))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (
            pv("Hidden", hidden), pv("ReadOnly", False), pv("MacroExecutionMode", 0), pv("UpdateDocMode", 0)))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not open {job['src']}")
        try:
            sheets = doc.Sheets
            protected_at_load = {n: sheets.getByName(n).isProtected() for n in sheets.ElementNames}
            ctrl = doc.getCurrentController() if method == "clerk" else None
            cells_out, refused = [], []
            for sheet_name, ref, value in job["cells"]:
                sheet = sheets.getByName(sheet_name)
                cell = sheet.getCellRangeByName(ref)
                entry = {"sheet": sheet_name, "cell": ref, "value": value,
                         "locked": bool(cell.CellProtection.IsLocked), "protected": bool(sheet.isProtected()),
                         "before": describe(cell), "error": None}
                try:
                    if method == "clerk":
                        ctrl.setActiveSheet(sheet)
                        ctrl.select(cell)
                        dispatcher.executeDispatch(ctrl.getFrame(), ".uno:EnterString", "", 0,
                                                   (pv("StringName", as_typed(value)),))
                    elif method == "api":
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            cell.setValue(float(value))
                        else:
                            cell.setString(str(value))
                    elif method == "api_formula":
                        cell.setFormula(as_typed(value))
                    elif method == "array":
                        cell.setDataArray(((value,),))
                    elif method == "formula_array":
                        cell.setFormulaArray(((as_typed(value),),))
                    else:
                        raise ValueError(f"unknown typing method {method!r}")
                except Exception as e:  # a UNO exception: keep its type and message
                    entry["error"] = f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"
                entry["after"] = describe(cell)
                entry["accepted"] = entry["error"] is None and accepted(cell, value)
                entry["changed"] = entry["after"]["formula"] != entry["before"]["formula"]
                if not entry["accepted"]:
                    refused.append(f"{sheet_name}!{ref}={value!r} ({entry['error'] or 'cell now ' + repr(entry['after']['formula'])})")
                cells_out.append(entry)
            protected_after_typing = {n: sheets.getByName(n).isProtected() for n in sheets.ElementNames}
            if job.get("recalc"):
                doc.calculateAll()
            out = {"ok": True, "method": method, "cells": cells_out, "refused": refused,
                   "protected_at_load": protected_at_load, "protected_after_typing": protected_after_typing}
            if job.get("strict") and refused:
                return {**out, "ok": False, "error": f"LibreOffice did not take {len(refused)} value(s): "
                        + "; ".join(refused[:10])}
            if job.get("dst"):
                dst = Path(job["dst"]).resolve()
                dst.parent.mkdir(parents=True, exist_ok=True)
                doc.storeToURL(uno.systemPathToFileUrl(str(dst)),
                               (pv("FilterName", XLSX_FILTER), pv("Overwrite", True)))
                out["saved"] = str(dst)
            return out
        finally:
            doc.close(True)

    for job in spec["jobs"]:
        try:
            if job["op"] == "hello":
                results.append({"ok": True, "version": version()})
            elif job["op"] == "type":
                results.append(run_type(job))
            else:
                results.append({"ok": False, "error": f"unknown op {job['op']!r}"})
        except Exception as e:
            results.append({"ok": False, "error": f"{type(e).__name__}: {getattr(e, 'Message', '') or e}"})
        save_results()  # after each job: what was done survives a crash of the next one
    save_results()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        code = _worker(sys.argv[2], sys.argv[3])
        sys.stdout.flush()
        sys.stderr.flush()
        # skip the interpreter's teardown: pyuno's bridge objects are destroyed there, and that
        # now and then dies of SIGSEGV after every result has been written
        os._exit(code)
    print("usage: python3 libreoffice.py --worker JOBS.json RESULTS.json (run by the tests)", file=sys.stderr)
    sys.exit(2)
