"""OUT/missing.csv, the 催报名单: every roster agency without an accepted return, and what to do.

UTF-8 with a BOM (Excel on Chinese Windows opens it with the right encoding), written atomically,
and safe to open in a spreadsheet: a name starting with = + - @ is text, never a formula.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from xltool.fileio import atomic_path
from xltool.findings import ACCEPTED, AGENCY_STATUS_WORDS, MISSING
from xltool.outputs.summary_rows import csv_safe

MISSING_CSV = "missing.csv"
COLUMNS = ("单位名称", "统一社会信用代码", "地区", "状态", "状态代码", "最新文件", "需要做什么")


def write_missing_csv(collection: dict[str, Any], target: Path) -> None:
    with atomic_path(Path(target)) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        # the agencies to chase first (nothing received), then those to send back; each in roster order
        for a in sorted(collection["agencies"], key=lambda a: a["status"] != MISSING):
            if a["status"] == ACCEPTED:
                continue
            row = (a["agency"], a.get("code") or "", a.get("region") or "", AGENCY_STATUS_WORDS[a["status"]][0], a["status"],
                   a.get("latest") or "", what_to_do(a))
            out.writerow([csv_safe(str(v)) for v in row])


def what_to_do(a: dict[str, Any]) -> str:
    """The next step for one agency, in one sentence."""
    if a["status"] == MISSING:
        text = "尚未收到报表：请催报（请对方用下发的模板填写后提交）。"
        for s in a.get("suggestions") or []:
            text += f"另收到“{s['agency']}”的报表（{s['path']}），名称相近但不一致，请核实是否为本单位。"
        return text
    feedback = f"反馈表 {a['feedback']}（标出了要改的格子）" if a.get("feedback") else "report.html 中列出的问题"
    return f"报表有 {a.get('errors', 0)} 处错误，已退回：请把{feedback}发给该单位，修改后重新报送。"
