"""`xltool generate`: one locked workbook, or one per roster row (in parallel), never over an existing file
without --force."""

from __future__ import annotations

import os
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
    output_folder_problem,
    progress_bar,
    spec_or_exit,
)


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

    spec = spec_or_exit(form)
    if jobs is not None and jobs < 1:
        fail(f"[red]--jobs 应为 1 或更大的整数（现为 {jobs}）/ --jobs must be 1 or more (got {jobs})[/red]")
    if year is not None and year not in spec.years:
        console(True).print(f"[yellow]注意 / note:[/yellow] {spec.id} is for report years "
                             f"{spec.years.first}–{spec.years.last or ''}, not {year}")
    options = WriteOptions(password=password or DEFAULT_PASSWORD)
    if roster is None:
        if out.suffix.lower() != ".xlsx" or out.is_dir():
            fail("[red]-o 应为 .xlsx 文件名 / -o must name an .xlsx file[/red] (or use --roster with a folder)")
        _refuse_overwrite([out], force)
        problem = output_folder_problem(out.parent)
        if problem:
            fail(f"[red]无法写入 / cannot write[/red] {escape(str(out))}：{escape(problem)}")
        try:
            path = generate_one(spec, out, Agency(agency, year, region, code), options)
        except OSError as e:
            cannot_write(out, e)
        typer.echo(f"✓ {path}")
        return
    from xltool.generate.roster import RosterError, read_roster
    try:
        rows = read_roster(roster, default_year=year)
    except RosterError as e:
        fail(f"[red]{escape(str(e))}[/red]")
    problem = output_folder_problem(out)
    if problem:
        fail(f"[red]无法写入输出文件夹 / cannot write the output folder[/red] {escape(str(out))}：{escape(problem)}")
    _refuse_overwrite([out / row.file for row in rows], force)
    try:
        with progress_bar("生成 / generating", keep=True) as bar:
            task = bar.add_task("gen", total=len(rows))
            generate_roster(spec, rows, out, options, on_done=each_done(bar, task),
                            jobs=jobs or os.cpu_count() or 1)
    except OSError as e:
        cannot_write(out, e)
    typer.echo(f"✓ {len(rows)} workbooks in {out}")


def _refuse_overwrite(targets: list[Path], force: bool, shown: int = 10) -> None:
    """Stop before writing when any target exists (it may be a filled return), unless --force."""
    existing = [t for t in targets if t.exists()]
    if not existing or force:
        return
    names = "\n".join(f"  {escape(str(t))}" for t in existing[:shown])
    more = f"\n  …另有 {len(existing) - shown} 个 / and {len(existing) - shown} more" if len(existing) > shown else ""
    fail(f"[red]以下 {len(existing)} 个文件已存在，未生成任何文件 / {len(existing)} file(s) already exist, nothing was "
          f"written:[/red]\n{names}{more}\n已填写的报表会被覆盖而丢失：请换一个输出位置，或确认后加 --force 覆盖 / "
          f"a filled return would be lost: choose another place, or add --force to overwrite them.")
