"""The Starlette app: routes, who may see what, and the security headers on every response.

    GET  /u/<token>                       the agency's page (JSON list with Accept: application/json)
    POST /u/<token>                       upload (multipart field `file`); the verdict at once
    GET  /u/<token>/feedback/<upload>     that agency's feedback workbook for one of its uploads
    GET  /admin/<token>, /admin?token=    the coordinator's progress page
    GET  /admin/<token>/files/<output>    report.html, summary.xlsx, values.csv, missing.csv, feedback/…

A token the keyring does not know (or no longer knows) is a 404, like any other unknown URL. An
agency's pages list only the uploads in its own inbox folder, and a download is looked up among
those (or, for the coordinator, among the outputs the run lists): a name from a URL is only ever
compared with names we made, never joined to a path.

CSRF: the upload form carries an HMAC of the agency's current token (checked on POST). Scripts
that send `Accept: application/json` and an `X-Requested-With` header are exempt: a browser sends
such a custom header cross-site only after a CORS preflight, which this server never grants.

The coordinator's page is computed on each load from the ledger (plus the verdicts of this run, in
memory): it is a cheap read and always current, even while the run outputs (report.html,
summary.xlsx, values.csv), which the checker refreshes after each batch of uploads, are being rewritten.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from xltool.outputs.report_html import FILTER_JS, PAGE_CSS
from xltool.serve import pages
from xltool.serve.agencies import Member
from xltool.serve.checker import kept_feedback
from xltool.serve.intake import Intake
from xltool.serve.upload import UploadRefused, receive, store

log = logging.getLogger("xltool.serve")
UPLOAD_NAME = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{6}(\.[a-z]{2,4})?")
VERDICT_WAIT = 90.0           # seconds a POST waits for its verdict before answering "still checking"
MAX_UPLOADS_PER_AGENCY = 500  # bounded: a leaked link cannot fill the disk
MAX_UPLOADS_LISTED = 100
MAX_UPLOADS_IN_FLIGHT = 100   # uploads being received or checked at once; more wait for a 503 and retry
ADMIN_OUTPUTS = ("report.html", "summary.xlsx", "values.csv", "missing.csv", "run.json")
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",          # the tokens are in the URLs
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
JSON_CLIENT_HEADER = "x-requested-with"


def security_headers(app):
    """ASGI middleware: the security headers on every response (a response may set its own CSP)."""
    async def wrapped(scope, receive_, send):
        if scope["type"] != "http":
            return await app(scope, receive_, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k.encode() not in present:
                        headers.append((k.encode(), v.encode()))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)
        await app(scope, receive_, send_with_headers)
    return wrapped


def create_app(intake: Intake) -> Starlette:
    def not_found() -> Response:
        return HTMLResponse(pages.error_page("页面不存在", "Not found. Check the link you were sent."), 404)

    def member_of(request: Request) -> Member | None:
        return intake.ring().member_for(request.path_params.get("token", ""), intake.members)

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def uploads_of(member: Member) -> list[str]:
        """The agency's uploads (names we made), newest first."""
        folder = intake.inbox / member.folder
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if UPLOAD_NAME.fullmatch(p.name)), reverse=True)

    def feedback_path(rel: str) -> Path | None:
        p = kept_feedback(intake.out, rel)
        return p if p.is_file() else None

    def view(member: Member, token: str, name: str, entries: dict[str, dict[str, Any]]) -> pages.UploadView:
        rel = f"{member.folder}/{name}"
        e = entries.get(rel)
        if e is None:
            return pages.UploadView(name, pages.received_text(name), None)
        fb = f"/u/{token}/feedback/{name}" if e.get("status") == "rejected" and feedback_path(rel) else None
        return pages.UploadView(name, pages.received_text(name), e.get("status"), e.get("findings") or [], fb,
                                e.get("errors", 0), e.get("warnings", 0), pages.mismatch_notices(member.name, member.year, e))

    async def agency_get(request: Request) -> Response:
        member = member_of(request)
        if member is None:
            return not_found()
        token = request.path_params["token"]
        entries = await run_in_threadpool(intake.entries)
        views = [view(member, token, n, entries) for n in uploads_of(member)[:MAX_UPLOADS_LISTED]]
        if wants_json(request):
            return JSONResponse({"agency": member.name, "uploads": [
                {"upload": v.name, "status": v.status, "errors": v.errors, "warnings": v.warnings,
                 "feedback_url": v.feedback_url} for v in views]})
        just = request.query_params.get("just")
        html = pages.agency_page(member.name, intake.form_labels.get(member.name, ""), member.year, views, f"/u/{token}",
                                 intake.ring().csrf(member), intake.max_bytes // (1024 * 1024), just)
        return HTMLResponse(html)

    async def agency_post(request: Request) -> Response:
        member = member_of(request)
        if member is None:
            return not_found()
        token = request.path_params["token"]
        api = wants_json(request) and JSON_CLIENT_HEADER in request.headers
        if len(uploads_of(member)) >= MAX_UPLOADS_PER_AGENCY:
            return refused(api, UploadRefused(429, "上传次数已达上限，请联系报表收集负责人。",
                                              "Too many uploads for this agency; contact the coordinator."))
        if intake.in_flight >= MAX_UPLOADS_IN_FLIGHT:
            return refused(api, UploadRefused(503, "服务器正忙，请稍等一分钟后重新上传。", "Busy: upload again in a minute."))
        intake.in_flight += 1     # the event loop's thread only: no lock needed
        try:
            return await receive_and_check(request, member, token, api)
        finally:
            intake.in_flight -= 1

    async def receive_and_check(request: Request, member: Member, token: str, api: bool) -> Response:
        try:
            received = await receive(request, intake.out, intake.max_bytes)
        except UploadRefused as e:
            return refused(api, e)
        if not api and not intake.ring().csrf_ok(member, received.fields.get("csrf", "")):
            received.temp.unlink(missing_ok=True)
            return refused(api, UploadRefused(403, "页面已过期，请刷新本页后重新上传。",
                                              "The form has expired (CSRF check); reload the page and upload again."))
        rel = await run_in_threadpool(store, received, intake.inbox, member.folder)
        name = rel.rsplit("/", 1)[1]
        entry = await verdict_of(rel)
        log.info("upload %s from %s: %s", rel, member.name, entry.get("status") if entry else "still being checked")
        if api:
            if entry is None:
                return JSONResponse({"path": rel, "status": None, "findings": []}, 202)
            fb = f"/u/{token}/feedback/{name}" if entry.get("status") == "rejected" and feedback_path(rel) else None
            return JSONResponse({**entry, "feedback_url": fb})
        return RedirectResponse(f"/u/{token}?just={quote(name)}#latest", 303)

    async def verdict_of(rel: str) -> dict[str, Any] | None:
        fut = asyncio.wrap_future(intake.checker.submit(rel))
        done, _ = await asyncio.wait({fut}, timeout=VERDICT_WAIT)
        if not done or fut.exception() is not None:
            if done:
                log.warning("no verdict for %s: %s", rel, fut.exception())
            return None
        entry = fut.result()
        intake.verdicts[rel] = entry
        intake.changed()
        return entry

    def refused(api: bool, e: UploadRefused) -> Response:
        if api:
            return JSONResponse({"error": e.zh, "error_en": e.en}, e.status)
        return HTMLResponse(pages.error_page(e.zh, e.en), e.status)

    async def agency_feedback(request: Request) -> Response:
        member = member_of(request)
        name = request.path_params["name"]
        if member is None or name not in uploads_of(member):
            return not_found()
        rel = f"{member.folder}/{name}"
        entry = (await run_in_threadpool(intake.entries)).get(rel)
        path = feedback_path(rel) if entry and entry.get("status") == "rejected" else None
        if path is None:
            return not_found()
        stamp = name[:15]
        return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            filename=f"反馈表_{member.folder}_{stamp}.xlsx")

    def admin_token(request: Request) -> str | None:
        token = request.path_params.get("token") or request.query_params.get("token") or ""
        return token if token and intake.ring().is_admin(token) else None

    async def admin_get(request: Request) -> Response:
        token = admin_token(request)
        if token is None:
            return not_found()
        entries = await run_in_threadpool(intake.entries)
        rows = [progress_row(m, entries) for m in intake.members]
        folders = {m.folder for m in intake.members}
        other = sum(1 for p in entries if p.split("/", 1)[0] not in folders)
        files = [(n, f"/admin/{token}/files/{n}") for n in ADMIN_OUTPUTS if (intake.out / n).is_file()]
        if wants_json(request):
            return JSONResponse({"agencies": [r.__dict__ for r in rows], "outputs": [n for n, _ in files]})
        return HTMLResponse(pages.admin_page(rows, files, other, intake.checker.last_error))

    def progress_row(m: Member, entries: dict[str, dict[str, Any]]) -> pages.AgencyRow:
        names = uploads_of(m)
        if not names:
            return pages.AgencyRow(m.name, m.code, "missing")
        e = entries.get(f"{m.folder}/{names[0]}")
        status = "checking" if e is None else ("accepted" if e.get("status") == "accepted" else "rejected")
        return pages.AgencyRow(m.name, m.code, status, pages.received_text(names[0]), len(names),
                               (e or {}).get("errors", 0))

    async def admin_file(request: Request) -> Response:
        token = admin_token(request)
        wanted = request.path_params["name"]
        if token is None:
            return not_found()
        if wanted in ADMIN_OUTPUTS:
            path = intake.out / wanted
        else:
            entries = await run_in_threadpool(intake.entries)
            match = next((e["feedback"] for e in entries.values() if e.get("feedback") == wanted), None)
            path = intake.out / match if match else None
        if path is None or not path.is_file():
            return not_found()
        headers = {"content-security-policy": report_csp()} if wanted == "report.html" else {}
        if path.suffix == ".html":
            return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)
        return FileResponse(path, filename=path.name, headers=headers)

    routes = [
        Route("/static/serve.css", lambda r: Response(pages.CSS, media_type="text/css; charset=utf-8")),
        Route("/static/serve.js", lambda r: Response(pages.JS, media_type="text/javascript; charset=utf-8")),
        Route("/favicon.ico", lambda r: Response(status_code=204)),   # browsers ask; a 404 would be noise
        Route("/u/{token}", agency_get, methods=["GET"]),
        Route("/u/{token}", agency_post, methods=["POST"]),
        Route("/u/{token}/feedback/{name}", agency_feedback, methods=["GET"]),
        Route("/admin", admin_get, methods=["GET"]),
        Route("/admin/{token}", admin_get, methods=["GET"]),
        Route("/admin/{token}/files/{name:path}", admin_file, methods=["GET"]),
    ]

    async def unknown(request, exc) -> Response:
        if getattr(exc, "status_code", 500) == 405:
            return HTMLResponse(pages.error_page("不支持的请求", "Method not allowed."), 405)
        return not_found()

    app = Starlette(routes=routes, exception_handlers={404: unknown, 405: unknown})
    app.state.intake = intake
    return security_headers(app)


def report_csp() -> str:
    """report.html has its own inline style and filter script: allow exactly those, by hash."""

    def h(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    return (f"default-src 'none'; style-src {h(PAGE_CSS)}; script-src {h(FILTER_JS)}; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
