"""Output names: where a return's JSON and feedback workbook go, derived safely from its inbox path.

An inbox path is taken as the raw bytes the file system gave (a str from os.fsdecode, whose
undecodable bytes are lone surrogates). Normally the output mirrors the inbox: 局/a.xlsx ->
json/局/a.xlsx.json. A component is replaced by a readable prefix plus `~` and a 16-hex hash of the
whole raw path up to it when it could not be written or could clash:

- it is not valid UTF-8 (GBK bytes from a zip made on Chinese Windows);
- with the output suffix it would exceed the file system's 255 bytes per component;
- it is a folder whose name ends like an output file (a folder `a.xlsx.json/` beside `a.xlsx`);
- it already looks like a hashed name (so that a hashed name never equals a name kept as it is).

A path too long in total is written flat, hashed, under the output folder. Two inbox entries
therefore never share an output: kept names are their own paths, hashed names differ by the hash
of the raw path. Nothing here touches the file system.
"""

from __future__ import annotations

import hashlib
import os
import re

from xltool.findings import printable

JSON_DIR = "json"
FEEDBACK_DIR = "feedback"
COMPONENT_MAX = 240     # bytes; the file system allows 255, the rest is room for temp-file prefixes
TOTAL_MAX = 1024        # bytes of the name below the output folder (PATH_MAX is 4096 with the folder)
PREFIX_MAX = 60         # bytes of readable prefix kept in a hashed name
_HASHED = re.compile(r"~[0-9a-f]{16}($|\.)")
_OUTPUT_ENDINGS = (".json", ".xlsx")


def raw_bytes(raw: str) -> bytes:
    """The file system's bytes of a name from os.fsdecode / os.walk."""
    return os.fsencode(raw)


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def _prefix(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-8 bytes, cut between characters."""
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", "ignore")


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _component(part: bytes, upto: bytes, suffix: str, is_dir: bool, force_hash: bool = False) -> str:
    text = printable(os.fsdecode(part))
    keep = (not force_hash and _valid_utf8(part) and len(part) + len(suffix.encode()) <= COMPONENT_MAX
            and not _HASHED.search(text)
            and not (is_dir and text.casefold().endswith(_OUTPUT_ENDINGS)))
    if keep:
        return text + suffix
    return f"{_prefix(text, PREFIX_MAX)}~{_digest(upto)}{suffix}"


def output_name(raw_rel: str, folder: str, suffix: str, force_hash: bool = False) -> str:
    """`folder/<mirrored path><suffix>` for the inbox file at `raw_rel` (relative, / separators);
    `force_hash`: hash the file's own name even when it could be kept."""
    raw = raw_bytes(raw_rel)
    parts = raw.split(b"/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        out.append(_component(part, b"/".join(parts[:i + 1]), suffix if last else "", is_dir=not last,
                              force_hash=last and force_hash))
    name = "/".join([folder, *out])
    if len(name.encode("utf-8")) <= TOTAL_MAX:
        return name
    # too deep or too long in total: flat under the folder, still readable at its start
    return f"{folder}/{_prefix(printable(os.fsdecode(parts[-1])), PREFIX_MAX)}~{_digest(raw)}{suffix}"


def json_name(raw_rel: str) -> str:
    """A return's canonical JSON, relative to the output folder."""
    return output_name(raw_rel, JSON_DIR, ".json")


def feedback_name(raw_rel: str) -> str:
    """A return's feedback workbook, always .xlsx: a.xlsx -> feedback/a.xlsx. Any other name gets
    the suffix and a hash (x.xls -> x.xls~<hash>.xlsx), so that it never takes the name of an x.xls.xlsx."""
    raw = raw_bytes(raw_rel)
    if raw.endswith(b".xlsx"):
        return output_name(os.fsdecode(raw[:-5]), FEEDBACK_DIR, ".xlsx")
    return output_name(raw_rel, FEEDBACK_DIR, ".xlsx", force_hash=True)
