"""The `xltool` command: a thin layer over the library, one module per group of commands.

Each module registers its commands on the one Typer app (cli/app.py) when imported; heavy modules
are imported inside the commands, so `xltool --help` stays fast.
"""

from __future__ import annotations

from xltool.cli import forms, generate, ingest, published, serve  # noqa: F401  (registers the commands)
from xltool.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
