"""What a run leaves for people, after run.json: feedback workbooks for the rejected returns,
summary.xlsx and values.csv from the accepted ones, and report.html linking them."""

from __future__ import annotations

from pathlib import Path

from .ingest import ACCEPTED, REJECTED, RunReport, write_atomic

FEEDBACK_DIR = "feedback"


def feedback_name(rel: str) -> str:
    """feedback/<relative path>, always .xlsx (an x.xls that is really an .xlsx -> x.xls.xlsx)."""
    return f"{FEEDBACK_DIR}/{rel}" if rel.lower().endswith(".xlsx") else f"{FEEDBACK_DIR}/{rel}.xlsx"


def write_outputs(report: RunReport) -> None:
    """After run.json: a marked-up copy of every rejected return that was read as a form,
    summary.xlsx and values.csv from the accepted returns in use, and report.html linking them."""
    from .aggregate import write_summary, write_values_csv
    from .canonical import loads
    from .feedback import write_feedback
    from .report_html import render_run_report

    inbox, out = Path(report.inbox), Path(report.out)
    links: dict[str, str] = {}
    for r in report.files:
        if r.status == REJECTED and r.form is not None and r.superseded_by is None:
            name = feedback_name(r.path)
            try:
                write_feedback(inbox / r.path, r.findings, out / name)
            except Exception:  # a marked-up copy is a courtesy: it must not stop the run
                continue
            links[r.path] = name
    _remove_stale_feedback(out, set(links.values()))
    # read back from json/: a file the ledger reused has no document in memory
    in_use = [loads((out / r.json).read_text(encoding="utf-8")) for r in report.files
              if r.status == ACCEPTED and r.superseded_by is None and r.json]
    write_summary(in_use, out / "summary.xlsx")
    write_values_csv(in_use, out / "values.csv")
    write_atomic(out / "report.html", render_run_report(report.to_dict(), links))


def _remove_stale_feedback(out: Path, current: set[str]) -> None:
    """A feedback workbook of a file that is now accepted (or gone) would only mislead."""
    for old in (out / FEEDBACK_DIR).rglob("*.xlsx"):
        if old.relative_to(out).as_posix() not in current:
            old.unlink(missing_ok=True)
