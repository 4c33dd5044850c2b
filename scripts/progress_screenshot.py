"""Make docs/progress-screenshot.png: the sample demo's report.html, its collection progress section,
as headless Chromium draws it.

Run from the repository root:  python scripts/progress_screenshot.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "progress-screenshot.png"
WINDOW = (1300, 900)
CROP = (50, 0, 1250, 530)   # the header and the progress section at that window width


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from PIL import Image

    from browser import file_url, screenshot

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "xltool", "ingest", "samples/inbox", "--out", str(out),
                        "--roster", "samples/roster.csv"], cwd=ROOT, capture_output=True, check=False)
        png = screenshot(file_url(out / "report.html"), Path(tmp) / "full.png", window=WINDOW)
        Image.open(png).crop(CROP).save(TARGET, optimize=True)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
