"""Guard: checks on a returned file before any spreadsheet parser touches it.

Every returned workbook is hostile until these checks pass. The guard decides what the file is
from its bytes, never from its extension (sniff.py, ole.py). It checks the zip container from
the central directory alone (entry count, names, sizes, compression ratios: container.py)
before it decompresses anything. Then it reads the package through the shared
`xltool.xlsx.package.Package` (package.py): [Content_Types].xml, the workbook and its
relationships, any external-link parts, the head of every other XML part (for DTDs), and the
sheet parts, streamed through byte regexes for their extent and for formulas that name other
files (scan.py, links.py). Nothing is extracted to disk, and no link is followed.

`GuardResult.parseable` is True only when no error was found. The codes it raises are in
codes.py.
"""

from xltool.xlsx.guard.codes import SKIPPED_NOT_REGULAR_FILE
from xltool.xlsx.guard.inspect import (
    check_defusedxml_available,
    describe_file_type,
    inspect_bytes,
    inspect_file,
    open_package,
)
from xltool.xlsx.guard.result import GuardResult, Limits

__all__ = ["SKIPPED_NOT_REGULAR_FILE", "GuardResult", "Limits", "check_defusedxml_available",
           "describe_file_type", "inspect_bytes", "inspect_file", "open_package"]
