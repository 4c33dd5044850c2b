"""xltool: locked Excel templates for official statistical returns, and their ingestion.

The library comes first; the `xltool` command is a thin layer over these functions:

    import xltool

    spec = xltool.load_form("govinfo-annual-2021")            # a bundled form, or a spec file's path
    xltool.generate_workbook(spec, "测试局.xlsx", agency="测试局", year=2024)
    result = xltool.validate_file("测试局.xlsx")               # the verdict on one return
    print(result.status, [f.code for f in result.findings])
    report = xltool.ingest_folder("inbox/", "out/")           # a whole collection
    print(report.stats()["accepted"], "accepted")

The pipeline's stages are packages of their own, imported here only when a function is called
(so that `xltool --help` starts fast): form/ (spec, layout, canonical JSON), xlsx/ (guard and
readers), calc/ (recalculation), checks/ (what is wrong with a return), generate/ (writer, roster),
outputs/ (run report, feedback, summary, report.html), ingest/ (the run).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xltool.version import __version__

if TYPE_CHECKING:
    from xltool.form.spec import FormSpec
    from xltool.outputs.run_report import FileResult, RunReport

__all__ = ["__version__", "generate_workbook", "ingest_folder", "load_form", "validate_file"]


def load_form(form: str | Path) -> FormSpec:
    """A form spec by id (`govinfo-annual-2019`, `govinfo-annual-2021`, or one of $XLTOOL_TEMPLATES)
    or by the path of a spec file; checked and laid out. Raises KeyError for an unknown id and
    xltool.form.spec.SpecError for a spec that cannot be used."""
    from xltool.form.forms import get_spec  # here, not at the top: keeps `import xltool` light
    return get_spec(form)


def generate_workbook(form: str | Path | FormSpec, target: str | Path, agency: str | None = None,
                      year: int | None = None, region: str | None = None, code: str | None = None,
                      password: str | None = None) -> Path:
    """Write one locked workbook of `form` for an agency to fill, atomically; returns its path."""
    from xltool.generate.batch import generate_one
    from xltool.generate.writer import DEFAULT_PASSWORD, Agency, WriteOptions

    spec = form if not isinstance(form, (str, Path)) else load_form(form)
    options = WriteOptions(password=password or DEFAULT_PASSWORD)
    return generate_one(spec, Path(target), Agency(agency, year, region, code), options)


def validate_file(path: str | Path) -> FileResult:
    """The verdict on one returned file (status, findings, and the canonical document in
    `.document`), checked exactly as ingest checks it. Never raises for a bad file; writes nothing."""
    from xltool.ingest.pipeline import process_file

    path = Path(path).absolute()
    result = process_file(path, path.parent)
    result.source = result.workbook = None
    return result


def ingest_folder(inbox: str | Path, out: str | Path, **options) -> RunReport:
    """Ingest every return under `inbox` into `out` (JSON, run.json, report.html, feedback, summary);
    options as for `xltool ingest` (jobs, full, timeout, previous). Returns the run report."""
    from xltool.ingest.run import ingest
    return ingest(Path(inbox), Path(out), **options)
