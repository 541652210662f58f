"""Atomic file writes that leave files as readable as any other file this process makes.

``tempfile.mkstemp`` creates files with mode 0600 whatever the umask; renamed
into place, they stay unreadable to everyone else: a predictor running as
uid 10001 over a mounted folder (``pvc://``) could not read a model exported
by another user. Every atomic write here gets ``0666 & ~umask``, the mode
``open()`` would have given it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask() -> int:
    """The process umask (read without changing it for longer than two calls)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def default_mode() -> int:
    return 0o666 & ~umask()


def temp_in(folder: Path) -> Path:
    """A new empty file in ``folder`` (for a later :func:`os.replace`), with the default mode."""
    handle, name = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    os.close(handle)
    os.chmod(name, default_mode())
    return Path(name)


def write_atomic(target: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_in(target.parent)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    return write_atomic(target, lambda tmp: tmp.write_bytes(data))


def copy_atomic(source: Path, target: Path) -> Path:
    return write_atomic(target, lambda tmp: shutil.copyfile(source, tmp))
