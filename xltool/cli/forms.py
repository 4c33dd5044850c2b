"""`xltool forms`, `check-template` and `schema`: the forms xltool knows, checking a spec of one's own,
and the JSON Schema of a form's documents."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from xltool.cli.app import (
    command,
    console,
    escape,
    spec_or_exit,
)


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
        console(True).print(f"[red]✗[/red] {escape(str(e))}")
        raise typer.Exit(1)
    n_in, n_f = len(layout.inputs()), len(layout.computed())
    typer.echo(f"✓ {spec.id}: {len(spec.sheets)} sheets, {n_in} input cells, {n_f} formulas, "
               f"{len(spec.rules)} rules, fingerprint {layout.fingerprint}")


@command("schema")
def schema_cmd(form: str = typer.Argument(..., help="form id, e.g. govinfo-annual-2021")) -> None:
    """Print the JSON Schema of a form's canonical JSON documents.

    Example: xltool schema govinfo-annual-2021 > schema.json
    """
    from xltool.form.canonical import dumps, json_schema
    sys.stdout.write(dumps(json_schema(spec_or_exit(form))))
