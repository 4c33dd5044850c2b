"""The guard's verdict types: the limits it judges by and the result it gives."""

from __future__ import annotations

from dataclasses import dataclass, field

from xltool.findings import Finding, sort_key

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_entries: int = 2000
    max_entry_bytes: int = 50 * 1024 * 1024      # uncompressed size of one zip member
    max_total_bytes: int = 200 * 1024 * 1024     # uncompressed total
    max_ratio: float = 200.0                      # per-entry compression ratio (zip bomb)
    max_rows: int = 2000                          # declared <dimension> / max row in a sheet part
    max_cols: int = 200
    # A small part can compress 300:1 without harm (a run of identical empty rows does).
    # A bomb only hurts when it is big, so the ratio is checked only from this size up.
    ratio_check_min_bytes: int = 1024 * 1024


@dataclass
class GuardResult:
    kind: str            # 'xlsx' | 'xlsm' | 'xltx' | 'xltm' | 'xls' | 'et' | 'ole-encrypted' | 'strict-ooxml'
    #                      | 'xlsb' | 'ods' | 'spreadsheetml-2003' | 'not-a-workbook' | 'zip' | 'empty'
    #                      | 'too-large' | 'not-a-file' | 'unreadable'
    findings: list[Finding]
    parseable: bool      # True only when it is safe to hand the file to a reader
    external_refs: list[str] = field(default_factory=list)  # other files it names (reporting only)
    data: bytes | None = None  # the bytes judged (inspect_file), for hashing and parsing


def result(kind: str, findings: list[Finding], external_refs: list[str] = ()) -> GuardResult:
    """The verdict on these findings: parseable when none is an error."""
    ordered = sorted(findings, key=sort_key)
    return GuardResult(kind=kind, findings=ordered, parseable=not any(f.is_error for f in ordered),
                       external_refs=list(external_refs))


def mb(size: int) -> str:
    return f"{size / _MB:.1f}"
