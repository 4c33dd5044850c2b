"""Loading form specs: from a file or by form id, checked, laid out, cached once per process.

The bundled forms ship inside the package; a coordinator's own forms are found in the folders
named in $XLTOOL_TEMPLATES. Loading a spec also lays it out (layout.py), so every spec in use
has been checked for overlapping cells and formula cycles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from xltool.form.layout import build_layout
from xltool.form.spec import FormSpec, SpecError, place_of, semantic_problems

# --- loading -------------------------------------------------------------------------------

def load_spec(path: str | Path) -> FormSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SpecError(path, "", f"cannot read the spec file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(path, "", "the spec file is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SpecError(path, "", f"not valid YAML: {getattr(e, 'problem', e)}",
                        line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise SpecError(path, "", "a spec is a YAML mapping (id:, form:, version:, sheets: ...)")
    try:
        spec = FormSpec.model_validate({**data, "source": str(path)})
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        more = f" (and {e.error_count() - 1} more problem(s))" if e.error_count() > 1 else ""
        raise SpecError(path, place_of(loc), _pydantic_message(err) + more, line=_line_of(_node(text), loc)) from None
    for loc, message in semantic_problems(spec):
        raise SpecError(path, place_of(loc), message, line=_line_of(_node(text), loc))
    spec._layout = build_layout(spec)
    return spec


# libyaml's parser where PyYAML was built with it (the wheels are): a run loads every form, and the
# pure-Python parser took half a second of each run with work to do
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _node(text: str) -> yaml.Node | None:
    """The YAML's node tree, for the line of a problem: composed only when there is one."""
    return yaml.compose(text, Loader=_LOADER)


def _pydantic_message(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see docs/spec-format.md for the keys a spec takes)"
    if err["type"] == "missing":
        return "required key is missing"
    return err["msg"]


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == part]
            if not match:
                keys = [k for k, v in node.value if k.value == part]
                return keys[0].start_mark.line + 1 if keys else line
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


# --- the bundled forms ------------------------------------------------------------------------

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"   # xltool/templates in a wheel


@dataclass(frozen=True)
class FormInfo:
    id: str
    description: str
    path: Path


def templates_dir() -> Path:
    """Bundled specs ship inside the package (see pyproject: templates/ is copied in)."""
    if TEMPLATES_DIR.is_dir():
        return TEMPLATES_DIR
    return Path(__file__).resolve().parent.parent.parent / "templates"   # the repository's templates/


TEMPLATES_ENV = "XLTOOL_TEMPLATES"  # more folders of form specs, separated like PATH


def template_dirs() -> list[Path]:
    """The bundled forms, then the folders named in $XLTOOL_TEMPLATES (a coordinator's own forms)."""
    extra = [Path(p) for p in os.environ.get(TEMPLATES_ENV, "").split(os.pathsep) if p.strip()]
    return [templates_dir(), *extra]


def available_forms(extra_dirs: list[Path] | None = None) -> dict[str, FormInfo]:
    """Form id -> FormInfo for every spec in the template folders, without a full load."""
    out: dict[str, FormInfo] = {}
    for folder in [*template_dirs(), *(extra_dirs or [])]:
        for path in sorted(Path(folder).glob("*.yaml")):
            try:
                head = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # not a readable spec: `xltool check-template` says why
            # the first folder wins: a spec of one's own never silently replaces a bundled form
            if isinstance(head, dict) and isinstance(head.get("id"), str) and head["id"] not in out:
                out[head["id"]] = FormInfo(head["id"], str(head.get("description", "")), path)
    return out


_cache: dict[str, FormSpec] = {}


def get_spec(form_id_or_path: str | Path) -> FormSpec:
    """A spec by form id (bundled) or by file path; loaded once per process."""
    key = str(form_id_or_path)
    if key not in _cache:
        p = Path(key)
        if p.suffix in (".yaml", ".yml") and p.exists():
            _cache[key] = load_spec(p)
        else:
            forms = available_forms()
            if key not in forms:
                raise KeyError(key)
            _cache[key] = load_spec(forms[key].path)
    return _cache[key]
