"""Secret links: one random token per roster agency and one for the coordinator, and the CSRF field.

Only what checking a token needs is stored: its SHA-256, in OUT/.serve-tokens.json (mode 0600,
written atomically), with the server's secret for the CSRF fields. A presented token is hashed and
looked up, so no token is ever compared byte by byte. The tokens themselves are written once, for
the coordinator to send out: OUT/links.csv (单位名称, 统一社会信用代码, 链接; UTF-8 with BOM so
Excel opens it) and OUT/admin-link.txt, both mode 0600. A rotated token stops working at once.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from xltool.fileio import write_atomic
from xltool.outputs.summary_rows import FORMULA_TRIGGERS, csv_safe
from xltool.serve.agencies import Member

TOKENS_FILE = ".serve-tokens.json"
LINKS_CSV = "links.csv"
ADMIN_LINK = "admin-link.txt"
LINKS_HEADER = ("单位名称", "统一社会信用代码", "链接")
LOST_LINK = "（链接已发出但本文件中已无记录；如需重发，请运行 xltool serve --rotate 单位名称）"
_VERSION = 1


def new_token() -> str:
    return secrets.token_urlsafe(32)   # 256 random bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def write_private(target: Path, data: bytes) -> None:
    """Write atomically with mode 0600, whatever the umask: other users of a shared machine must not
    read the secrets. The temp name is the server's own: an ingest run on OUT clears `.tmp-*`, and
    `--rotate` may write while the server's run holds the folder."""
    write_atomic(target, data, mode=0o600, prefix=".serve-")


@dataclass
class Keyring:
    """Token hashes by agency name, the coordinator's token hash and the CSRF secret."""

    secret: str
    admin: str
    agencies: dict[str, str] = field(default_factory=dict)

    def member_for(self, token: str, members: list[Member]) -> Member | None:
        """The agency whose current token this is, or None (unknown, rotated, or not on the roster)."""
        wanted = token_hash(token)
        by_hash = {h: name for name, h in self.agencies.items()}
        name = by_hash.get(wanted)
        return next((m for m in members if m.name == name), None) if name else None

    def is_admin(self, token: str) -> bool:
        return hmac.compare_digest(token_hash(token), self.admin)

    def csrf(self, member: Member) -> str:
        """The CSRF field of this agency's form: tied to its current token, so a rotated link's
        old pages stop working too."""
        msg = f"csrf|{self.agencies.get(member.name, '')}".encode()
        return hmac.new(bytes.fromhex(self.secret), msg, hashlib.sha256).hexdigest()

    def csrf_ok(self, member: Member, value: str) -> bool:
        return hmac.compare_digest(self.csrf(member).encode(), (value or "").encode("utf-8", "replace"))

    def to_json(self) -> bytes:
        return json.dumps({"version": _VERSION, "secret": self.secret, "admin": self.admin,
                           "agencies": self.agencies}, ensure_ascii=False, indent=1).encode("utf-8")


def load_keyring(out: Path) -> Keyring | None:
    path = Path(out) / TOKENS_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Keyring(data["secret"], data["admin"], dict(data.get("agencies") or {}))


def agency_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def admin_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/admin/{token}"


def prepare(out: Path, members: list[Member], base_url: str) -> Keyring:
    """The keyring, created at first start; a token for every roster agency that has none yet.
    links.csv and admin-link.txt are (re)written with the links known, under `base_url`."""
    out = Path(out)
    ring = load_keyring(out)
    fresh: dict[str, str] = {}
    admin_token = None
    if ring is None:
        admin_token = new_token()
        ring = Keyring(secrets.token_hex(32), token_hash(admin_token))
    for m in members:
        if m.name not in ring.agencies:
            fresh[m.name] = new_token()
            ring.agencies[m.name] = token_hash(fresh[m.name])
    if admin_token is not None or fresh:
        write_private(out / TOKENS_FILE, ring.to_json())
    _write_links(out, ring, members, base_url, fresh)
    _write_admin_link(out, ring, base_url, admin_token)
    return ring


def rotate(out: Path, members: list[Member], base_url: str, name: str) -> str:
    """A new token for the agency named (or with that code); the old link stops working. Returns
    the new link. KeyError when no roster agency matches."""
    out = Path(out)
    ring = prepare(out, members, base_url)
    member = next((m for m in members if m.name == name), None) or next((m for m in members if m.code and m.code == name), None)
    if member is None:
        raise KeyError(name)
    token = new_token()
    ring.agencies[member.name] = token_hash(token)
    write_private(out / TOKENS_FILE, ring.to_json())
    _write_links(out, ring, members, base_url, {member.name: token})
    return agency_url(base_url, token)


def rotate_admin(out: Path, members: list[Member], base_url: str) -> str:
    out = Path(out)
    ring = prepare(out, members, base_url)
    token = new_token()
    ring.admin = token_hash(token)
    write_private(out / TOKENS_FILE, ring.to_json())
    _write_admin_link(out, ring, base_url, token)
    return admin_url(base_url, token)


def _known_tokens(out: Path, ring: Keyring) -> dict[str, str]:
    """The agencies' tokens still readable from links.csv and still current."""
    path = out / LINKS_CSV
    if not path.is_file():
        return {}
    known = {}
    for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
        if len(row) >= 3 and "/u/" in row[2]:
            token = row[2].rsplit("/u/", 1)[1].strip()
            name = row[0][1:] if row[0][:1] == "'" and row[0][1:].startswith(FORMULA_TRIGGERS) else row[0]
            if ring.agencies.get(name) == token_hash(token):
                known[name] = token
    return known


def _write_links(out: Path, ring: Keyring, members: list[Member], base_url: str, fresh: dict[str, str]) -> None:
    tokens = {**_known_tokens(out, ring), **fresh}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LINKS_HEADER)
    for m in members:
        token = tokens.get(m.name)
        w.writerow([csv_safe(m.name), csv_safe(m.code or ""), agency_url(base_url, token) if token else LOST_LINK])
    write_private(out / LINKS_CSV, ("\ufeff" + buf.getvalue()).encode("utf-8"))



def _write_admin_link(out: Path, ring: Keyring, base_url: str, token: str | None) -> None:
    path = out / ADMIN_LINK
    if token is None and path.is_file():
        old = path.read_text(encoding="utf-8").strip().rsplit("/admin/", 1)[-1]
        token = old if ring.is_admin(old) else None
    text = admin_url(base_url, token) if token else "（协调员链接已丢失，请运行 xltool serve --rotate-admin）"
    write_private(path, (text + "\n").encode("utf-8"))
