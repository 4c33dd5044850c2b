"""The `xltool` command: a thin layer over the library. Heavy modules are imported inside
the commands, so `xltool --help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="xltool",
    help="政府信息公开年报等统计报表：生成锁定模板、收集、校验、转换为标准 JSON。\n\n"
         "Locked Excel templates for official statistical returns: generate, ingest, validate, convert.\n\n"
         "Example: xltool generate govinfo-annual-2021 -o 测试局.xlsx --agency 测试局 --year 2024",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def escape(text: str) -> str:
    """Paths, spec errors and agency text shown through rich stay text ("[x]" is not markup)."""
    from rich.markup import escape as rich_escape
    return rich_escape(text)


def _console(stderr: bool = False):
    from rich.console import Console
    return Console(stderr=stderr, highlight=False)


def _spec_or_exit(form: str):
    from xltool.form.forms import available_forms, get_spec
    from xltool.form.spec import SpecError
    try:
        return get_spec(form)
    except KeyError:
        forms = ", ".join(available_forms()) or "(none)"
        _console(True).print(f"[red]未知的报表 / unknown form[/red] {escape(str(form))}. 可用 / available: {forms}")
        raise typer.Exit(2)
    except SpecError as e:
        _console(True).print(f"[red]报表定义有误 / bad form spec:[/red] {escape(str(e))}")
        raise typer.Exit(2)


@app.command("forms")
def forms_cmd() -> None:
    """List the forms xltool knows.

    Example: xltool forms
    """
    from xltool.form.forms import available_forms
    for form_id, info in available_forms().items():
        typer.echo(f"{form_id}\t{info.description}")


@app.command("check-template")
def check_template_cmd(file: Path = typer.Argument(..., help="a form spec (.yaml)")) -> None:
    """Check a form spec file: keys, ids, formulas, layout. Prints where the problem is.

    Example: xltool check-template templates/govinfo-annual-2021.yaml
    """
    from xltool.form.forms import load_spec
    from xltool.form.spec import SpecError
    try:
        spec = load_spec(file)
        layout = spec.layout
    except SpecError as e:
        _console(True).print(f"[red]✗[/red] {escape(str(e))}")
        raise typer.Exit(1)
    n_in, n_f = len(layout.inputs()), len(layout.computed())
    typer.echo(f"✓ {spec.id}: {len(spec.sheets)} sheets, {n_in} input cells, {n_f} formulas, "
               f"{len(spec.rules)} rules, fingerprint {layout.fingerprint}")


@app.command("generate")
def generate_cmd(
    form: str = typer.Argument(..., help="form id (see `xltool forms`) or a spec file"),
    out: Path = typer.Option(..., "-o", "--out", help="FILE.xlsx, or a folder with --roster"),
    agency: str | None = typer.Option(None, "--agency", help="填报单位 (locked in the workbook)"),
    year: int | None = typer.Option(None, "--year", help="报告年度, e.g. 2024"),
    region: str | None = typer.Option(None, "--region", help="所属地区"),
    code: str | None = typer.Option(None, "--code", help="单位代码"),
    roster: Path | None = typer.Option(None, "--roster", help="CSV of agencies: one workbook each (docs/roster.md)"),
    password: str | None = typer.Option(None, "--password", help="sheet protection password (default: xltool)"),
) -> None:
    """Generate locked workbooks: one, or one per roster row.

    Examples:

      xltool generate govinfo-annual-2021 -o 测试局.xlsx --agency 测试局 --year 2024

      xltool generate govinfo-annual-2021 --roster samples/roster.csv --year 2024 -o out/templates/
    """
    from xltool.generate.batch import generate_one, generate_roster
    from xltool.generate.writer import DEFAULT_PASSWORD, Agency, WriteOptions

    spec = _spec_or_exit(form)
    if year is not None and year not in spec.years:
        _console(True).print(f"[yellow]注意 / note:[/yellow] {spec.id} is for report years "
                             f"{spec.years.first}–{spec.years.last or ''}, not {year}")
    options = WriteOptions(password=password or DEFAULT_PASSWORD)
    if roster is None:
        if out.suffix.lower() != ".xlsx":
            _console(True).print("[red]-o 应为 .xlsx 文件名 / -o must name an .xlsx file[/red] (or use --roster with a folder)")
            raise typer.Exit(2)
        path = generate_one(spec, out, Agency(agency, year, region, code), options)
        typer.echo(f"✓ {path}")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from xltool.generate.roster import RosterError, read_roster
    try:
        rows = read_roster(roster, default_year=year)
    except RosterError as e:
        _console(True).print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(2)
    with Progress(TextColumn("生成 / generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=_console(True), transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task("gen", total=len(rows))
        generate_roster(spec, rows, out, options, on_done=lambda r, p: bar.advance(task))
    typer.echo(f"✓ {len(rows)} workbooks in {out}")


@app.command("ingest")
def ingest_cmd(
    inbox: Path = typer.Argument(..., help="folder of returned workbooks (searched recursively; never written to)"),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="output folder: json/, run.json"),
    as_json: bool = typer.Option(False, "--json", help="print the run report (JSON) instead of the table"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="worker processes (default: the machine's cores)"),
    full: bool = typer.Option(False, "--full", help="reprocess every file, not only new or changed ones"),
    timeout: float = typer.Option(60.0, "--timeout", min=1, help="seconds one file may take before it is rejected"),
    previous: Path | None = typer.Option(None, "--previous", help="last year's output folder (or JSON folder): "
                                            "adds the cross-year warnings, matched by agency"),
) -> None:
    """Read, recalculate and validate every returned workbook; write canonical JSON and a run report.

    Files already seen with the same content (the ledger in --out) are reported, not processed
    again. Exit code: 0 every file accepted, 1 some file rejected, 2 usage error, busy, or an
    output folder that cannot be written; 3 internal error (details in OUT/xltool-error.log).

    Examples:

      xltool ingest samples/inbox --out out

      xltool ingest inbox2024/ --out out2024 --previous out2023
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from xltool.ingest.ledger import LedgerTooNew
    from xltool.ingest.run import IngestBusy, OutputInsideInbox, OutputUnusable, ingest
    from xltool.outputs.terminal import print_run

    if not inbox.is_dir():
        _console(True).print(f"[red]收件目录不存在 / no such folder:[/red] {escape(str(inbox))}")
        raise typer.Exit(2)
    err = _console(True)
    with Progress(TextColumn("校验 / checking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("ingest", total=None)
        if previous is not None and not previous.is_dir():
            err.print(f"[red]找不到上年的结果目录 / no such folder:[/red] {escape(str(previous))}")
            raise typer.Exit(2)
        try:
            report = ingest(inbox, out, jobs=jobs, full=full, timeout=timeout, previous=previous,
                            on_start=lambda n: bar.update(task, total=n), on_file=lambda r: bar.advance(task))
        except (OutputInsideInbox, IngestBusy, OutputUnusable, LedgerTooNew) as e:
            err.print(f"[red]{escape(str(e))}[/red]")
            raise typer.Exit(2)
        except Exception:   # a bug: the traceback goes to a log, the user gets one line and exit code 3
            err.print(f"[red]{escape(_log_internal_error(out))}[/red]")
            raise typer.Exit(3)
    for notice in report.notices:
        err.print(f"[yellow]注意 / note:[/yellow] {escape(notice.message)} / {escape(notice.message_en)}")
    if as_json:   # run.json as written (streamed there: thousands of entries are not encoded twice)
        sys.stdout.write((Path(report.out) / "run.json").read_text(encoding="utf-8"))
    else:
        print_run(report, _console())
    raise typer.Exit(report.exit_code)


INTERNAL_ERROR_LOG = "xltool-error.log"


def _log_internal_error(out: Path) -> str:
    """Write the current exception's traceback to OUT/xltool-error.log (or a temp file when OUT cannot
    be written); the one-line message that points to it."""
    import tempfile
    import traceback

    text = traceback.format_exc()
    for folder in (out, Path(tempfile.gettempdir())):
        log = folder / INTERNAL_ERROR_LOG
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
            break
        except OSError:
            continue
    else:
        return f"xltool 内部错误 / internal error: {text.strip().splitlines()[-1]}"
    return (f"xltool 内部错误，运行已中止；详细信息见 {log}，请把该文件发给管理员。 / "
            f"Internal error, the run stopped; details in {log}: send that file to the administrator.")


@app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="one filled workbook (.xlsx)"),
    as_json: bool = typer.Option(False, "--json", help="print the canonical JSON document"),
) -> None:
    """Check one workbook before sending it: the same checks as ingest. Writes nothing.

    Exit code: 0 no errors, 1 errors found, 2 usage error.

    Example: xltool validate 测试局.xlsx
    """
    from xltool.findings import REJECTED
    from xltool.ingest.pipeline import process_file
    from xltool.outputs.terminal import print_file

    if not file.is_file():
        _console(True).print(f"[red]找不到文件 / no such file:[/red] {escape(str(file))}")
        raise typer.Exit(2)
    result = process_file(file.resolve(), file.resolve().parent)
    if as_json:
        from xltool.form.canonical import dumps
        sys.stdout.write(dumps(result.document))
    else:
        print_file(result, _console())
    raise typer.Exit(1 if result.status == REJECTED else 0)


@app.command("schema")
def schema_cmd(form: str = typer.Argument(..., help="form id, e.g. govinfo-annual-2021")) -> None:
    """Print the JSON Schema of a form's canonical JSON documents.

    Example: xltool schema govinfo-annual-2021 > schema.json
    """
    from xltool.form.canonical import dumps, json_schema
    sys.stdout.write(dumps(json_schema(_spec_or_exit(form))))


@app.command("render")
def render_cmd(
    file: Path = typer.Argument(..., help="one canonical JSON document (out/json/….json)"),
    out: Path | None = typer.Option(None, "-o", "--out", help="HTML file to write (default: print it)"),
) -> None:
    """Render one return as the published report: tables 二、三、四 in the official layout and the text parts, as HTML.

    Example: xltool render out/json/测试局_2024.xlsx.json -o 测试局_2024.html
    """
    from xltool.fileio import write_atomic
    from xltool.form.canonical import loads
    from xltool.outputs.render import render_report_html

    err = _console(True)
    try:
        doc = loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        err.print(f"[red]无法读取 / cannot read[/red] {escape(str(file))}: {e}")
        raise typer.Exit(2)
    if not isinstance(doc, dict) or not isinstance(doc.get("form"), dict) or doc.get("values") is None:
        err.print(f"[red]不是可渲染的报表 JSON / not a canonical document of a recognised form:[/red] {escape(str(file))}")
        raise typer.Exit(2)
    _spec_or_exit(doc["form"].get("id", ""))
    if doc.get("status") != "accepted":
        err.print("[yellow]注意 / note:[/yellow] 该文件未通过校验，数字可能有误 / this return was rejected; its numbers may be wrong")
    page = render_report_html(doc)
    if out is None:
        sys.stdout.write(page)
    else:
        write_atomic(out, page)
        typer.echo(f"✓ {out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
