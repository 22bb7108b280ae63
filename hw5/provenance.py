"""Where a run's numbers came from: the code, the packages, the machine and the thread pools.

Every session of a run (the first, and each ``--resume``) appends one entry to
``config.json``'s ``"provenance"`` list, so a result can always be traced to
the commit that trained it, even when a run was continued by newer code.  The
report names the commits its runs came from.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from typing import Any

from hw5.process import blas_threads

_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git(*args: str) -> str | None:
    """A git command's output in the project's folder; None outside a checkout or without git."""
    try:
        done = subprocess.run(["git", "-C", _PROJECT, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """The git commit the code came from and whether tracked files differed from it (None: not a checkout)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # not installed, or installed without metadata
        return None


def threads() -> dict[str, Any]:
    """The thread pools this process runs with: numba's, and BLAS's as the environment asks for it."""
    import numba

    return {"numba": numba.get_num_threads(), "blas": blas_threads(), "cores": os.cpu_count()}


def provenance(capture: bool) -> dict[str, Any]:
    """One session's entry: when, which code, which packages, which machine, how many threads, capture on/off."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **code_version(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "minitorch": _version("minitorch"),
        "platform": f"{sys.platform} {platform.machine()}",
        "cpu": cpu_model(),
        "threads": threads(),
        "capture": capture,
    }


def commits(config: dict[str, Any]) -> list[str]:
    """The commits (short, ``+dirty`` where the tree differed) that trained a run, oldest first; [] if unknown."""
    out: list[str] = []
    for entry in config.get("provenance") or []:
        if isinstance(entry, dict) and isinstance(entry.get("commit"), str):
            name = entry["commit"][:7] + ("+dirty" if entry.get("dirty") else "")
            if name not in out:
                out.append(name)
    return out
