"""The short title of every kind of finding, Chinese and English, in one table.

Reports, the terminal and the 问题清单 sheet show a finding's title as its heading and keep the
stable code small beside it: a clerk reads “未填写的格子”, not `blank-cells`. Codes are declared
next to their checks across the packages; their titles live here, in one place, so that a
wording change is one edit. Rule codes (T3-A, ...) take their title from the spec rule itself
(see `Code.title`). tests/cli/test_first_hour.py asserts that every registered code has one.
"""

from __future__ import annotations

TITLES: dict[str, tuple[str, str]] = {
    # the file itself (guard, walk, pipeline, workers)
    "encrypted": ("文件已加密", "Encrypted file"),
    "file-empty": ("空文件", "Empty file"),
    "file-timeout": ("处理超时", "Took too long"),
    "file-too-large": ("文件过大", "File too large"),
    "file-unreadable": ("无法打开文件", "Cannot open the file"),
    "legacy-xls": ("旧版 .xls 格式", "Old .xls format"),
    "macro-enabled": ("含有宏", "Contains macros"),
    "memory-limit": ("内存超限", "Too much memory"),
    "missing-workbook-part": ("文件结构不完整", "Incomplete workbook"),
    "not-a-workbook": ("不是 Excel 工作簿", "Not a workbook"),
    "strict-ooxml": ("Strict Open XML 格式", "Strict Open XML format"),
    "unreadable": ("无法读取", "Unreadable"),
    "unsupported-spreadsheet": ("不支持的表格格式", "Unsupported spreadsheet format"),
    "worker-crashed": ("处理时程序异常退出", "Processing crashed"),
    "wrong-extension": ("扩展名与内容不符", "Wrong file extension"),
    "external-link": ("引用了其他文件", "Links to other files"),
    "sheet-too-large": ("工作表范围过大", "Sheet too large"),
    "xml-entity": ("含有 DTD/实体声明", "DTD or entity declaration"),
    "xml-malformed": ("文件内容异常", "Malformed file content"),
    "zip-bomb": ("压缩比异常", "Suspicious compression"),
    "zip-corrupt": ("文件部分损坏", "Corrupt part"),
    "zip-duplicate-entry": ("内部部件重复", "Duplicate part"),
    "zip-entry-too-large": ("内部部件过大", "Part too large"),
    "zip-too-many-entries": ("内部部件过多", "Too many parts"),
    "zip-total-too-large": ("解压后过大", "Too large unpacked"),
    "zip-truncated": ("文件不完整", "Truncated file"),
    "zip-unsafe-name": ("非法内部路径", "Unsafe part name"),
    "zip-unusual-entry": ("异常内部部件", "Unusual part"),
    # skipped files
    "skipped-hidden-file": ("隐藏或系统文件，已跳过", "Hidden or system file, skipped"),
    "skipped-link-outside-inbox": ("指向收件目录外的链接，已跳过", "Link outside the inbox, skipped"),
    "skipped-lock-file": ("临时锁定文件，已跳过", "Lock file, skipped"),
    "skipped-not-regular-file": ("不是普通文件，已跳过", "Not a regular file, skipped"),
    "skipped-wrong-document-type": ("不是 Excel 表格，已跳过", "Not a spreadsheet, skipped"),
    # which form
    "metadata-missing": ("缺少模板标识", "Template identification missing"),
    "template-outdated": ("模板版本不对", "Outdated template"),
    "unknown-form": ("不认可的报表", "Unknown form"),
    "unknown-workbook": ("不是下发的模板", "Not an issued template"),
    "year-not-in-version": ("模板与年度不符", "Template does not fit the year"),
    # structure and values
    "blank-cells": ("未填写的格子", "Blank cells"),
    "field-required": ("必填项未填", "Required field missing"),
    "formula-changed": ("公式被改动", "Formula changed"),
    "formula-changed-unverified": ("公式被改动（未能核对）", "Formula changed (not verified)"),
    "formula-in-input": ("填写格子中有公式", "Formula in an input cell"),
    "formula-replaced": ("公式被改成数字", "Formula replaced by a number"),
    "label-changed": ("表格标签被改动", "Label changed"),
    "layout-shifted": ("插入或删除了行列", "Rows or columns inserted or deleted"),
    "agency-mismatch": ("填报单位与模板不符", "Agency differs from the template"),
    "metadata-mismatch": ("单位信息与模板不一致", "Details differ from the template"),
    "not-a-number": ("应填数字", "Not a number"),
    "not-an-integer": ("应填整数", "Not a whole number"),
    "out-of-range": ("数值超出范围", "Out of range"),
    "protection-removed": ("工作表保护被撤销", "Sheet protection removed"),
    "sheet-missing": ("缺少工作表", "Sheet missing"),
    "stale-cached-value": ("显示值与重算结果不同", "Stored result differs from recalculation"),
    "table-blank": ("整张表未填写", "Table left blank"),
    "too-many-decimals": ("小数位过多", "Too many decimals"),
    # bounds on what a return can make big
    "findings-capped": ("同类问题过多，未逐一列出", "More findings of one kind"),
    "number-not-finite": ("不是有限的数字", "Not a finite number"),
    "number-too-large": ("数字超出合理范围", "Number out of bounds"),
    "number-too-precise": ("有效数字过多", "Too many digits"),
    "text-too-long": ("文字过长", "Text too long"),
    # across files and years
    "duplicate-content": ("重复提交", "Duplicate return"),
    "filename-agency-mismatch": ("文件名与填报单位不符", "File name names another agency"),
    "filename-year-mismatch": ("文件名与年度不符", "File name names another year"),
    "superseded": ("已被更新的文件取代", "Superseded by a newer file"),
    "superseded-accepted": ("已通过的报表被新文件取代", "Accepted return superseded"),
    "supersedes": ("取代了较早的报表", "Supersedes an earlier return"),
    "newer-rejected": ("较新的文件未通过", "Newer file rejected"),
    # the run itself: outputs, ledger, inbox folders, last year's results
    "feedback-not-drawn": ("未生成批注版", "No feedback workbook"),
    "folder-unreadable": ("文件夹无法读取", "Folder unreadable"),
    "ledger-moved-aside": ("台账已重建", "Ledger rebuilt"),
    "stored-entry-unreadable": ("台账记录损坏", "Damaged ledger record"),
    "more-findings": ("问题过多，未全部列出", "More findings not listed"),
    "output-blocked": ("结果无法写入", "Output blocked"),
    "previous-unusable": ("上年结果无法使用", "Last year's result unusable"),
    # the collection against the roster
    "not-on-roster": ("不在报送名单中", "Not on the roster"),
    # published reports read back (xltool import)
    "published-blank": ("公开为空白的格子", "Cells printed blank"),
    "published-cell-merged": ("与相邻格合并", "Merged with a neighbour"),
    "published-form-unknown": ("无法判断表格版本", "Form version unknown"),
    "published-header-unrecognised": ("表头无法对应", "Header not recognised"),
    "published-merged-row": ("分项合印为一行", "Parts printed as one row"),
    "published-merged-row-zero": ("分项合印为一行（均为 0）", "Parts printed as one row (all 0)"),
    "published-not-a-number": ("印的不是数字", "Not a number as printed"),
    "published-part-missing": ("缺少正文部分", "Part not found"),
    "published-row-count": ("一行的数字个数不对", "Wrong count of numbers in a row"),
    "published-row-missing": ("缺少一行", "Row not found"),
    "published-row-repeated": ("一行印了两次", "Row printed twice"),
    "published-row-unmatched": ("无法对应的行", "Row matches nothing"),
    "published-title-unread": ("标题中缺少信息", "Title incomplete"),
    "published-unreadable": ("无法读取", "Unreadable"),
}


def title_of(code: str) -> tuple[str, str] | None:
    """(zh, en) for a code in the table, or None."""
    return TITLES.get(code)
