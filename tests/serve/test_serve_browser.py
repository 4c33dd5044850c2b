"""`xltool serve` in a real browser: Chromium (Debian's, driven by Playwright) opens an agency's
secret link, picks a file, uploads it, sees the verdict and the findings, downloads the feedback
workbook; the coordinator's page shows the progress change. The page must work under its own CSP
(no inline script or style), so any CSP violation in the console fails the test."""

from __future__ import annotations

import io
import os
import time

import openpyxl
import pytest

from xltool.ingest.pipeline import process_file

from browser import require_chromium
from test_serve import BAD, GOOD, running_server

pytestmark = pytest.mark.chromium
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = os.environ.get("XLTOOL_CHROMIUM") or "/usr/bin/chromium"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def server(tmp_path):
    with running_server(tmp_path) as (served, intake):
        deadline = time.monotonic() + 60
        while intake.checker.runs == 0 and time.monotonic() < deadline:   # the first run writes report.html
            time.sleep(0.05)
        yield served.links, served.admin


def totals(page) -> dict[str, int]:
    return {k: int(page.locator(f"#total-{k} .n").inner_text()) for k in ("accepted", "rejected", "missing")}


def test_an_agency_uploads_in_the_browser_sees_the_verdict_and_downloads_its_feedback(browser, server, tmp_path):
    links, admin = server
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(admin)
    before = totals(page)
    assert before["missing"] == len(links)

    page.goto(links["某某区卫生健康委员会"])
    assert page.locator("h1").inner_text() == "某某区卫生健康委员会"
    assert "2020 年度" in page.locator(".sub").inner_text()
    page.set_input_files("#file", str(BAD))
    with page.expect_navigation():
        page.click("button[type=submit]")
    verdict = page.locator("#latest")
    verdict.wait_for(timeout=30000)
    assert "✗ 退回" in verdict.inner_text()
    first = process_file(BAD, BAD.parent).findings[0]
    assert first.message in verdict.inner_text()
    assert first.message_en in verdict.inner_text()

    with page.expect_download() as dl:
        page.click("#feedback-link")
    saved = tmp_path / "feedback.xlsx"
    dl.value.save_as(saved)
    wb = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))
    assert len(wb.sheetnames) > 1, "the feedback workbook has the findings sheet"

    page.goto(links["乐山市机关事务管理局"])
    page.set_input_files("#file", str(GOOD))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "✓ 通过" in page.locator("#latest").inner_text()

    page.goto(admin)
    after = totals(page)
    assert after == {"accepted": before["accepted"] + 1, "rejected": before["rejected"] + 1,
                     "missing": before["missing"] - 2}
    row = page.locator("#progress tr", has_text="某某区卫生健康委员会")
    assert "待修改" in row.inner_text()
    assert not problems, problems
    context.close()


def test_the_coordinator_opens_report_html_under_its_hash_csp(browser, server):
    links, admin = server
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(admin)
    page.click("text=report.html")
    page.wait_for_load_state()
    assert "收件校验报告" in page.locator("h1").inner_text()
    page.check("#only-rejected")       # the inline filter script runs: its hash is allowed
    assert not errors, errors
    context.close()
