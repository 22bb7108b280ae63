"""A training process as a sweep sees it: its thread pools, sized before it starts, and its exit status.

NumPy's BLAS and numba size their thread pools when they are first imported,
so a process's thread counts must be in its environment before it starts: that
is why every experiment of a sweep is a fresh ``python -m hw5 run NAME``
rather than a function called inside a Dask worker.  A task gets its share of
its machine's cores for numba's kernels (``NUMBA_NUM_THREADS``; Dask sets only
the BLAS variables, and to 1); BLAS gets the driver's setting (one thread, as
``hw5.__main__`` chooses unless told otherwise) capped by the share, since the
small matrices of these networks gain nothing from more.

Exit statuses of ``python -m hw5 run``: 0 when every run ended normally (a
diverged run is a normal end), :data:`INTERRUPTED` when one was stopped by
Ctrl-C, 1 when one failed, 2 for a mistake on the command line.

This module imports nothing heavy: the command line imports it in every
training process.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

INTERRUPTED = 130    # the exit status of a run stopped by Ctrl-C
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SWEEP_TASK = "HW5_SWEEP_TASK"   # set in a sweep's training processes: they report their pools


def usable_cores() -> int:
    """The cores this process may run on (a Slurm job's allocation, not the whole node)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def blas_threads(environ: Mapping[str, str] | None = None) -> int:
    """The BLAS thread count this environment asks for (1 when it says nothing usable)."""
    variables = os.environ if environ is None else environ
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):  # as the libraries read them
        value = variables.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def child_environment(threads: int, blas: int = 1, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (this environment by default) with thread pools sized for a process given ``threads`` cores."""
    env = dict(os.environ if base is None else base)
    for name in BLAS_VARIABLES:
        env[name] = str(max(1, min(threads, blas)))
    env["NUMBA_NUM_THREADS"] = str(max(1, threads))
    env["PYTHONUNBUFFERED"] = "1"
    env[SWEEP_TASK] = "1"
    return env


def thread_report() -> str:
    """One line with the thread pools this process actually got, read from numba and BLAS themselves."""
    import numba

    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        blas = ", ".join(f"{p['num_threads']} ({p['internal_api']})" for p in pools) or "none loaded"
    except ImportError:  # threadpoolctl is optional: fall back to what the environment asked for
        blas = f"{blas_threads()} (from the environment)"
    return f"threads: numba {numba.get_num_threads()}, BLAS {blas}; pid {os.getpid()}"
