import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))  # for scripts/ (sample builders shared with the tests)
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers beside this file (returns, browser, ...), from every folder


def published(name: str) -> dict:
    return json.loads((DATA / "published" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def samples_run(tmp_path_factory):
    """The bundled sample inbox, ingested once: (report, output folder)."""
    from xltool.ingest.run import ingest
    out = tmp_path_factory.mktemp("samples-out")
    return ingest(ROOT / "samples" / "inbox", out), out
