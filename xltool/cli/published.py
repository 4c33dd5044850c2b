"""`xltool render` and `import`: a return as the published report (HTML, Word), and published reports
read back into canonical JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from xltool.cli.app import (
    cannot_write,
    command,
    console,
    each_done,
    escape,
    fail,
    flag,
    os_error_text,
    output_folder_problem,
    progress_bar,
    spec_or_exit,
)


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
        what = os_error_text(e) if isinstance(e, OSError) else str(e)
        fail(f"[red]无法读取 / cannot read[/red] {escape(str(file))}: {what}")
    if not isinstance(doc, dict) or not isinstance(doc.get("form"), dict) or doc.get("values") is None:
        fail(f"[red]不是可渲染的报表 JSON / not a canonical document of a recognised form:[/red] {escape(str(file))}")
    spec_or_exit(doc["form"].get("id", ""))
    if doc.get("status") != "accepted" and not draft:
        fail("[red]该报表未通过校验，不能生成发布用的页面 / this return was rejected: it is not rendered for "
              "publication.[/red]\n请先让填报单位修改并重新报送；如只需查看，可加 --draft 生成标有“草稿”的页面 / "
              "have the agency fix and return it; to look at it anyway, add --draft (the page is marked as a draft).", 1)
    if out is not None:
        problem = out.is_dir() and "这是一个文件夹 / it is a folder" or output_folder_problem(out.parent)
        if problem:
            fail(f"[red]无法写入 / cannot write[/red] {escape(str(out))}：{escape(problem)}")
    if as_docx:
        if out is None or out.suffix.lower() != ".docx":
            fail("[red]--docx 需要 -o 指定 .docx 文件 / --docx needs -o OUT.docx[/red]")
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
        cannot_write(out, e)
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

    err = console(True)
    try:
        with progress_bar("读取 / reading") as bar:
            task = bar.add_task("import", total=None)
            results = import_reports(files, out, on_start=lambda n: bar.update(task, total=n),
                                     on_file=each_done(bar, task))
        if results:
            write_import_outputs(results, out)
    except UsageError as e:
        err.print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(2)
    except OSError as e:
        cannot_write(out, e)
    out_console = console()
    for r in results:
        d = r.document
        mark = "[red]✗[/red]" if r.errors else "[green]✓[/green]"
        form = (d.get("form") or {}).get("version") or "?"
        out_console.print(f"{mark} {escape(d['source']['file'])}  {form}版  {escape(str(d.get('agency') or '?'))} "
                      f"{d.get('year') or '?'}  错误 {r.errors}  警告 {r.warnings}  → {escape(str(r.json))}")
        for f in sorted(r.findings, key=sort_key):
            color = {"error": "red", "warning": "yellow"}.get(f.severity, "dim")
            out_console.print(f"  [{color}]{f.severity:7}[/{color}] {f.code:30} {escape(f.message)}")
    if not results:
        err.print("[yellow]没有可导入的文件 / no importable files[/yellow]")
    raise typer.Exit(1 if any(r.errors for r in results) else 0)
