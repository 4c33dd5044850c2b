"""Show that a change left ingest's behaviour alone: the same inboxes, ingested by an earlier
commit and by this tree, give byte-identical JSON documents and run.json, apart from the
version string (and run.json's own inbox/out paths).

Usage (from the repository root):

    python scripts/same_outputs.py --before a89f3c0            # samples + bad-file corpus
    python scripts/same_outputs.py --before a89f3c0 --inbox DIR  # any inbox of your own

The earlier commit is checked out with `git worktree` into a temporary folder and run from
there (`python -c 'from xltool.cli import main; main()'`), so both versions read the very same
files: the bad-file corpus is built once, by this tree's scripts/make_corpus.py, and its zip
timestamps do not differ between the two runs. Exit code 0 when every output is identical,
1 with a list of the differing files otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.compile(rb'"xltool_version": ?"[^"]*"')


def ingest(code_root: Path, inbox: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    subprocess.run([sys.executable, "-c", "from xltool.cli import main; main()", "ingest", str(inbox),
                    "--out", str(out), "--jobs", "2", "--json"],
                   cwd=code_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def normalised(path: Path) -> bytes:
    data = VERSION.sub(b'"xltool_version": "*"', path.read_bytes())
    if path.name == "run.json":   # its own paths differ by construction
        doc = json.loads(data)
        doc["inbox"] = doc["out"] = "*"
        data = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return data


def compare(before: Path, after: Path) -> list[str]:
    names = sorted({p.relative_to(before).as_posix() for p in before.rglob("*.json")}
                   | {p.relative_to(after).as_posix() for p in after.rglob("*.json")})
    differ = []
    for name in names:
        a, b = before / name, after / name
        if not a.is_file() or not b.is_file() or normalised(a) != normalised(b):
            differ.append(name)
    return differ


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the earlier commit (any git revision)")
    ap.add_argument("--inbox", type=Path, action="append", help="an inbox to compare on (default: samples + corpus)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="xltool-same-") as tmp_name:
        tmp = Path(tmp_name)
        old = tmp / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), args.before], cwd=ROOT, check=True)
        try:
            inboxes = args.inbox
            if not inboxes:
                corpus = tmp / "corpus"
                subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), str(corpus)],
                               check=True, stdout=subprocess.DEVNULL)
                inboxes = [ROOT / "samples" / "inbox", corpus]
            failures = 0
            for i, inbox in enumerate(inboxes):
                a, b = tmp / f"out-before-{i}", tmp / f"out-after-{i}"
                ingest(old, inbox, a)
                ingest(ROOT, inbox, b)
                differ = compare(a, b)
                total = len(list(a.rglob("*.json")))
                print(f"{inbox}: {total - len(differ)} of {total} JSON outputs identical"
                      + ("" if not differ else f"; differ: {', '.join(differ[:20])}"))
                failures += bool(differ)
            return 1 if failures else 0
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())
