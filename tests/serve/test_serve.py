"""`xltool serve` over HTTP: the real server (uvicorn, in a thread, on a free loopback port) driven
with httpx as an agency's browser or script would: secret links, uploads and their verdicts, who
may see what, the size cap, CSRF, concurrent uploads, restarts and rotated links."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import openpyxl
import pytest

from xltool.ingest.pipeline import process_file
from xltool.serve import tokens
from xltool.serve.server import Background, build_intake, loopback_socket
from xltool.serve.upload import INCOMING
from xltool.xlsx.guard import Limits

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "inbox"
GOOD = SAMPLES / "乐山市机关事务管理局_2020.xlsx"            # accepted
BAD = SAMPLES / "常见错误" / "某某区卫生健康委员会_2020.xlsx"   # rejected, with a feedback workbook
AGENCIES = ("乐山市机关事务管理局", "某某区卫生健康委员会", "某某区教育局", "平潭综合实验区管委会", "=SUM(A1)局",
            "并发一局", "并发二局", "并发三局", "并发四局", "并发五局", "容量局", "轮换局")
API = {"Accept": "application/json", "X-Requested-With": "xltool-test"}


@dataclass
class Served:
    url: str
    inbox: Path
    out: Path
    roster: Path
    links: dict[str, str]
    admin: str


def write_roster(path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "代码", "年度"])
        for i, name in enumerate(AGENCIES):
            w.writerow([name, f"1132080001416{i:04d}K" if i % 2 else "", 2020])
    return path


def read_links(out: Path) -> dict[str, str]:
    raw = (out / tokens.LINKS_CSV).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "links.csv must start with a BOM so that Excel reads it as UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["单位名称", "统一社会信用代码", "链接"]
    return {(r[0][1:] if r[0].startswith("'=") else r[0]): r[2] for r in rows[1:]}


@contextmanager
def running_server(base: Path) -> Iterator[tuple[Served, object]]:
    """A real server on a free loopback port over BASE/inbox and BASE/out, with the test roster."""
    roster = write_roster(base / "agencies.csv")
    sock = loopback_socket()
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    intake = build_intake(base / "inbox", base / "out", roster, url, jobs=2)
    with Background(intake, sock):
        admin = (base / "out" / tokens.ADMIN_LINK).read_text(encoding="utf-8").strip()
        yield Served(url, base / "inbox", base / "out", roster, read_links(base / "out"), admin), intake


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("serve")) as (served, _):
        yield served


def upload(link: str, path: Path | None = None, data: bytes | None = None, name: str = "return.xlsx",
           headers: dict | None = None, **kw) -> httpx.Response:
    content = data if data is not None else path.read_bytes()
    return httpx.post(link, files={"file": (name, content)}, headers=API if headers is None else headers, timeout=120, **kw)


def folder_files(served: Served, agency: str) -> list[Path]:
    from xltool.serve.agencies import load_members
    folder = next(m.folder for m in load_members(served.roster) if m.name == agency)
    d = served.inbox / folder
    return sorted(d.iterdir()) if d.is_dir() else []


# --- links --------------------------------------------------------------------------------------

def test_each_agency_gets_a_long_random_link_written_for_the_coordinator(served):
    assert set(served.links) == set(AGENCIES)
    agency_tokens = [link.rsplit("/u/", 1)[1] for link in served.links.values()]
    assert len(set(agency_tokens)) == len(AGENCIES)
    assert all(len(t) >= 43 for t in agency_tokens), "at least 256 bits, URL-safe base64"
    assert all(link.startswith(served.url + "/u/") for link in served.links.values())
    for name in (tokens.TOKENS_FILE, tokens.LINKS_CSV, tokens.ADMIN_LINK):
        assert stat.S_IMODE(os.stat(served.out / name).st_mode) == 0o600, name
    stored = (served.out / tokens.TOKENS_FILE).read_text(encoding="utf-8")
    assert not any(t in stored for t in agency_tokens), "only hashes of the tokens are stored"
    raw = (served.out / tokens.LINKS_CSV).read_text(encoding="utf-8-sig")
    assert "'=SUM(A1)局" in raw, "a name that looks like a formula stays text in Excel"


def test_links_survive_a_restart(served, tmp_path):
    again = build_intake(served.inbox, served.out, served.roster, served.url)
    assert read_links(served.out) == served.links
    assert (served.out / tokens.ADMIN_LINK).read_text(encoding="utf-8").strip() == served.admin
    assert all(again.keyring.member_for(link.rsplit("/u/", 1)[1], again.members) for link in served.links.values())


@pytest.mark.parametrize("path", ["/u/{bad}", "/u/{bad}/feedback/20260101-000000-000000-abcdef.xlsx",
                                  "/admin/{bad}", "/admin?token={bad}", "/admin/{bad}/files/report.html", "/nothing"])
def test_an_unknown_token_is_not_found(served, path):
    bad = served.links["某某区教育局"].rsplit("/u/", 1)[1][:-1] + "x"
    r = httpx.get(served.url + path.format(bad=bad))
    assert r.status_code == 404
    assert "页面不存在" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


def test_an_upload_with_an_unknown_token_is_not_found_and_not_kept(served):
    before = sorted(served.inbox.rglob("*"))
    r = upload(served.url + "/u/" + "A" * 43, GOOD)
    assert r.status_code == 404
    assert sorted(served.inbox.rglob("*")) == before


# --- uploads and verdicts -----------------------------------------------------------------------

def test_an_accepted_upload_gets_its_verdict_at_once_and_is_kept_in_its_own_folder(served):
    link = served.links["乐山市机关事务管理局"]
    r = upload(link, GOOD, name="../../etc/passwd.xlsx")
    assert r.status_code == 200
    entry = r.json()
    assert entry["status"] == "accepted" and entry["errors"] == 0
    assert entry["agency"] == "乐山市机关事务管理局" and entry["year"] == 2020
    files = folder_files(served, "乐山市机关事务管理局")
    assert [f"{files[0].parent.name}/{files[0].name}"] == [entry["path"]]
    assert files[0].read_bytes() == GOOD.read_bytes()
    assert "passwd" not in entry["path"] and ".." not in entry["path"]
    page = httpx.get(link)
    assert page.status_code == 200 and "✓ 通过" in page.text and "乐山市机关事务管理局" in page.text


def test_a_rejected_upload_shows_its_findings_and_its_feedback_workbook(served):
    link = served.links["某某区卫生健康委员会"]
    r = upload(link, BAD)
    entry = r.json()
    expected = process_file(BAD, BAD.parent)
    assert entry["status"] == "rejected"
    assert [f["code"] for f in entry["findings"]] == [f.code for f in expected.findings]
    page = httpx.get(link).text
    assert "✗ 退回" in page
    assert expected.findings[0].message.split("（")[0] in page
    feedback = httpx.get(served.url + entry["feedback_url"])
    assert feedback.status_code == 200
    assert "attachment" in feedback.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(feedback.content))
    assert len(wb.sheetnames) > 1


def test_a_non_workbook_gets_the_same_verdict_as_in_ingest(served, tmp_path):
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    entry = upload(served.links["某某区教育局"], data=pdf, name="年报.pdf").json()
    (tmp_path / "x.xlsx").write_bytes(pdf)     # the server stores every upload under a name of its own, .xlsx
    expected = process_file(tmp_path / "x.xlsx", tmp_path)
    assert entry["status"] == "rejected" == expected.status
    assert [f["code"] for f in entry["findings"]] == [f.code for f in expected.findings]
    assert not entry["path"].endswith(".pdf"), "the stored name is ours, not the client's"


def test_the_form_on_the_page_uploads_with_its_csrf_field_and_shows_the_verdict(served):
    link = served.links["平潭综合实验区管委会"]
    page = httpx.get(link).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = httpx.post(link, data={"csrf": csrf}, files={"file": ("x.xlsx", BAD.read_bytes())}, timeout=120)
    assert r.status_code == 303
    shown = httpx.get(served.url + r.headers["location"])
    assert "✗ 退回" in shown.text and "下载反馈表" in shown.text


@pytest.mark.parametrize("headers,data", [({}, {}), ({}, {"csrf": "0" * 64}),
                                          ({"Accept": "application/json"}, {})])
def test_a_post_without_the_csrf_field_is_refused_and_not_kept(served, headers, data):
    link = served.links["平潭综合实验区管委会"]
    before = folder_files(served, "平潭综合实验区管委会")
    r = httpx.post(link, data=data, files={"file": ("x.xlsx", GOOD.read_bytes())}, headers=headers)
    assert r.status_code == 403
    assert folder_files(served, "平潭综合实验区管委会") == before
    assert not list((served.out / INCOMING).iterdir())


def test_an_upload_over_the_cap_is_refused_with_413_and_nothing_is_kept(served):
    link = served.links["容量局"]
    cap = Limits().max_file_bytes
    r = upload(link, data=b"PK\x03\x04" + b"\0" * cap)
    assert r.status_code == 413
    assert "20 MB" in r.json()["error"]
    assert folder_files(served, "容量局") == []
    assert not list((served.out / INCOMING).iterdir())
    ok = upload(link, data=b"x" * 1000)      # the cap is on size only; a small file is judged as usual
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"


def test_an_agency_sees_and_downloads_only_its_own_uploads(served):
    a, b = served.links["并发一局"], served.links["并发二局"]
    entry = upload(a, BAD).json()
    name = entry["path"].rsplit("/", 1)[1]
    assert httpx.get(served.url + entry["feedback_url"]).status_code == 200
    b_token = b.rsplit("/u/", 1)[1]
    assert httpx.get(f"{served.url}/u/{b_token}/feedback/{name}").status_code == 404
    assert name not in httpx.get(b).text
    assert httpx.get(b, headers=API).json()["uploads"] == []
    for sneaky in ("..%2F..%2Fout%2Fledger.sqlite", "%2E%2E", "x/../../" + name):
        assert httpx.get(f"{served.url}/u/{b_token}/feedback/{sneaky}").status_code == 404


def test_pages_carry_the_security_headers(served):
    r = httpx.get(served.links["某某区教育局"])
    h = r.headers
    assert "script-src 'self'" in h["content-security-policy"] and "unsafe-inline" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert h["cache-control"] == "no-store"
    assert "<script>" not in r.text and "style=" not in r.text, "no inline script or style: the CSP forbids them"


# --- concurrency ----------------------------------------------------------------------------------

def test_fifty_concurrent_uploads_are_fifty_distinct_files_each_with_a_verdict(served):
    names = [n for n in AGENCIES if n.startswith("并发")]
    before = {n: len(folder_files(served, n)) for n in names}
    good, bad = GOOD.read_bytes(), BAD.read_bytes()

    async def send_all():
        async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=50)) as client:
            async def one(i):
                link = served.links[names[i % len(names)]]
                return await client.post(link, files={"file": ("same-name.xlsx", good if i % 2 else bad)}, headers=API)
            return await asyncio.gather(*(one(i) for i in range(50)))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200] * 50
    entries = [r.json() for r in responses]
    assert len({e["path"] for e in entries}) == 50
    assert [e["status"] for e in entries] == ["accepted" if i % 2 else "rejected" for i in range(50)]
    after = {n: len(folder_files(served, n)) for n in names}
    assert sum(after.values()) - sum(before.values()) == 50
    stored = [served.inbox / e["path"] for e in entries]
    assert all(p.read_bytes() == (GOOD if i % 2 else BAD).read_bytes() for i, p in enumerate(stored))


# --- the coordinator ------------------------------------------------------------------------------

def test_the_coordinators_page_shows_progress_over_the_roster_and_links_the_outputs(served):
    link = served.links["=SUM(A1)局"]
    before = httpx.get(served.admin, headers=API).json()
    row = next(r for r in before["agencies"] if r["name"] == "=SUM(A1)局")
    assert row["status"] == "missing"
    assert upload(link, GOOD).json()["status"] == "accepted"
    after = httpx.get(served.admin, headers=API).json()
    row = next(r for r in after["agencies"] if r["name"] == "=SUM(A1)局")
    assert row["status"] == "accepted" and row["uploads"] == 1
    page = httpx.get(served.admin)
    assert "报表收集进度" in page.text and "=SUM(A1)局" in page.text
    token = served.admin.rsplit("/", 1)[1]
    assert httpx.get(f"{served.url}/admin?token={token}").status_code == 200
    for name in ("report.html", "summary.xlsx", "values.csv"):
        assert f"/admin/{token}/files/{name}" in page.text
    report = httpx.get(f"{served.url}/admin/{token}/files/report.html")
    assert report.status_code == 200 and "收件校验报告" in report.text
    assert "'sha256-" in report.headers["content-security-policy"]
    feedback = report.text.split('href="feedback/', 1)[1].split('"', 1)[0]
    linked = httpx.get(f"{served.url}/admin/{token}/files/feedback/{feedback}")
    assert linked.status_code == 200 and linked.content[:2] == b"PK", "report.html's feedback links work"
    assert httpx.get(f"{served.url}/admin/{token}/files/ledger.sqlite").status_code == 404
    assert httpx.get(f"{served.url}/admin/{token}/files/..%2Fledger.sqlite").status_code == 404


def test_an_agency_token_does_not_open_the_coordinators_page(served):
    token = served.links["某某区教育局"].rsplit("/u/", 1)[1]
    assert httpx.get(f"{served.url}/admin/{token}").status_code == 404


# --- restarts and rotation --------------------------------------------------------------------------

def test_a_restart_removes_partial_uploads_and_checks_what_waited(tmp_path):
    roster = write_roster(tmp_path / "agencies.csv")
    sock = loopback_socket()
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    intake = build_intake(tmp_path / "inbox", tmp_path / "out", roster, url)
    folder = next(m.folder for m in intake.members if m.name == "某某区教育局")
    partial = tmp_path / "out" / INCOMING / "part-0123456789abcdef01234567"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half an upload")
    hidden = tmp_path / "inbox" / folder / ".serve-0123456789abcdef.part"
    hidden.parent.mkdir(parents=True)
    hidden.write_bytes(b"half a copy")
    stored = tmp_path / "inbox" / folder / "20260101-000000-000000-abcdef.xlsx"   # stored, then the server stopped
    stored.write_bytes(GOOD.read_bytes())
    with Background(intake, sock):
        assert not partial.exists() and not hidden.exists()
        link = read_links(tmp_path / "out")["某某区教育局"]
        for _ in range(200):
            uploads = httpx.get(link, headers=API).json()["uploads"]
            if uploads[0]["status"] is not None:
                break
            time.sleep(0.05)
        assert uploads[0]["status"] == "accepted"


def test_a_second_server_on_the_same_output_folder_is_refused(served):
    import subprocess
    import sys
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    cmd = [sys.executable, "-m", "xltool.cli", "serve", "--inbox", str(served.inbox), "--out", str(served.out),
           "--roster", str(served.roster), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "another xltool serve" in done.stderr


def test_a_rotated_link_stops_working_at_once_and_the_new_one_works(served):
    old = served.links["轮换局"]
    assert httpx.get(old).status_code == 200
    members = build_intake(served.inbox, served.out, served.roster, served.url).members
    new = tokens.rotate(served.out, members, served.url, "轮换局")      # beside the running server
    assert read_links(served.out)["轮换局"] == new != old
    assert httpx.get(old).status_code == 404
    assert upload(old, GOOD).status_code == 404
    assert httpx.get(new).status_code == 200 and "轮换局" in httpx.get(new).text
    assert read_links(served.out)["某某区教育局"] == served.links["某某区教育局"], "other links are unchanged"


def test_the_rotate_command_rewrites_links_and_exits(tmp_path):
    from typer.testing import CliRunner

    from xltool.cli import app
    roster = write_roster(tmp_path / "agencies.csv")
    args = ["serve", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"), "--roster", str(roster)]
    first = CliRunner().invoke(app, [*args, "--rotate", "轮换局"])
    assert first.exit_code == 0, first.output
    link = read_links(tmp_path / "out")["轮换局"]
    assert link in first.output
    unknown = CliRunner().invoke(app, [*args, "--rotate", "不存在的单位"])
    assert unknown.exit_code == 2 and "no such agency" in unknown.output


def test_an_upload_whose_request_is_gone_does_not_stop_the_others(tmp_path):
    from xltool.serve.checker import Checker
    (tmp_path / "inbox" / "甲").mkdir(parents=True)
    (tmp_path / "inbox" / "甲" / "a.xlsx").write_bytes(GOOD.read_bytes())
    (tmp_path / "inbox" / "甲" / "b.xlsx").write_bytes(BAD.read_bytes())
    checker = Checker(tmp_path / "inbox", tmp_path / "out", jobs=1, timeout=60)
    gone = checker.submit("甲/a.xlsx")
    gone.cancel()                       # its client went away while it waited
    waiting = [checker.submit("甲/a.xlsx"), checker.submit("甲/b.xlsx")]
    checker.start()
    try:
        assert [f.result(timeout=120)["status"] for f in waiting] == ["accepted", "rejected"]
    finally:
        checker.stop()


def test_a_roster_naming_an_agency_twice_is_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from xltool.cli import app
    roster = tmp_path / "agencies.csv"
    roster.write_text("单位名称,年度,文件名\n某某区教育局,2024,a\n某某区教育局,2024,b\n", encoding="utf-8")
    done = CliRunner().invoke(app, ["serve", "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"),
                                    "--roster", str(roster)])
    assert done.exit_code == 2
    assert ":3:" in done.output and "one link per agency" in done.output
    assert not (tmp_path / "out" / tokens.LINKS_CSV).exists()


# --- the command itself, killed mid-upload ----------------------------------------------------------

def _start_cli_server(tmp_path: Path, roster: Path, port: int):
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "xltool.cli", "serve", "--inbox", str(tmp_path / "inbox"), "--out",
           str(tmp_path / "out"), "--roster", str(roster), "--port", str(port), "--jobs", "1"]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=1)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("xltool serve did not start")


def test_a_server_killed_mid_upload_leaves_no_partial_file_in_the_inbox(tmp_path):
    import signal
    import socket
    roster = write_roster(tmp_path / "agencies.csv")
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = _start_cli_server(tmp_path, roster, port)
    try:
        link = read_links(tmp_path / "out")["某某区教育局"]
        path = "/u/" + link.rsplit("/u/", 1)[1]
        boundary = "xltoolboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        total = len(head) + 2_000_000
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
                        f"X-Requested-With: test\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                        f"Content-Length: {total}\r\n\r\n").encode() + head + b"PK" + b"\0" * 600_000)
        incoming = tmp_path / "out" / INCOMING
        deadline = time.monotonic() + 30
        while not (incoming.is_dir() and any(p.stat().st_size > 0 for p in incoming.iterdir())):
            assert time.monotonic() < deadline, "the upload never reached the temp folder"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)         # the server dies mid-upload
        proc.wait(10)
        client.close()
        assert not [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()], "nothing half-written in the inbox"
        assert list(incoming.iterdir()), "the partial upload is only in OUT's temp folder"

        proc = _start_cli_server(tmp_path, roster, port)
        assert not list(incoming.iterdir()), "the restart removed it"
        assert read_links(tmp_path / "out")["某某区教育局"] == link
        r = upload(link, GOOD)
        assert r.status_code == 200 and r.json()["status"] == "accepted"
        assert len([p for p in (tmp_path / "inbox").rglob("*") if p.is_file()]) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) in (0, -signal.SIGTERM)     # uvicorn shuts down, then re-raises the signal
        log = proc.stderr.read().decode()
        assert "Finished server process" in log, log
        assert "/u/" not in log and "/admin/" not in log, "no token in the server's log"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_with_previous_the_runs_add_the_cross_year_warnings_for_the_coordinator(tmp_path):
    import json
    import random

    from xltool.form.forms import get_spec
    from xltool.generate.synth import random_inputs
    from xltool.generate.writer import Agency, WriteOptions, write_workbook
    from xltool.ingest.run import ingest
    spec = get_spec("govinfo-annual-2021")
    last = random_inputs(spec.layout, random.Random(1))
    (tmp_path / "in2023").mkdir()
    write_workbook(spec, tmp_path / "in2023" / "乙局.xlsx", Agency("乙局", 2023), WriteOptions(values=last))
    ingest(tmp_path / "in2023", tmp_path / "out2023", jobs=1)
    now = dict(last)
    now["t3.carried_over.research"] = last["t3.carried_forward.research"] + 2     # does not roll forward
    write_workbook(spec, tmp_path / "乙局_2024.xlsx", Agency("乙局", 2024), WriteOptions(values=now))

    roster = tmp_path / "agencies.csv"
    roster.write_text("单位名称,年度\n乙局,2024\n", encoding="utf-8")
    sock = loopback_socket()
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    intake = build_intake(tmp_path / "inbox", tmp_path / "out", roster, url, jobs=1, previous=tmp_path / "out2023")
    with Background(intake, sock):
        entry = upload(read_links(tmp_path / "out")["乙局"], tmp_path / "乙局_2024.xlsx").json()
        deadline = time.monotonic() + 60
        listed: list = []
        while not listed and time.monotonic() < deadline:    # the run goes on to write run.json
            report = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
            listed = [e for e in report["files"] if e["path"] == entry["path"]]
            time.sleep(0.05)
    codes = {f["code"] for e in listed for f in e["findings"]}
    assert "Y-CARRY" in codes
    from xltool.serve.server import ServeSetupError
    with pytest.raises(ServeSetupError):
        build_intake(tmp_path / "inbox", tmp_path / "out", roster, url, previous=tmp_path / "nowhere")
