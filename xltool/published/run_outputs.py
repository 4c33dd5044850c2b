"""What an import leaves for people, made by ingest's own writers: run.json, report.html, and
summary.xlsx and values.csv of the reports read without errors.

Imported reports are canonical documents like ingest's, so the run report, the summary and the
page are the same code over them: a folder of last year's published reports gives the same
report.html and summary.xlsx as a collection of the same numbers through ingest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from xltool.findings import ACCEPTED, REJECTED
from xltool.outputs.run_json import write_run_json
from xltool.outputs.run_outputs import write_outputs
from xltool.outputs.run_report import FileResult, RunReport
from xltool.outputs.summary import SummaryRows, in_memory
from xltool.outputs.summary_rows import SummaryRow, summary_row
from xltool.published.importer import ImportResult


class ImportedDocuments:
    """The summary's source (outputs.run_outputs.SummarySource) over the imported documents."""

    def __init__(self, rows: dict[str, SummaryRow | None]):
        self._rows = rows

    def summary_rows(self, keys: Callable[[], Iterable[str]]) -> SummaryRows:
        return in_memory(self._rows[k] for k in keys() if k in self._rows)


def write_import_outputs(results: list[ImportResult], out: Path) -> RunReport:
    """run.json, report.html, summary.xlsx and values.csv for these imported reports, in `out`
    (where their JSON documents already are)."""
    out = Path(out)
    files, rows = [], {}
    for r in results:
        entry = _file_result(r, out)
        files.append(entry)
        if entry.status == ACCEPTED:
            rows[entry.path] = summary_row(r.document)
    files.sort(key=lambda f: f.path)
    sources = [str(Path(r.path).parent) for r in results]
    report = RunReport(os.path.commonpath(sources) if sources else "", str(out), files)
    write_run_json(out / "run.json", report)
    write_outputs(report, ImportedDocuments(rows))
    return report


def _file_result(r: ImportResult, out: Path) -> FileResult:
    doc = r.document
    source = doc.get("source") or {}
    try:
        st = os.stat(r.path)
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size, mtime = 0, 0.0
    json_name = r.json.relative_to(out).as_posix() if r.json is not None else None
    return FileResult(path=json_name[:-len(".json")] if json_name else Path(r.path).name, size=size, mtime=mtime,
                      sha256=source.get("sha256") or "", status=ACCEPTED if doc.get("status") == ACCEPTED else REJECTED,
                      findings=list(r.findings), form=(doc.get("form") or {}).get("id"), agency=doc.get("agency"),
                      year=doc.get("year"), json=json_name)
