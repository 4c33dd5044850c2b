"""Gnumeric's `ssconvert` for the tests: convert a workbook as Gnumeric saves it. A helper, not a test file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from external import require

INSTALL_HINT = "install Gnumeric (`apt-get install --no-install-recommends gnumeric`, see .ci/run)"


def ssconvert_problem() -> str | None:
    return None if shutil.which("ssconvert") else f"ssconvert not found: {INSTALL_HINT}"


def require_gnumeric() -> None:
    """In a test: skip (or, under CI=true, fail) when ssconvert is missing."""
    require(ssconvert_problem())


def ssconvert(source: Path, target: Path, exporter: str, timeout: float = 120) -> None:
    """Open `source` in Gnumeric and save it as `target` with `exporter` (ssconvert --list-exporters)."""
    done = subprocess.run(["ssconvert", "--export-type", exporter, str(source), str(target)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0 and target.is_file(), done.stderr[-2000:]
