"""Write a file whole or not at all.

A reader (or a process killed half-way) must never see half a file: the
content goes to a temporary file beside the target, is flushed to disk, and is
renamed over it.  The temporary file gets the permissions an ordinary file
would (``mkstemp`` makes it private), and is removed if anything fails.

A process killed outright (``kill -9``) cannot remove its temporary file, so
the name says whose it was (``.tmp-<pid>-...``): :func:`remove_temporaries`
can then clear what dead writers left without touching a live writer's file.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from typing import IO

TEMP_PREFIX = ".tmp-"   # what a killed writer can leave behind; see remove_temporaries


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file)`` on a temporary binary file, then rename it to ``path``."""
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.islink(path):  # os.replace would refuse only once the file was written,
        raise IsADirectoryError(errno.EISDIR, "cannot write a file over a directory", path)  # naming the temporary
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=directory)
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


def remove_temporaries(directory: str | os.PathLike, dead_only: bool = False) -> list[str]:
    """Delete what a killed :func:`atomic_write` left in ``directory``; returns the names removed.

    ``dead_only``: keep the files of writers still alive on this machine (for a
    folder that other processes may be writing at the same time).
    """
    removed = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(TEMP_PREFIX) and not (dead_only and _writer_alive(name)):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:   # its writer finished (or another cleaner came first)
                continue
            removed.append(name)
    return removed


def _writer_alive(name: str) -> bool:
    """Whether the process named in a temporary file's name (``.tmp-<pid>-...``) is running."""
    pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError, ValueError):   # gone, or not a process id at all
        return False
    except PermissionError:   # alive, another user's
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
