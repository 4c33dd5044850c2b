"""Starting the intake server: roster, links, leftovers of a restart, the checker, then uvicorn.

`build_intake` prepares everything but the listening socket (the tests start uvicorn themselves on
a free port); `serve` runs it until interrupted.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

from xltool.collection.status import load_roster
from xltool.fileio import FolderBusy, FolderLock
from xltool.form.forms import available_forms, get_spec
from xltool.ingest.workers import DEFAULT_TIMEOUT
from xltool.serve.agencies import Member, load_members
from xltool.serve.app import create_app
from xltool.serve.checker import Checker
from xltool.serve.intake import Intake
from xltool.serve.tokens import prepare
from xltool.serve.upload import clean_leftovers
from xltool.xlsx.guard import Limits

log = logging.getLogger("xltool.serve")


class ServeSetupError(ValueError):
    """The folders or options cannot be served (a usage error)."""


def form_labels(members: list[Member], form: str | None) -> dict[str, str]:
    """Which form each agency reports on, for its page: the form given, else the edition in use for
    its year (the checks themselves identify the form from the workbook)."""

    specs = [get_spec(form)] if form else [get_spec(f) for f in available_forms()]
    labels = {}
    for m in members:
        fits = [s for s in specs if m.year is None or m.year in s.years]
        labels[m.name] = (fits[-1].description if len(fits) == 1 or form else fits[-1].title) if fits else ""
    return labels


def check_folders(inbox: Path, out: Path) -> tuple[Path, Path]:
    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if out == inbox or inbox in out.parents:
        raise ServeSetupError(f"输出目录不能在收件目录之内 / the output folder must not be inside the inbox: {out}")
    if out in inbox.parents:
        raise ServeSetupError(f"收件目录不能在输出目录之内 / the inbox must not be inside the output folder: {inbox}")
    inbox.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return inbox, out


def build_intake(inbox: Path, out: Path, roster: Path, base_url: str, year: int | None = None, form: str | None = None,
                 jobs: int | None = None, timeout: float | None = None, previous: Path | None = None) -> Intake:
    """Everything the app needs, the checker not yet started. Raises RosterError, ServeSetupError."""

    inbox, out = check_folders(inbox, out)
    members = load_members(roster, default_year=year)
    keyring = prepare(out, members, base_url)
    if previous is not None and not Path(previous).is_dir():
        raise ServeSetupError(f"找不到上年的结果目录 / no such folder: {previous}")
    checker = Checker(inbox, out, jobs or os.cpu_count() or 1, timeout or DEFAULT_TIMEOUT, previous=previous,
                      roster=load_roster(roster))
    intake = Intake(inbox, out, members, keyring, checker, form_labels(members, form), Limits().max_file_bytes)
    checker.on_run_done = intake.changed
    return intake


class ServeLock(FolderLock):
    """One server per output folder (fileio.FolderLock on OUT/.xltool-serve.lock): a second one would
    remove the first one's uploads in flight as leftovers."""

    def __init__(self, out: Path):
        super().__init__(out, ".xltool-serve.lock")

    def acquire(self) -> None:
        try:
            super().acquire()
        except FolderBusy:
            raise ServeSetupError(f"另一个 xltool serve 正在使用输出目录 {self.path.parent} / another xltool serve "
                                  f"is using {self.path.parent}") from None


def start(intake: Intake) -> ServeLock:
    """Before listening: the output folder's lock, the leftovers of uploads cut short by a restart
    removed, the checker started (it catches up with the inbox first)."""
    lock = ServeLock(intake.out)
    lock.acquire()
    removed = clean_leftovers(intake.out, intake.inbox, [m.folder for m in intake.members])
    if removed:
        log.warning("removed %d partial upload(s) left by a restart", removed)
    intake.checker.start()
    return lock


def serve(intake: Intake, host: str, port: int, proxied: bool = False) -> None:
    """Run until interrupted (Ctrl-C / SIGTERM): the checker in its thread, uvicorn in this one.
    No access log: its lines would hold the secret tokens (the app logs uploads by agency name)."""
    import uvicorn  # uvicorn: only when the server starts


    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    lock = start(intake)   # ServeSetupError when another server has the folder
    try:
        uvicorn.run(create_app(intake), host=host, port=port, proxy_headers=proxied,
                    forwarded_allow_ips="127.0.0.1" if proxied else None, server_header=False,
                    access_log=False, log_level="info", timeout_graceful_shutdown=10)
    finally:
        intake.checker.stop()
        lock.release()


def loopback_socket(host: str = "127.0.0.1"):
    """A listening socket on a free port (for tests and the load script: the port is known before
    the links are written)."""

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


class Background:
    """The server in a thread of this process, on a given socket: `with Background(intake, sock):`.
    Stops uvicorn and the checker on exit."""

    def __init__(self, intake: Intake, sock):

        import uvicorn  # uvicorn: only when the server starts


        self.intake, self.sock = intake, sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(intake), log_level="warning", server_header=False,
                                                    access_log=False, timeout_graceful_shutdown=5))
        self.lock: ServeLock | None = None
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True,
                                       name="xltool-serve-uvicorn")

    def __enter__(self) -> Background:

        self.lock = start(self.intake)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.intake.checker.stop()
        self.sock.close()
        if self.lock:
            self.lock.release()
