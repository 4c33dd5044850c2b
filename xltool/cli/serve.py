"""`xltool serve`: the intake page, one secret link per agency."""

from __future__ import annotations

from pathlib import Path

import typer

from xltool.cli.app import (
    command,
    console,
    escape,
    flag,
    spec_or_exit,
)


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

    err = console(True)
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
            spec_or_exit(form)
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
