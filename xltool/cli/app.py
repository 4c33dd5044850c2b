"""The Typer app and what every command shares: flags shown without `<bool>`, messages in Chinese and
English on stderr (escaped, soft-wrapped), exit code 2 for usage errors and unwritable outputs.

Heavy modules are imported inside the commands, never here, so `xltool --help` stays fast.
"""

from __future__ import annotations

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


def console(stderr: bool = False):
    from rich.console import Console
    return Console(stderr=stderr, highlight=False)


def fail(message: str, code: int = 2):
    """Print a message (zh / en, already escaped where it quotes a path) to stderr and exit. Soft wrap:
    the terminal wraps long lines, so a path is never broken by an inserted newline (it can be copied)."""
    console(True).print(message, soft_wrap=True)
    raise typer.Exit(code)


def os_error_text(e: OSError) -> str:
    import errno
    reasons = {errno.EACCES: ("没有写入权限", "permission denied"), errno.EPERM: ("没有写入权限", "permission denied"),
               errno.EROFS: ("是只读的文件系统", "read-only file system"),
               errno.ENOTDIR: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder"),
               errno.EISDIR: ("这是一个文件夹", "it is a folder"), errno.ENOSPC: ("磁盘已满", "disk full"),
               errno.EEXIST: ("路径中有一段是文件而不是文件夹", "a part of the path is a file, not a folder")}
    zh, en = reasons.get(e.errno, (e.strerror or str(e), e.strerror or str(e)))
    where = escape(str(e.filename)) if e.filename else ""
    return f"{zh} / {en}" + (f": {where}" if where else "")


def cannot_write(target: Path, e: OSError) -> None:
    fail(f"[red]无法写入输出 / cannot write the output[/red] {escape(str(target))}：{os_error_text(e)}。"
          f"请换一个可写的位置，或检查文件夹权限 / choose a writable place or check the folder's permissions.")


def output_folder_problem(folder: Path) -> str | None:
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


def spec_or_exit(form: str):
    from xltool.form.forms import available_forms, get_spec
    from xltool.form.spec import SpecError
    try:
        return get_spec(form)
    except KeyError:
        forms = ", ".join(available_forms()) or "(none)"
        console(True).print(f"[red]未知的报表 / unknown form[/red] {escape(str(form))}. 可用 / available: {forms}")
        raise typer.Exit(2)
    except SpecError as e:
        console(True).print(f"[red]报表定义有误 / bad form spec:[/red] {escape(str(e))}")
        raise typer.Exit(2)


def progress_bar(label: str, keep: bool = False):
    """The progress bar of a long command, on stderr ("label ━━━━ 12/40 0:00:03"); it draws only on a
    terminal, so a script's output stays clean, and stays on screen when done with `keep`.
    Use as `with progress_bar("校验 / checking") as bar:`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    err = console(True)
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=not keep, disable=not err.is_terminal)


def each_done(bar, task):
    """What moves `bar` on by one item (called with the item's result), or None when the bar is not
    drawn (not a terminal): a run over 10,000 files then skips rich's bookkeeping for each."""
    return None if bar.disable else (lambda *_: bar.advance(task))
