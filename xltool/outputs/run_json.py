"""run.json: the run report as data, written entry by entry, its entries reused when unchanged.

The layout is form.canonical's (sorted keys, two-space indent), except that each file's entry is
one line (run_report.entry_line): readable and greppable at thousands of files, encoded by
simplejson's C encoder (an indented layout would not use it), and, for a verdict the ledger kept
as it is, the very text the ledger stores. The entries are the body of a spliced file
(outputs.spliced_file): a re-run whose entries are made from the same inputs copies them from
the run.json on disk and writes only the counts around them again.
"""

from __future__ import annotations

from pathlib import Path

from xltool.form.canonical import dumps
from xltool.outputs.run_report import RunReport
from xltool.outputs.spliced_file import write_spliced

_FILES_MARK = "\u0000files\u0000"   # stands for the file entries while the rest of run.json is encoded
_ENTRY_SEPARATOR = ",\n    "


def write_run_json(target: Path, report: RunReport, entries_key: str | None = None) -> str:
    """Write run.json (atomically; left as it is when the content is the same). `entries_key`
    names what the entries are made from (ingest.run's inputs key); None: encode them. Returns
    the content's sha256."""
    if not report.files:
        return write_spliced(target, dumps(report.to_dict()).encode("utf-8"), None, lambda put: None, b"")
    frame = dumps({**report.to_dict(entries=False), "files": [_FILES_MARK]})
    head, tail = frame.split(dumps(_FILES_MARK).strip(), 1)

    def entries(put) -> None:
        for i, r in enumerate(report.files):
            put(((_ENTRY_SEPARATOR if i else "") + r.entry_line()).encode("utf-8"))

    return write_spliced(target, head.encode("utf-8"), entries_key, entries, tail.encode("utf-8"))
