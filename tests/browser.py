"""Drive headless Chromium for the tests: load a local HTML file, take a screenshot, dump the DOM.

A helper for the tests, not a test file (like tests/libreoffice.py). Chromium is the stand-in for
the coordinator's browser: it opens report.html and the rendered reports from disk, runs their
inline JS, and shows whether the page needs anything from the network (it must not).

Each call starts one `chromium --headless` with a private, throw-away profile directory (parallel
runs and a desktop browser do not clash) and network features off; it runs in its own process
group, which is killed when the call times out, so a test cannot hang on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from external import require

INSTALL_HINT = "install Chromium, e.g. `apt-get install --no-install-recommends chromium` (see .ci/run)"
TIMEOUT = 90.0                    # seconds for one headless run
WINDOW = (1400, 2000)
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell")
# Flags that keep a headless run local and quiet: no sandbox (CI runs as root), no GPU, no
# first-run work, nothing fetched in the background.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio")


class ChromiumError(RuntimeError):
    """Chromium could not be started, or did not finish in time."""


def find_chromium() -> str | None:
    """The Chromium executable, or None. $XLTOOL_CHROMIUM wins."""
    env = os.environ.get("XLTOOL_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    return next((found for found in map(shutil.which, NAMES) if found), None)


def chromium_problem() -> str | None:
    return None if find_chromium() else f"Chromium not found: {INSTALL_HINT}"


def require_chromium() -> None:
    """In a test: skip (or, under CI=true, fail) when Chromium is missing."""
    require(chromium_problem())


def file_url(path: Path, fragment: str = "") -> str:
    return Path(path).resolve().as_uri() + fragment


def run_chromium(args: list[str], timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """One headless Chromium run with a private profile; killed (its whole group) on timeout."""
    exe = find_chromium()
    if exe is None:
        raise ChromiumError(f"Chromium not found: {INSTALL_HINT}")
    profile = tempfile.mkdtemp(prefix="xltool-chromium-")
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ChromiumError(f"Chromium did not finish in {timeout:.0f} s; killed it") from None
        finally:
            _kill_group(proc)  # helpers it forked (zygote, GPU process) go with it
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.decode("utf-8", "replace"),
                                           err.decode("utf-8", "replace"))
        if done.returncode != 0:
            raise ChromiumError(f"Chromium exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        return done
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def screenshot(url: str, png: Path, window: tuple[int, int] = WINDOW) -> Path:
    """A PNG of the page as Chromium draws it in a window of that size."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    run_chromium([f"--screenshot={png}", f"--window-size={window[0]},{window[1]}", url])
    if not png.is_file() or png.stat().st_size == 0:
        raise ChromiumError(f"Chromium wrote no screenshot to {png}")
    return png


def dump_dom(url: str) -> str:
    """The DOM after the page's scripts ran, serialised as HTML."""
    return run_chromium(["--dump-dom", url]).stdout


def visible_text(dom: str) -> str:
    """The text a reader sees: no <style>/<script> content and nothing inside a `hidden` element."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack: list[bool] = []   # per open element: is it (or an ancestor) invisible?
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in self.VOID:
                return
            names = {k for k, _ in attrs}
            invisible = (self.stack[-1] if self.stack else False) or "hidden" in names or tag in ("style", "script", "title")
            self.stack.append(invisible)

        def handle_endtag(self, tag):
            if tag not in self.VOID and self.stack:
                self.stack.pop()

        def handle_data(self, data):
            if not (self.stack and self.stack[-1]):
                self.parts.append(data)

    parser = _Text()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())
