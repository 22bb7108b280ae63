"""Helpers of the compiled CPU kernels (:mod:`.cpu`): which arrays a loop takes, and kernels written as loops."""
from __future__ import annotations

import functools
from typing import Any

import numba
import numpy as np

_LOOP_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def loop_dtype(*arrays: np.ndarray) -> bool:
    """Whether a compiled loop takes these arrays: one float dtype, all C-contiguous."""
    dtype = arrays[0].dtype
    if dtype not in _LOOP_DTYPES:
        return False
    for a in arrays:  # a plain loop: asked before every loop kernel, and a generator costs more
        if a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def loop_kernel(bind: Any) -> Any:
    """A kernel written as ``bind(*args, *outputs) -> (loop, loop_args)``: the function calls the loop, and
    ``function.replay`` gives a recorded call its direct form, the loop's compiled entry point on those very
    arrays (no argument checks, no dispatch), or None where binding made a copy a replay would not refresh."""
    @functools.wraps(bind)  # the kernel's name, docstring and signature
    def run(*args: Any) -> None:
        loop, loop_args = bind(*args)
        loop(*loop_args)

    def replay(*args: Any) -> tuple | None:
        loop, loop_args = bind(*args)
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        if not all(any(np.may_share_memory(b, a) for a in arrays) for b in loop_args if isinstance(b, np.ndarray)):
            return None
        found = getattr(loop, "overloads", {}).get(tuple(numba.typeof(a) for a in loop_args)) \
            if hasattr(loop, "overloads") else None
        return (loop if found is None else found.entry_point), loop_args

    run.replay = replay  # type: ignore[attr-defined]
    return run


def contiguous(a: np.ndarray) -> np.ndarray:
    """C-contiguous, keeping a 0-d array 0-d (``np.ascontiguousarray`` makes it 1-d)."""
    return np.ascontiguousarray(a) if a.ndim else a  # a 0-d array is contiguous

