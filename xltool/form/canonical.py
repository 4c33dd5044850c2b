"""Canonical JSON: one document per returned file, and the JSON Schema of a form's documents.

Deterministic: the same content gives byte-identical JSON (sorted keys, UTF-8, no timestamps,
integers as integers, decimal amounts written exactly as read: 14.495 stays 14.495).
Every value is keyed by its spec id; the schema gives each its official label path as title.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import simplejson

from xltool.findings import Finding, sort_key
from xltool.version import __version__

if TYPE_CHECKING:   # for annotations only: reading a document back needs no form (pydantic is slow to import)
    from xltool.form.spec import FormSpec

SCHEMA_VERSION = "xltool/canonical/v1"


def document(*, spec: FormSpec | None, values: dict[str, Any] | None, findings: list[Finding],
             file_name: str, sha256: str, status: str) -> dict[str, Any]:
    """The canonical document of one file (accepted or rejected)."""
    meta = _meta(spec, values or {})
    return {
        "schema": SCHEMA_VERSION,
        "xltool_version": __version__,
        "status": status,
        "form": None if spec is None else {"id": spec.id, "form": spec.form, "version": spec.version,
                                           "fingerprint": spec.layout.fingerprint},
        **meta,
        "values": None if spec is None or values is None else {k: values.get(k) for k in spec.layout.cells},
        "findings": [f.to_dict() for f in sorted(findings, key=sort_key)],
        "source": {"file": file_name, "sha256": sha256},
    }


def _meta(spec: FormSpec | None, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"agency": None, "year": None, "region": None, "code": None}
    if spec is None:
        return out
    for role in out:
        found = spec.field_by_role(role)
        if found:
            sheet, f = found
            out[role] = values.get(f"{sheet.id}.{f.id}")
    return out


def dumps(doc: Any) -> str:
    """Canonical text: sorted keys, 2-space indent, UTF-8 characters kept, exact decimals."""
    return simplejson.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2, use_decimal=True,
                            default=_default) + "\n"


def loads(text: str) -> Any:
    """Read canonical JSON back: amounts come back as Decimal, never as drifting floats."""
    return simplejson.loads(text, use_decimal=True)


def _default(o: Any) -> Any:
    if isinstance(o, (set, tuple)):
        return sorted(o) if isinstance(o, set) else list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def json_schema(spec: FormSpec) -> dict[str, Any]:
    """The JSON Schema (2020-12) of this form's canonical documents."""
    props: dict[str, Any] = {}
    heads = _table_heads(spec)
    for cell in spec.layout.cells.values():
        t = cell.type
        p: dict[str, Any] = {"title": " > ".join([*heads.get(cell.table, ()), cell.title]), "description": f"{cell.sheet}!{cell.a1}"
                             + (f"；{t.label}" if t.label else "") + (f"（单位：{t.unit}）" if t.unit else "")
                             + ("；由公式计算" if cell.computed else "")}
        if t.kind == "integer":
            p["type"] = ["integer", "null"]
        elif t.kind == "decimal":
            p["type"] = ["number", "null"]
        else:
            p["type"] = ["string", "null"]
        if t.min is not None:
            p["minimum"] = int(t.min) if t.min == int(t.min) else float(t.min)
        if t.max is not None:
            p["maximum"] = int(t.max) if t.max == int(t.max) else float(t.max)
        if cell.computed and cell.rule:
            p["x-rule"] = cell.rule
            p["x-formula"] = cell.formula
        props[cell.id] = p
    finding = {
        "type": "object",
        "required": ["code", "severity", "sheet", "cell", "message"],
        "properties": {
            "code": {"type": "string"}, "severity": {"enum": ["error", "warning", "info"]},
            "sheet": {"type": ["string", "null"]}, "cell": {"type": ["string", "null"]},
            "ids": {"type": "array", "items": {"type": "string"}}, "args": {"type": "object"},
            "message": {"type": "string"}, "message_en": {"type": "string"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:xltool:{spec.id}",
        "title": f"{spec.title}（{spec.version}版）",
        "description": spec.description,
        "type": "object",
        "required": ["schema", "status", "form", "agency", "year", "values", "findings", "source"],
        "properties": {
            "schema": {"const": SCHEMA_VERSION},
            "xltool_version": {"type": "string"},
            "status": {"enum": ["accepted", "rejected"]},
            "form": {"type": "object", "properties": {"id": {"const": spec.id}, "version": {"const": spec.version}}},
            "agency": {"type": ["string", "null"], "title": "填报单位"},
            "year": {"type": ["integer", "null"], "title": "报告年度"},
            "region": {"type": ["string", "null"], "title": "所属地区"},
            "code": {"type": ["string", "null"], "title": "单位代码"},
            "values": {"type": "object", "properties": props, "required": list(props), "additionalProperties": False},
            "findings": {"type": "array", "items": finding},
            "source": {"type": "object", "required": ["file", "sha256"],
                       "properties": {"file": {"type": "string"}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
        },
    }


def _table_heads(spec: FormSpec) -> dict[str | None, tuple[str, ...]]:
    """Per table id, the block title above its cells' own labels (第二十条第（一）项), so a schema
    title is the whole official label path: 规章 | 本年新制作数量 of one block is told from that of another."""
    return {table.id: (table.title,) for _, table in spec.tables() if table.title}


def as_number(v: Any) -> Any:
    """For consumers: Decimal amounts as they were typed (used by reports and CSV)."""
    if isinstance(v, Decimal):
        return format(v, "f")
    return v
