"""Write a file whole or not at all.

A reader (or a process killed half-way) must never see half a file: the
content goes to a temporary file beside the target, is flushed to disk, and is
renamed over it.  The temporary file gets the permissions an ordinary file
would (``mkstemp`` makes it private), and is removed if anything fails.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import IO

TEMP_PREFIX = ".tmp-"   # what a killed writer can leave behind; see remove_temporaries


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file)`` on a temporary binary file, then rename it to ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    atomic_write(path, lambda f: f.write(text.encode()))


def remove_temporaries(directory: str | os.PathLike) -> list[str]:
    """Delete what a killed :func:`atomic_write` left in ``directory``; returns the names removed."""
    removed = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(TEMP_PREFIX):
            os.unlink(os.path.join(directory, name))
            removed.append(name)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
