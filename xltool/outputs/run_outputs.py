"""What a run leaves for people, after run.json: feedback workbooks for the rejected returns,
summary.xlsx and values.csv from the accepted ones, and report.html linking them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from xltool.fileio import write_atomic
from xltool.findings import ACCEPTED, REJECTED
from xltool.outputs.run_report import FileResult, RunReport

FEEDBACK_DIR = "feedback"
SUMMARY_KEY = ".summary-key"      # which accepted returns summary.xlsx and values.csv were made from


def feedback_name(rel: str) -> str:
    """feedback/<relative path>, always .xlsx (an x.xls that is really an .xlsx -> x.xls.xlsx)."""
    return f"{FEEDBACK_DIR}/{rel}" if rel.lower().endswith(".xlsx") else f"{FEEDBACK_DIR}/{rel}.xlsx"


def write_feedback_for(inbox: Path, out: Path, r: FileResult) -> bool:
    from xltool.outputs.feedback import write_feedback
    try:
        write_feedback(r.source if r.source is not None else inbox / r.path, r.findings,
                       out / feedback_name(r.path), form=r.form, workbook=r.workbook)
        return True
    except Exception:  # a marked-up copy is a courtesy: it must not stop the run
        return False


def write_outputs(report: RunReport) -> None:
    """After run.json: the feedback workbooks of the rejected returns in use (the workers wrote
    those of the files checked in this run), summary.xlsx and values.csv from the accepted returns
    in use (remade only when that set changed), and report.html linking them."""
    from xltool.outputs.report_html import render_run_report

    inbox, out = Path(report.inbox), Path(report.out)
    links: dict[str, str] = {}
    for r in report.files:
        if r.status == REJECTED and r.form is not None and r.superseded_by is None:
            name = feedback_name(r.path)
            if (out / name).is_file() or write_feedback_for(inbox, out, r):
                links[r.path] = name
    _remove_stale_feedback(out, set(links.values()))
    _write_summaries(report, out)
    write_atomic(out / "report.html", render_run_report(report.to_dict(), links))


def _write_summaries(report: RunReport, out: Path) -> None:
    from xltool.form.canonical import loads
    from xltool.outputs.summary import write_summary, write_values_csv

    in_use = [r for r in report.files if r.status == ACCEPTED and r.superseded_by is None and r.json]
    key = hashlib.sha256("\n".join(f"{r.path}\t{r.sha256}" for r in in_use).encode("utf-8")).hexdigest()
    key_file = out / SUMMARY_KEY
    current = key_file.read_text(encoding="utf-8").strip() if key_file.is_file() else ""
    if current == key and (out / "summary.xlsx").is_file() and (out / "values.csv").is_file():
        return  # the same accepted returns as last time: the same sums
    # read back from json/ (the documents are not kept in memory), keeping only what the sums and
    # the per-agency rows use: thousands of whole documents would cost hundreds of MB
    docs = [_for_summary(loads((out / r.json).read_text(encoding="utf-8"))) for r in in_use]
    write_summary(docs, out / "summary.xlsx")
    write_values_csv(docs, out / "values.csv")
    write_atomic(key_file, key)


def _for_summary(doc: dict) -> dict:
    """A document slimmed to its identity and table values, keys interned (shared by all)."""
    import sys

    from xltool.form.forms import get_spec

    values = doc.get("values") or {}
    try:
        cells = get_spec(doc["form"]["id"]).layout.cells
    except (KeyError, TypeError):
        return doc
    kept = {sys.intern(k): v for k, v in values.items() if k in cells and cells[k].table is not None}
    return {"status": doc.get("status"), "form": doc.get("form"), "agency": doc.get("agency"),
            "year": doc.get("year"), "region": doc.get("region"), "code": doc.get("code"),
            "source": {"file": (doc.get("source") or {}).get("file")}, "values": kept}


def _remove_stale_feedback(out: Path, current: set[str]) -> None:
    """A feedback workbook of a file that is now accepted (or gone) would only mislead."""
    for old in (out / FEEDBACK_DIR).rglob("*.xlsx"):
        if old.relative_to(out).as_posix() not in current:
            old.unlink(missing_ok=True)
