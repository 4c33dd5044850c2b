"""The one call ingest makes: the collection's status onto the run report, and missing.csv."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xltool.collection.missing_csv import MISSING_CSV, write_missing_csv
from xltool.outputs.run_report import RunReport

if TYPE_CHECKING:
    from xltool.collection.status import Roster


def attach_collection(report: RunReport, roster: Roster | None) -> None:
    """With a roster, each agency's status goes on the report (and so into run.json, report.html
    and the terminal) and OUT/missing.csv is written; without one, a missing.csv left by an earlier
    run with a roster is removed (it would list agencies this run did not look for)."""
    out = Path(report.out)
    if roster is None:
        (out / MISSING_CSV).unlink(missing_ok=True)
        return
    from xltool.collection.status import collection_status  # with a roster only: it loads the forms

    report.roster = collection_status(roster, report.files)
    write_missing_csv(report.roster, out / MISSING_CSV)
