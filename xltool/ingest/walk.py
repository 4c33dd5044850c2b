"""The inbox walk: which files under the inbox are candidates, and which are skipped and why.

Symlinks are listed but never followed into folders; the skip policy (lock files, hidden and
system files, links leading outside the inbox, FIFOs and other non-regular files) lives here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from xltool.fileio import entries_of
from xltool.findings import INFO, WARNING, Code, Finding

SKIPPED_LOCK_FILE = Code(
    "skipped-lock-file", INFO,
    zh="“{name}”是 Excel/WPS 打开表格时生成的临时锁定文件，不是报送文件，已跳过。如原表格仍在编辑，"
       "请保存并关闭后再提交原表格。",
    en="'{name}' is a temporary lock file Excel/WPS creates while a workbook is open, not a "
       "return; skipped. If the workbook is still open, save and close it and submit the workbook.")
SKIPPED_HIDDEN_FILE = Code(
    "skipped-hidden-file", INFO,
    zh="“{name}”是隐藏文件或系统文件，不是报送文件，已跳过；无需处理。",
    en="'{name}' is a hidden or system file, not a return; skipped. Nothing to do.")
SKIPPED_LINK_OUTSIDE_INBOX = Code(
    "skipped-link-outside-inbox", WARNING,
    zh="“{name}”是指向收件目录之外（{target}）的链接，出于安全考虑没有读取，已跳过。"
       "如确需报送，请把表格文件本身（不是快捷方式或链接）放进收件目录。",
    en="'{name}' is a link to a place outside the inbox ({target}); for safety it was not read "
       "and was skipped. To submit it, put the workbook itself (not a shortcut or link) in the inbox.")

SKIPPED_WRONG_DOCUMENT_TYPE = Code(
    "skipped-wrong-document-type", WARNING,
    zh="“{name}”已跳过：收到的是 {kind}，请提交 Excel 表格（.xlsx）。",
    en="'{name}' skipped: this is a {kind_en} file; please send the Excel workbook (.xlsx).")

# Documents agencies send instead of the workbook: listed as skipped with the reason, never silently dropped.
WRONG_DOCUMENT_TYPES = {
    ".pdf": ("PDF", "PDF"), ".doc": ("Word", "Word"), ".docx": ("Word", "Word"), ".wps": ("WPS 文字", "WPS Writer"),
    ".odt": ("文本文档", "text document"), ".rtf": ("文本文档", "text document"), ".txt": ("文本", "text"),
    ".jpg": ("图片", "image"), ".jpeg": ("图片", "image"), ".png": ("图片", "image"), ".gif": ("图片", "image"),
    ".bmp": ("图片", "image"), ".tif": ("图片", "image"), ".tiff": ("图片", "image"), ".heic": ("图片", "image"),
    ".webp": ("图片", "image"), ".ofd": ("OFD 版式文档", "OFD"),
}

CANDIDATE_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".xlt", ".et", ".ett", ".xltx", ".xltm", ".ods", ".csv"}


def candidates(inbox: Path, on_unreadable: Callable[[str, OSError], None] | None = None) -> Iterator[str]:
    """Every file under the inbox that could be a return, as a path string (a Path costs four
    times the memory, and an inbox may hold 100,000 files), folder by folder as the walk finds
    them: the caller puts them in order (ingest: in the order of their bytes, path_spool).
    Symlinks are listed (the guard decides about them) but never followed into directories. A folder
    that cannot be read is passed to `on_unreadable` (folder, error) instead of vanishing silently."""

    # entries_of, not os.walk: a folder's entries are given as they are read, never listed whole
    # (the inbox is often one folder of thousands of returns)
    pending = [os.fspath(inbox)]
    while pending:
        folder = pending.pop()
        subfolders = []
        for entry in entries_of(folder, None if on_unreadable is None else partial(on_unreadable, folder)):
            if _is_folder(entry):    # a link to a folder too, as os.walk: listed below, never walked
                subfolders.append(entry.name)
                continue
            name = entry.name
            suffix = _suffix(name)
            if suffix in CANDIDATE_SUFFIXES or suffix in WRONG_DOCUMENT_TYPES or name.startswith("~$") or not suffix:
                yield os.path.join(folder, name)
        subfolders.sort(key=os.fsencode, reverse=True)   # walked in order: folders that cannot be read are told so
        for name in subfolders:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                yield path    # a linked folder is never walked; listed so that the guard reports it
            else:
                pending.append(path)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _suffix(name: str) -> str:
    """Path(name).suffix.lower(), without making a Path (os.path.splitext differs: it gives "a." the suffix ".")."""
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def skip_reason(path: Path, inbox_root: Path) -> Finding | None:
    """Why `path` is not a return at all (lock file, hidden file, unsafe link, ...), or None.

    Links are resolved to a path but never opened: only the resolved name is compared
    with the inbox, so a link into /etc or another agency's folder is never read.
    """
    # the guard's, loaded with it in the worker that calls this (the walk itself does not need it)
    from xltool.xlsx.guard import SKIPPED_NOT_REGULAR_FILE, describe_file_type

    path, inbox_root = Path(path), Path(inbox_root)
    name = path.name
    if name.startswith("~$"):
        return SKIPPED_LOCK_FILE.at(name=name)
    if _is_hidden_or_system(path, inbox_root):
        return SKIPPED_HIDDEN_FILE.at(name=name)
    real = Path(os.path.realpath(path))
    root = Path(os.path.realpath(inbox_root))
    if not real.is_relative_to(root):
        return SKIPPED_LINK_OUTSIDE_INBOX.at(name=name, target=str(real))
    try:
        mode = os.lstat(real).st_mode   # `real` has no links left in it
    except OSError:
        return SKIPPED_NOT_REGULAR_FILE.at(name=name, what="链接目标不存在", what_en="dangling link")
    if not stat.S_ISREG(mode):
        what, what_en = describe_file_type(mode)
        return SKIPPED_NOT_REGULAR_FILE.at(name=name, what=what, what_en=what_en)
    if path.suffix.lower() in WRONG_DOCUMENT_TYPES:
        kind, kind_en = WRONG_DOCUMENT_TYPES[path.suffix.lower()]
        return SKIPPED_WRONG_DOCUMENT_TYPE.at(name=name, kind=kind, kind_en=kind_en)
    return None


_SYSTEM_FILE_NAMES = {"thumbs.db", "desktop.ini"}


def _is_hidden_or_system(path: Path, inbox_root: Path) -> bool:
    """Hidden anywhere below the inbox (.DS_Store, __MACOSX/._x.xlsx, .git/...) or an
    Explorer metadata file."""
    if path.name.lower() in _SYSTEM_FILE_NAMES:
        return True
    try:
        parts = path.relative_to(inbox_root).parts
    except ValueError:
        parts = (path.name,)
    return any(part.startswith(".") and part not in (".", "..") for part in parts)
