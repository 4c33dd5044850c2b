"""The guard's entry points: a returned file read once and its bytes judged, by what they are.

`inspect_file` reads the file (never more than the size cap) and returns the bytes it judged;
`inspect_bytes` judges bytes; `open_package` judges them and, when they are a zip, also hands
back the opened package, so the reader parses the parts the guard already read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from xltool.findings import ERROR
from xltool.xlsx.guard.codes import FILE_EMPTY, FILE_TOO_LARGE, FILE_UNREADABLE, SKIPPED_NOT_REGULAR_FILE
from xltool.xlsx.guard.container import open_zip
from xltool.xlsx.guard.ole import inspect_ole
from xltool.xlsx.guard.package import inspect_package
from xltool.xlsx.guard.result import GuardResult, Limits, mb, result
from xltool.xlsx.guard.sniff import OLE2_MAGIC, ZIP_MAGICS, inspect_other
from xltool.xlsx.package import HEAD_BYTES, Package, SafeET


def check_defusedxml_available() -> None:
    """Fail loudly at start-up if returned XML could be parsed without defusedxml.

    The guard parses with defusedxml, and openpyxl switches to it only when it is installed
    and OPENPYXL_DEFUSEDXML is not "False"; both must hold before any return is read.
    """
    if SafeET is None:
        raise RuntimeError(
            "缺少 defusedxml 库，无法安全读取报送文件。请在运行环境中执行 `pip install defusedxml` 后重试。"
            " (defusedxml is required to read returned workbooks safely: pip install defusedxml)")
    try:
        import openpyxl  # openpyxl is slow to import: only for what the fast paths do not cover
    except ImportError:
        return
    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise RuntimeError(
            "openpyxl 没有启用 defusedxml（可能设置了环境变量 OPENPYXL_DEFUSEDXML=False），"
            "无法安全读取报送文件。请取消该设置后重试。"
            " (openpyxl is not using defusedxml; unset OPENPYXL_DEFUSEDXML=False)")


def inspect_file(path: Path, limits: Limits = Limits()) -> GuardResult:
    """Read the returned file at `path` once and judge those bytes: `result.data` holds them
    (None when the file is not a regular file, is unreadable or over the size cap), so the
    caller hashes and parses exactly what was judged, even if the file is replaced meanwhile."""
    read = read_file(Path(path), limits)
    if isinstance(read, GuardResult):
        return read
    judged = inspect_bytes(read, Path(path).name, limits)
    judged.data = read
    return judged


def read_file(path: Path, limits: Limits) -> bytes | GuardResult:
    """The file's bytes, never more than the size cap; or the verdict when they cannot be read."""
    try:
        # O_NONBLOCK: opening a FIFO planted in the inbox must not hang the whole ingest.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return result("unreadable", [FILE_UNREADABLE.at(reason=exc.strerror or type(exc).__name__)])
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            what, what_en = describe_file_type(info.st_mode)
            return result("not-a-file", [SKIPPED_NOT_REGULAR_FILE.at(
                name=path.name, what=what, what_en=what_en, severity=ERROR)])
        if info.st_size > limits.max_file_bytes:
            return result("too-large", [FILE_TOO_LARGE.at(
                size_mb=mb(info.st_size), limit_mb=mb(limits.max_file_bytes))])
        try:
            data = fh.read(limits.max_file_bytes + 1)   # never more than the cap, even if the file grew
        except OSError as exc:
            return result("unreadable", [FILE_UNREADABLE.at(reason=exc.strerror or type(exc).__name__)])
    if len(data) > limits.max_file_bytes:
        return result("too-large", [FILE_TOO_LARGE.at(size_mb=mb(len(data)), limit_mb=mb(limits.max_file_bytes))])
    return data


def inspect_bytes(data: bytes, name: str, limits: Limits = Limits()) -> GuardResult:
    """Decide whether these bytes, a returned file named `name`, are safe to parse."""
    judged, package = open_package(data, name, limits)
    if package is not None:
        package.close()
    return judged


def open_package(data: bytes, name: str, limits: Limits = Limits()) -> tuple[GuardResult, Package | None]:
    """The verdict on these bytes and, when they are a zip that could be opened, its package
    (the caller closes it)."""
    if SafeET is None:
        check_defusedxml_available()
    if len(data) == 0:
        return result("empty", [FILE_EMPTY.at()]), None
    if len(data) > limits.max_file_bytes:
        return result("too-large", [FILE_TOO_LARGE.at(
            size_mb=mb(len(data)), limit_mb=mb(limits.max_file_bytes))]), None
    head = data[:HEAD_BYTES]
    path = PurePath(name)
    if head.startswith(OLE2_MAGIC):
        return inspect_ole(data, path), None
    if not head.startswith(ZIP_MAGICS):
        return inspect_other(head), None
    package = open_zip(data, limits)
    if not isinstance(package, Package):
        return result("zip", [package]), None
    return inspect_package(package, path, limits), package


def describe_file_type(mode: int) -> tuple[str, str]:
    if stat.S_ISDIR(mode):
        return "文件夹", "a folder"
    if stat.S_ISFIFO(mode):
        return "命名管道", "a named pipe"
    if stat.S_ISSOCK(mode):
        return "套接字", "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件", "a device"
    return "特殊文件", "a special file"
