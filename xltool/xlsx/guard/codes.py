"""The guard's findings: every Code it raises, with its zh and en messages.

Declared here, in one place, so the messages read alike and a code is never declared twice.
"""

from __future__ import annotations

from xltool.findings import ERROR, WARNING, Code

_RESUBMIT_ZH = "请用 Excel/WPS 打开原表格，“另存为 → Excel 工作簿(*.xlsx)”后再提交。"
_RESUBMIT_EN = "Open the original in Excel/WPS, use Save As > Excel Workbook (*.xlsx) and resubmit."

FILE_EMPTY = Code(
    "file-empty", ERROR,
    zh="文件是空的（0 字节），可能上传或拷贝没有完成。请重新保存表格后再提交。",
    en="The file is empty (0 bytes); the upload or copy probably did not finish. "
       "Save the workbook again and resubmit.")
FILE_TOO_LARGE = Code(
    "file-too-large", ERROR,
    zh="文件大小为 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的工作表、图片和空白行列，"
       "另存为 .xlsx 后再提交。",
    en="The file is {size_mb} MB, over the {limit_mb} MB limit. Delete extra sheets, pictures and "
       "blank rows/columns, save as .xlsx and resubmit.")
FILE_UNREADABLE = Code(
    "file-unreadable", ERROR,
    zh="无法打开文件（{reason}）。请确认文件没有被其他程序占用，重新提交一次。",
    en="The file could not be opened ({reason}). Make sure no other program holds it and resubmit.")
NOT_A_WORKBOOK = Code(
    "not-a-workbook", ERROR,
    zh="文件内容不是 Excel 工作簿，看起来是{looks_like}（可能改过扩展名或传错了文件）。"
       "请用 Excel/WPS 打开填好的表格，“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is not an Excel workbook; it looks like {looks_like_en} (renamed, or the wrong "
       "file). Open the filled-in form in Excel/WPS, Save As > Excel Workbook (*.xlsx) and resubmit.")
UNSUPPORTED_SPREADSHEET = Code(
    "unsupported-spreadsheet", ERROR,
    zh="文件是{format}格式，系统只能读取 .xlsx 工作簿。请在 Excel/WPS 中“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is in {format_en} format; only .xlsx workbooks can be read. "
       "Use Save As > Excel Workbook (*.xlsx) in Excel/WPS and resubmit.")
LEGACY_XLS = Code(
    "legacy-xls", ERROR,
    zh="文件是旧版{format}格式，系统只能读取 .xlsx。请在 Excel/WPS 中打开，“另存为 → Excel 工作簿(*.xlsx)”后再提交。",
    en="The file is in the old {format_en} format; only .xlsx can be read. Open it in Excel/WPS, "
       "Save As > Excel Workbook (*.xlsx) and resubmit.")
ENCRYPTED = Code(
    "encrypted", ERROR,
    zh="文件已加密（设置了打开密码），无法读取。请在 Excel/WPS 中取消密码后另存为 .xlsx 再提交。",
    en="The file is encrypted (it has an open password) and cannot be read. Remove the password "
       "in Excel/WPS, save as .xlsx and resubmit.")
ZIP_TRUNCATED = Code(
    "zip-truncated", ERROR,
    zh="文件不完整或已损坏（找不到完整的文件结构），可能是下载、拷贝或上传中断。" + _RESUBMIT_ZH,
    en="The file is incomplete or damaged (its structure is cut off); a download, copy or upload "
       "was probably interrupted. " + _RESUBMIT_EN)
ZIP_CORRUPT = Code(
    "zip-corrupt", ERROR,
    zh="文件中的“{part}”部分已损坏，无法读取。" + _RESUBMIT_ZH,
    en="The part '{part}' of the file is damaged and cannot be read ({reason}). " + _RESUBMIT_EN)
ZIP_TOO_MANY_ENTRIES = Code(
    "zip-too-many-entries", ERROR,
    zh="文件内部的部件超过 {limit} 个，不像正常的表格文件，已拒绝读取。请只保留需要填报的工作表，"
       "另存为新的 .xlsx 后再提交。",
    en="The file holds more than {limit} internal parts, which no normal workbook does, so it was "
       "refused. Keep only the sheets of the form, save as a new .xlsx and resubmit.")
ZIP_ENTRY_TOO_LARGE = Code(
    "zip-entry-too-large", ERROR,
    zh="文件内部的“{part}”解压后有 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的数据、"
       "图片或空白行列，另存为 .xlsx 后再提交。",
    en="The part '{part}' is {size_mb} MB uncompressed, over the {limit_mb} MB limit. Delete "
       "extra data, pictures or blank rows/columns, save as .xlsx and resubmit.")
ZIP_TOTAL_TOO_LARGE = Code(
    "zip-total-too-large", ERROR,
    zh="文件解压后共 {size_mb} MB，超过允许的 {limit_mb} MB。请删除多余的工作表、图片或空白行列，"
       "另存为 .xlsx 后再提交。",
    en="The file is {size_mb} MB uncompressed in total, over the {limit_mb} MB limit. Delete extra "
       "sheets, pictures or blank rows/columns, save as .xlsx and resubmit.")
ZIP_BOMB = Code(
    "zip-bomb", ERROR,
    zh="文件内部的“{part}”压缩比异常（{ratio} 倍，上限 {limit} 倍），可能是恶意构造的“压缩炸弹”，"
       "已拒绝读取。" + _RESUBMIT_ZH + "如果文件不是本单位制作的，请联系技术人员。",
    en="The part '{part}' has an abnormal compression ratio ({ratio}:1, limit {limit}:1) and may "
       "be a zip bomb, so it was refused. " + _RESUBMIT_EN
       + " If your office did not make this file, contact IT support.")
ZIP_UNSAFE_NAME = Code(
    "zip-unsafe-name", ERROR,
    zh="文件内部含有指向文件之外的非法路径“{name}”，正常的 Excel 文件不会这样，已拒绝读取。" + _RESUBMIT_ZH,
    en="The file contains the illegal internal path '{name}' pointing outside the file; no normal "
       "Excel file does this, so it was refused. " + _RESUBMIT_EN)
ZIP_DUPLICATE_ENTRY = Code(
    "zip-duplicate-entry", ERROR,
    zh="文件内部的“{name}”出现了不止一次，不同软件可能读到不同的内容，已拒绝读取。" + _RESUBMIT_ZH,
    en="The internal part '{name}' appears more than once, so different programs may read "
       "different data; the file was refused. " + _RESUBMIT_EN)
ZIP_UNUSUAL_ENTRY = Code(
    "zip-unusual-entry", ERROR,
    zh="文件内部的“{part}”{reason}，Excel/WPS 不会这样保存，已拒绝读取。" + _RESUBMIT_ZH,
    en="The internal part '{part}' {reason_en}, which Excel/WPS never write; the file was "
       "refused. " + _RESUBMIT_EN)
MISSING_WORKBOOK_PART = Code(
    "missing-workbook-part", ERROR,
    zh="文件结构不完整：缺少{part}，可能已损坏或由不规范的软件生成。" + _RESUBMIT_ZH,
    en="The file is incomplete: {part_en} is missing; it is damaged or was written by "
       "non-standard software. " + _RESUBMIT_EN)
XML_ENTITY = Code(
    "xml-entity", ERROR,
    zh="文件内部的“{part}”含有 DTD/实体声明（<!DOCTYPE>），正常的 Excel 文件不会有，"
       "可能是恶意构造的文件，已拒绝读取。" + _RESUBMIT_ZH,
    en="The part '{part}' contains a DTD/entity declaration (<!DOCTYPE>), which no normal Excel "
       "file has; it may be malicious and was refused. " + _RESUBMIT_EN)
XML_MALFORMED = Code(
    "xml-malformed", ERROR,
    zh="文件内部的“{part}”内容异常（{reason}），文件可能已损坏或被改动过。" + _RESUBMIT_ZH,
    en="The part '{part}' is abnormal ({reason_en}); the file is damaged or was altered. "
       + _RESUBMIT_EN)
STRICT_OOXML = Code(
    "strict-ooxml", ERROR,
    zh="文件保存成了“Strict Open XML 电子表格”格式，系统无法读取。请在 Excel 中“另存为 → "
       "Excel 工作簿(*.xlsx)”，不要选 Strict Open XML，然后再提交。",
    en="The file was saved as 'Strict Open XML Spreadsheet', which cannot be read. In Excel use "
       "Save As > Excel Workbook (*.xlsx), not Strict Open XML, and resubmit.")
SHEET_TOO_LARGE = Code(
    "sheet-too-large", ERROR,
    zh="工作表“{sheet}”的使用范围达到 {rows} 行 × {cols} 列（{extent}），超过允许的 {max_rows} 行 × "
       "{max_cols} 列。通常是误把内容或格式设置到了整行整列：请选中多余的行和列，右键“删除”"
       "（不是按 Delete 键清除），保存后再提交。",
    en="Sheet '{sheet}' extends to {rows} rows x {cols} columns ({extent}), over the allowed "
       "{max_rows} x {max_cols}. Content or formatting was probably applied to whole rows or "
       "columns: select the extra rows and columns, right-click > Delete (not the Delete key), "
       "save and resubmit.")
MACRO_ENABLED = Code(
    "macro-enabled", WARNING,
    zh="文件包含宏（VBA/宏表）。系统不会运行宏，只读取表格中的数据；如无必要，请另存为"
       "“Excel 工作簿(*.xlsx)”后再提交。",
    en="The file contains macros (VBA or macro sheets). Macros are never run and only the data "
       "is read; unless they are needed, save as 'Excel Workbook (*.xlsx)' before submitting.")
EXTERNAL_LINK = Code(
    "external-link", WARNING,
    zh="工作簿引用了 {count} 个其他文件中的数据（{targets}）。系统只读取单元格里已保存的数值，"
       "不会打开这些文件；为免数值过期，请在 Excel 中“数据 → 编辑链接 → 断开链接”，保存后再提交。",
    en="The workbook refers to data in {count} other file(s) ({targets}). Only the values saved "
       "in the cells are read and those files are never opened; to avoid stale values use "
       "Data > Edit Links > Break Link in Excel, save and resubmit.")
WRONG_EXTENSION = Code(
    "wrong-extension", WARNING,
    zh="文件扩展名是“{ext}”，但内容是 {actual} 文件，已按实际内容读取。以后请在“另存为”时直接选择"
       "正确的文件类型，不要手动修改扩展名。",
    en="The file name ends in '{ext}' but the content is a {actual} file; it was read by its "
       "content. Next time choose the right type in Save As instead of renaming the file.")

SKIPPED_NOT_REGULAR_FILE = Code(
    "skipped-not-regular-file", WARNING,
    zh="“{name}”不是普通文件（{what}），已跳过。请提交 .xlsx 表格文件本身。",
    en="'{name}' is not a regular file ({what_en}); skipped. Submit the .xlsx workbook itself.")

