"""Metadata: the fields with a role (填报单位, 报告年度, ...) are filled, agree with what the issued
template says on its hidden `_xltool` sheet, and the report year is one this form version is for.

The hidden sheet's values are return content like any other: one longer than its field allows is an
error, and only its first characters are compared or shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from xltool.checks import bounds
from xltool.checks.blanks import FIELD_REQUIRED
from xltool.checks.context import Context
from xltool.findings import ERROR, WARNING, Code, Finding
from xltool.form.agency_names import normal_name
from xltool.form.layout import META_SHEET, a1
from xltool.xlsx.model import WorkbookData

YEAR_NOT_IN_VERSION = Code("year-not-in-version", ERROR,
                           zh="报告年度为 {year}，但本模板（{version}版）用于 {years} 年度。请使用对应年度的模板。",
                           en="The report year is {year}, but this template ({version} version) is for {years}. Use the template for that year.")
AGENCY_MISMATCH = Code("agency-mismatch", ERROR,
                       zh="“{label}”填写为“{found}”，但本模板是下发给“{expected}”的。一个单位只能用下发给自己的模板报送："
                          "请用本单位的模板重新填写；如单位名称确有变更，请联系协调员重新下发模板。",
                       en="{label} reads {found}, but this template was issued to {expected}. Each agency reports on the "
                          "template issued to it: fill in your own template, or ask the coordinator for a new one if "
                          "your agency's name has changed.")
METADATA_MISMATCH = Code("metadata-mismatch", WARNING,
                         zh="“{label}”填写为“{found}”，与下发模板中的“{expected}”不一致。请核对是否用错了其他单位或年度的模板。",
                         en="{label} reads {found}, but the issued template says {expected}. Check that this is your own template.")


def issued(ctx: Context) -> tuple[dict[str, str], list[Finding]]:
    """What the hidden sheet says for each role, cut to its field's limit, with a finding per value cut."""
    meta, findings = {}, []
    limits = bounds.role_limits(ctx.spec)
    rows = _meta_rows(ctx.data)
    for key, value in (ctx.data.key_values(META_SHEET) or {}).items():
        limit = limits.get(key)
        if limit is not None and len(value) > limit:
            findings.append(bounds.text_too_long(dict(sheet=META_SHEET, cell=a1(rows.get(key, 0), 1),
                                                      label=f"隐藏工作表 {META_SHEET} 的 {key}"), value, limit))
            value = value[:limit]
        meta[key] = value
    return meta, findings


def _meta_rows(data: WorkbookData) -> dict[str, int]:
    sheet = data.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    return {sheet.text(r, 0): r for r in range(sheet.max_row + 1) if sheet.text(r, 0)}


def check(ctx: Context) -> Iterator[Finding]:
    meta, cut = issued(ctx)
    yield from cut
    spec = ctx.spec
    for sheet in spec.sheets:
        for f in sheet.fields:
            cell = ctx.layout.cells[f"{sheet.id}.{f.id}"]
            value = ctx.inputs.get(cell.id)
            if f.required and value in (None, ""):
                yield FIELD_REQUIRED.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=f.label)
                continue
            expected = meta.get(f.role or "", "")
            if f.role and expected and value not in (None, "") and str(value) != expected:
                # another agency's name in the agency cell: the return would be counted for the wrong agency
                # (a name typed with other brackets or spaces is the same agency, and only a warning)
                differs = f.role == "agency" and normal_name(str(value)) != normal_name(expected)
                yield (AGENCY_MISMATCH if differs else METADATA_MISMATCH).at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], label=f.label,
                                           found=bounds.clip(value) if isinstance(value, str) else value, expected=bounds.clip(expected))
            if f.role == "year" and isinstance(value, int) and value not in spec.years:
                years = f"{spec.years.first}–{spec.years.last}" if spec.years.last else f"{spec.years.first} 年及以后"
                yield YEAR_NOT_IN_VERSION.at(sheet=cell.sheet, cell=cell.a1, ids=[cell.id], year=value,
                                             version=spec.version, years=years)
