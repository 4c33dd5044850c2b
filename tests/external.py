"""What the tests do when an external program they drive (LibreOffice, Gnumeric, Chromium) is missing:
skip with the reason on a developer's machine, fail under CI=true, where .ci/run installs them all."""

from __future__ import annotations

import os


def require(problem: str | None) -> None:
    """In a test: nothing when `problem` is None; otherwise skip, or under CI=true fail, saying why."""
    import pytest

    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
