"""The `xltool` command: a thin layer over the library. Heavy modules are imported inside
the commands, so `xltool --help` stays fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
import typer.core


def _no_type_on_help(option):
    if option is not None:
        option.metavar = ""   # typer (with click 8.2+) shows `<bool>` after --help otherwise
    return option


class _Command(typer.core.TyperCommand):
    def get_help_option(self, ctx):
        return _no_type_on_help(super().get_help_option(ctx))


class _Group(typer.core.TyperGroup):
    def get_help_option(self, ctx):
        return _no_type_on_help(super().get_help_option(ctx))


def flag(name: str, help: str, short: str | None = None):
    """An on/off option shown as just its name in --help (no `<bool>` after it)."""
    names = (name, short) if short else (name,)
    return typer.Option(False, *names, help=help, metavar="")


app = typer.Typer(
    cls=_Group,
    name="xltool",
    help="政府信息公开年报等统计报表：生成锁定模板、收集、校验、转换为标准 JSON。\n\n"
         "Locked Excel templates for official statistical returns: generate, ingest, validate, convert.\n\n"
         "Example: xltool generate govinfo-annual-2021 -o 测试局.xlsx --agency 测试局 --year 2024",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
command = lambda name: app.command(name, cls=_Command)  # noqa: E731


def _version(value: bool) -> None:
    if value:
        from xltool.version import __version__
        typer.echo(f"xltool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", help="print the version and exit", metavar="",
                                       is_eager=True, callback=_version)) -> None:
    """政府信息公开年报等统计报表：生成锁定模板、收集、校验、转换为标准 JSON。"""


def escape(text: str) -> str:
    """Paths, spec errors and agency text shown through rich stay text ("[x]" is not markup)."""
    from rich.markup import escape as rich_escape
    return rich_escape(text)


def _console(stderr: bool = False):
    from rich.console import Console
    return Console(stderr=stderr, highlight=False)


def _fail(message: str, code: int = 2):
    """Print a message (zh / en, already escaped where it quotes a path) to stderr and exit. Soft wrap:
    the terminal wraps long lines, so a path is never broken by an inserted newline (it can be copied)."""
    _console(True).print(message, soft_wrap=True)
    raise typer.Exit(code)


def _os_error_text(e: OSError) -> str:
    import errno
    reasons = {errno.EACCES: ("没有写入权限", "permission denied"), errno.EPERM: ("没有写入权限", "permission denied"),
               errno.EROFS: ("是只读的文件系统", "read-only file system"),
               errno.ENOTDIR: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder"),
               errno.EISDIR: ("这是一个文件夹", "it is a folder"), errno.ENOSPC: ("磁盘已满", "disk full"),
               errno.EEXIST: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder")}
    zh, en = reasons.get(e.errno, (e.strerror or str(e), e.strerror or str(e)))
    where = escape(str(e.filename)) if e.filename else ""
    return f"{zh} / {en}" + (f": {where}" if where else "")


def _cannot_write(target: Path, e: OSError) -> None:
    _fail(f"[red]无法写入输出 / cannot write the output[/red] {escape(str(target))}：{_os_error_text(e)}。"
          f"请换一个可写的位置，或检查文件夹权限 / choose a writable place or check the folder's permissions.")


def _output_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot take output files (zh / en), or None; checked before anything is written."""
    import os
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return f"“{probe}”是文件，不是文件夹 / '{probe}' is a file, not a folder"
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        return f"没有写入“{probe}”的权限（或为只读）/ no permission to write in '{probe}' (or it is read-only)"
    return None


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


@command("forms")
def forms_cmd() -> None:
    """List the forms xltool knows.

    Example: xltool forms
    """
    from xltool.form.forms import available_forms
    for form_id, info in available_forms().items():
        typer.echo(f"{form_id}\t{info.description}")


@command("check-template")
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


@command("generate")
def generate_cmd(
    form: str = typer.Argument(..., help="form id (see `xltool forms`) or a spec file"),
    out: Path = typer.Option(..., "-o", "--out", help="FILE.xlsx, or a folder with --roster"),
    agency: str | None = typer.Option(None, "--agency", help="填报单位 (locked in the workbook)"),
    year: int | None = typer.Option(None, "--year", help="报告年度, e.g. 2024"),
    region: str | None = typer.Option(None, "--region", help="所属地区"),
    code: str | None = typer.Option(None, "--code", help="单位代码"),
    roster: Path | None = typer.Option(None, "--roster", help="CSV of agencies: one workbook each (docs/roster.md)"),
    password: str | None = typer.Option(None, "--password", help="sheet protection password (default: xltool)"),
    force: bool = flag("--force", "overwrite workbooks that already exist (a filled return among them is lost)"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="processes writing a roster's workbooks (default: the cores)"),
) -> None:
    """Generate locked workbooks: one, or one per roster row. Existing files are never
    overwritten without --force.

    Examples:

      xltool generate govinfo-annual-2021 -o 测试局.xlsx --agency 测试局 --year 2024

      xltool generate govinfo-annual-2021 --roster samples/roster.csv --year 2024 -o out/templates/ --jobs 2
    """
    from xltool.generate.batch import generate_one, generate_roster
    from xltool.generate.writer import DEFAULT_PASSWORD, Agency, WriteOptions

    spec = _spec_or_exit(form)
    if jobs is not None and jobs < 1:
        _fail(f"[red]--jobs 应为 1 或更大的整数（现为 {jobs}）/ --jobs must be 1 or more (got {jobs})[/red]")
    if year is not None and year not in spec.years:
        _console(True).print(f"[yellow]注意 / note:[/yellow] {spec.id} is for report years "
                             f"{spec.years.first}–{spec.years.last or ''}, not {year}")
    options = WriteOptions(password=password or DEFAULT_PASSWORD)
    if roster is None:
        if out.suffix.lower() != ".xlsx" or out.is_dir():
            _fail("[red]-o 应为 .xlsx 文件名 / -o must name an .xlsx file[/red] (or use --roster with a folder)")
        _refuse_overwrite([out], force)
        problem = _output_folder_problem(out.parent)
        if problem:
            _fail(f"[red]无法写入 / cannot write[/red] {escape(str(out))}：{escape(problem)}")
        try:
            path = generate_one(spec, out, Agency(agency, year, region, code), options)
        except OSError as e:
            _cannot_write(out, e)
        typer.echo(f"✓ {path}")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from xltool.generate.roster import RosterError, read_roster
    try:
        rows = read_roster(roster, default_year=year)
    except RosterError as e:
        _fail(f"[red]{escape(str(e))}[/red]")
    problem = _output_folder_problem(out)
    if problem:
        _fail(f"[red]无法写入输出文件夹 / cannot write the output folder[/red] {escape(str(out))}：{escape(problem)}")
    _refuse_overwrite([out / row.file for row in rows], force)
    try:
        with Progress(TextColumn("生成 / generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=_console(True), transient=not sys.stderr.isatty()) as bar:
            task = bar.add_task("gen", total=len(rows))
            generate_roster(spec, rows, out, options, on_done=lambda r, p: bar.advance(task),
                            jobs=jobs or os.cpu_count() or 1)
    except OSError as e:
        _cannot_write(out, e)
    typer.echo(f"✓ {len(rows)} workbooks in {out}")


def _refuse_overwrite(targets: list[Path], force: bool, shown: int = 10) -> None:
    """Stop before writing when any target exists (it may be a filled return), unless --force."""
    existing = [t for t in targets if t.exists()]
    if not existing or force:
        return
    names = "\n".join(f"  {escape(str(t))}" for t in existing[:shown])
    more = f"\n  …另有 {len(existing) - shown} 个 / and {len(existing) - shown} more" if len(existing) > shown else ""
    _fail(f"[red]以下 {len(existing)} 个文件已存在，未生成任何文件 / {len(existing)} file(s) already exist, nothing was "
          f"written:[/red]\n{names}{more}\n已填写的报表会被覆盖而丢失：请换一个输出位置，或确认后加 --force 覆盖 / "
          f"a filled return would be lost: choose another place, or add --force to overwrite them.")


@command("ingest")
def ingest_cmd(
    inbox: Path = typer.Argument(..., help="folder of returned workbooks (searched recursively; never written to)"),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="output folder: json/, run.json"),
    as_json: bool = flag("--json", "print the run report (JSON) instead of the table"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="worker processes, 1 or more (default: the machine's cores)"),
    full: bool = flag("--full", "reprocess every file, not only new or changed ones"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds one file may take before it is rejected (1 or more)"),
    previous: Path | None = typer.Option(None, "--previous", help="last year's output folder (or JSON folder): "
                                            "adds the cross-year warnings, matched by agency"),
    roster: Path | None = typer.Option(None, "--roster", help="CSV of the agencies asked to report (docs/roster.md): "
                                          "each gets its status; OUT/missing.csv lists who is still missing"),
) -> None:
    """Read, recalculate and validate every returned workbook; write canonical JSON and a run report.

    Files already seen with the same content (the ledger in --out) are reported, not processed
    again. With --roster, every agency on it is 已通过 accepted, 退回待改 rejected or 未报送
    missing (run.json, report.html, OUT/missing.csv). Exit code: 0 every file accepted, 1 some
    file rejected, 2 usage error, busy, or an output folder that cannot be written; 3 internal
    error (details in OUT/xltool-error.log).

    Examples:

      xltool ingest samples/inbox --out out --roster samples/roster.csv

      xltool ingest inbox2024/ --out out2024 --previous out2023
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from xltool.ingest.ledger import LedgerTooNew
    from xltool.ingest.run import IngestBusy, OutputInsideInbox, OutputUnusable, ingest
    from xltool.outputs.terminal import print_run

    if not inbox.exists():
        _fail(f"[red]收件目录不存在 / no such folder:[/red] {escape(str(inbox))}")
    if not inbox.is_dir():
        _fail(f"[red]收件目录应为文件夹，这是一个文件 / the inbox must be a folder; this is a file:[/red] {escape(str(inbox))}"
              f"\n检查单个文件请用 / to check one file use: xltool validate {escape(str(inbox))}")
    if jobs is not None and jobs < 1:
        _fail(f"[red]--jobs 应为 1 或更大的整数（现为 {jobs}）/ --jobs must be 1 or more (got {jobs})[/red]")
    if not timeout >= 1:
        _fail(f"[red]--timeout 应至少为 1 秒（现为 {timeout}）/ --timeout must be at least 1 second (got {timeout})[/red]")
    loaded = _roster_or_exit(roster) if roster is not None else None
    err = _console(True)
    with Progress(TextColumn("校验 / checking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("ingest", total=None)
        if previous is not None and not previous.is_dir():
            err.print(f"[red]找不到上年的结果目录 / no such folder:[/red] {escape(str(previous))}")
            raise typer.Exit(2)
        try:
            report = ingest(inbox, out, jobs=jobs, full=full, timeout=timeout, previous=previous, roster=loaded,
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


def _roster_or_exit(path: Path):
    """The roster for a collection, or exit 2 with every problem and its line number. Columns the
    roster does not use are named on stderr (they are not an error)."""
    from xltool.collection.status import load_roster
    from xltool.generate.roster import RosterError

    notes: list[tuple[int, str]] = []
    try:
        loaded = load_roster(path, notes=notes)
    except RosterError as e:
        _fail(f"[red]{escape(str(e))}[/red]")
    for line, note in notes:
        _console(True).print(f"[yellow]注意 / note:[/yellow] {escape(f'{path}:{line}: {note}')}")
    return loaded


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


@command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="one filled workbook (.xlsx)"),
    as_json: bool = flag("--json", "print the canonical JSON document"),
) -> None:
    """Check one workbook before sending it: the same checks as ingest. Writes nothing.

    Exit code: 0 no errors, 1 errors found, 2 usage error.

    Example: xltool validate 测试局.xlsx
    """
    from xltool.findings import REJECTED
    from xltool.ingest.pipeline import process_file
    from xltool.outputs.terminal import print_file

    if file.is_dir():
        _fail(f"[red]这是一个文件夹，validate 检查单个文件 / this is a folder; validate checks one file:[/red] "
              f"{escape(str(file))}\n检查整个文件夹请用 / for a whole folder use: xltool ingest {escape(str(file))} --out out")
    if not file.is_file():
        _fail(f"[red]找不到文件 / no such file:[/red] {escape(str(file))}")
    result = process_file(file.resolve(), file.resolve().parent)
    if as_json:
        from xltool.form.canonical import dumps
        sys.stdout.write(dumps(result.document))
    else:
        print_file(result, _console())
    raise typer.Exit(1 if result.status == REJECTED else 0)


@command("schema")
def schema_cmd(form: str = typer.Argument(..., help="form id, e.g. govinfo-annual-2021")) -> None:
    """Print the JSON Schema of a form's canonical JSON documents.

    Example: xltool schema govinfo-annual-2021 > schema.json
    """
    from xltool.form.canonical import dumps, json_schema
    sys.stdout.write(dumps(json_schema(_spec_or_exit(form))))


@command("render")
def render_cmd(
    file: Path = typer.Argument(..., help="one canonical JSON document (out/json/….json)"),
    out: Path | None = typer.Option(None, "-o", "--out", help="HTML file to write (default: print it); the .docx with --docx"),
    as_docx: bool = flag("--docx", "write the report as a Word document (needs -o OUT.docx)"),
    draft: bool = flag("--draft", "render a rejected return anyway, marked on every page as a draft not to publish"),
) -> None:
    """Render one return as the published report: tables 二、三、四 in the official layout and the text parts, as HTML
    (or, with --docx, as a Word document).

    Only an accepted return is rendered: a rejected one is refused (exit 1) unless --draft, which
    marks the page with a banner and a watermark as not validated.

    Examples:

      xltool render out/json/测试局_2024.xlsx.json -o 测试局_2024.html

      xltool render out/json/测试局_2024.xlsx.json --docx -o 测试局_2024.docx
    """
    from xltool.fileio import write_atomic
    from xltool.form.canonical import loads
    from xltool.outputs.render import render_report_html

    try:
        doc = loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        what = _os_error_text(e) if isinstance(e, OSError) else str(e)
        _fail(f"[red]无法读取 / cannot read[/red] {escape(str(file))}: {what}")
    if not isinstance(doc, dict) or not isinstance(doc.get("form"), dict) or doc.get("values") is None:
        _fail(f"[red]不是可渲染的报表 JSON / not a canonical document of a recognised form:[/red] {escape(str(file))}")
    _spec_or_exit(doc["form"].get("id", ""))
    if doc.get("status") != "accepted" and not draft:
        _fail("[red]该报表未通过校验，不能生成发布用的页面 / this return was rejected: it is not rendered for "
              "publication.[/red]\n请先让填报单位修改并重新报送；如只需查看，可加 --draft 生成标有“草稿”的页面 / "
              "have the agency fix and return it; to look at it anyway, add --draft (the page is marked as a draft).", 1)
    if out is not None:
        problem = out.is_dir() and "这是一个文件夹 / it is a folder" or _output_folder_problem(out.parent)
        if problem:
            _fail(f"[red]无法写入 / cannot write[/red] {escape(str(out))}：{escape(problem)}")
    if as_docx:
        if out is None or out.suffix.lower() != ".docx":
            _fail("[red]--docx 需要 -o 指定 .docx 文件 / --docx needs -o OUT.docx[/red]")
        from xltool.published.docx_writer import write_report_docx  # here: python-docx is slow to import
        write_report_docx(doc, out)
        typer.echo(f"✓ {out}")
        return
    page = render_report_html(doc, draft=doc.get("status") != "accepted")
    if out is None:
        sys.stdout.write(page)
        return
    try:
        write_atomic(out, page)
    except OSError as e:
        _cannot_write(out, e)
    typer.echo(f"✓ {out}" + ("（草稿 / draft）" if doc.get("status") != "accepted" else ""))


@command("import")
def import_cmd(
    files: list[Path] = typer.Argument(..., help="published reports (.pdf .docx .html .txt), or folders of them"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: one <name>.json per report, run.json, "
                             "report.html, summary.xlsx, values.csv"),
) -> None:
    """Read published reports (PDF, Word, web page, copied text) into canonical JSON.

    PDF with a text layer, .docx, .html or .txt; a folder is searched. Each value keeps where it was
    printed; printed totals are kept as printed and checked against their parts; a cell that cannot
    be read unambiguously is a finding, never a guess. Like ingest, the folder also gets run.json,
    report.html, and summary.xlsx and values.csv of the reports read without errors.

    Exit code: 0 every file read completely, 1 some file has errors, 2 usage error.

    Examples:

      xltool import 淮安市人民政府2024年报.pdf -o imported/

      xltool import published/ -o imported/ && xltool ingest inbox2025/ --out out2025 --previous imported/
    """
    from xltool.findings import sort_key
    from xltool.published.importer import UsageError, import_reports
    from xltool.published.run_outputs import write_import_outputs

    err = _console(True)
    try:
        results = import_reports(files, out)
        if results:
            write_import_outputs(results, out)
    except UsageError as e:
        err.print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(2)
    except OSError as e:
        _cannot_write(out, e)
    console = _console()
    for r in results:
        d = r.document
        mark = "[red]✗[/red]" if r.errors else "[green]✓[/green]"
        form = (d.get("form") or {}).get("version") or "?"
        console.print(f"{mark} {escape(d['source']['file'])}  {form}版  {escape(str(d.get('agency') or '?'))} "
                      f"{d.get('year') or '?'}  错误 {r.errors}  警告 {r.warnings}  → {escape(str(r.json))}")
        for f in sorted(r.findings, key=sort_key):
            color = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
            console.print(f"  [{color}]{f.severity:7}[/{color}] {f.code:30} {escape(f.message)}")
    if not results:
        err.print("[yellow]没有可导入的文件 / no importable files[/yellow]")
    raise typer.Exit(1 if any(r.errors for r in results) else 0)


@command("serve")
def serve_cmd(
    inbox: Path = typer.Option(..., "--inbox", help="where uploads are kept: one folder per agency"),
    out: Path = typer.Option(..., "--out", "-o", help="output folder: ledger, run outputs, links.csv, admin-link.txt"),
    roster: Path = typer.Option(..., "--roster", help="CSV of agencies (docs/roster.md): one secret link each"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (keep 127.0.0.1 behind a reverse proxy)"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    public_url: str | None = typer.Option(None, "--public-url", help="the address agencies use, for the links "
                                          "(e.g. https://baobiao.example.gov.cn; default http://HOST:PORT)"),
    year: int | None = typer.Option(None, "--year", help="报告年度 for roster rows without one"),
    form: str | None = typer.Option(None, "--form", help="form id shown on the pages (default: by year)"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="worker processes (default: the machine's cores)"),
    timeout: float = typer.Option(60.0, "--timeout", min=1, help="seconds one file may take before it is rejected"),
    previous: Path | None = typer.Option(None, "--previous", help="last year's output folder: the cross-year "
                                         "warnings, as with ingest --previous"),
    proxied: bool = flag("--behind-proxy", "trust X-Forwarded-* from a reverse proxy on 127.0.0.1"),
    rotate: str | None = typer.Option(None, "--rotate", help="new link for this agency (name or code), "
                                      "rewrite links.csv and exit"),
    rotate_admin: bool = flag("--rotate-admin", "new coordinator link (admin-link.txt) and exit"),
) -> None:
    """Intake web server: each roster agency uploads its return through its own secret link and sees
    the verdict at once; the coordinator follows progress at the link in OUT/admin-link.txt.

    The links are written to OUT/links.csv at first start. Exit code: 2 usage error.

    Examples:

      xltool serve --inbox inbox --out out --roster samples/roster.csv --year 2024

      xltool serve --inbox inbox --out out --roster samples/roster.csv --rotate 某某区教育局
    """
    from xltool.generate.roster import RosterError
    from xltool.serve import tokens  # imported here: the server's modules load only for this command
    from xltool.serve.server import ServeSetupError, build_intake, check_folders, serve

    err = _console(True)
    base_url = public_url or f"http://{host}:{port}"
    if host not in ("127.0.0.1", "localhost", "::1") and not proxied:
        err.print("[yellow]注意 / note:[/yellow] 服务直接对外且未加密，链接中的令牌可能被截获；请放在 HTTPS 反向代理之后"
                  "（见 README）。 / listening beyond this machine without HTTPS: the tokens in the links can be "
                  "read on the way; put it behind an HTTPS reverse proxy (see README).")
    if public_url is None and host in ("0.0.0.0", "::"):
        err.print("[yellow]注意 / note:[/yellow] 请用 --public-url 指定单位访问的地址，否则 links.csv 中的链接无法打开。"
                  " / give --public-url, or the links in links.csv will not open.")
    try:
        if rotate is not None or rotate_admin:
            from xltool.serve.agencies import load_members
            _, out_dir = check_folders(inbox, out)
            members = load_members(roster, default_year=year)
            if rotate_admin:
                typer.echo(f"✓ {tokens.rotate_admin(out_dir, members, base_url)}  ({out_dir / tokens.ADMIN_LINK})")
            if rotate is not None:
                try:
                    link = tokens.rotate(out_dir, members, base_url, rotate)
                except KeyError:
                    err.print(f"[red]名单中没有这个单位 / no such agency on the roster:[/red] {escape(rotate)}")
                    raise typer.Exit(2)
                typer.echo(f"✓ {rotate}: {link}  ({out_dir / tokens.LINKS_CSV})")
            return
        if form is not None:
            _spec_or_exit(form)
        intake = build_intake(inbox, out, roster, base_url, year=year, form=form, jobs=jobs, timeout=timeout,
                              previous=previous)
    except (RosterError, ServeSetupError) as e:
        err.print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(2)
    err.print(f"单位链接 / agency links: {escape(str(intake.out / tokens.LINKS_CSV))}\n"
              f"协调员链接 / coordinator link: {escape(str(intake.out / tokens.ADMIN_LINK))}")
    try:
        serve(intake, host, port, proxied=proxied)
    except ServeSetupError as e:
        err.print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
