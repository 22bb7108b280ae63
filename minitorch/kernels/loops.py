"""Helpers of the compiled CPU kernels (:mod:`.cpu`): which arrays a loop takes, kernels written as
loops, and large batches split over threads."""
from __future__ import annotations

import functools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

_LOOP_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# numba's fastmath flags for loops that sum: reassociation lets a sum vectorise; the rest of fastmath (no NaN,
# no inf) is left out, so a NaN still reaches the loss.
REASSOC = {"reassoc", "contract"}


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
    """A kernel written as ``bind(*args, *outputs) -> (loop, loop_args)``: the function calls the loop;
    ``function.bind`` is ``bind`` (:class:`~minitorch.kernels.Kernel` calls it and the loop itself, one
    Python call fewer); ``function.replay`` gives a recorded call its direct form, the loop's compiled entry
    point on those very arrays (no argument checks, no dispatch; in parts over threads where the eager call
    splits too), or None where binding made a copy a replay would not refresh."""
    @functools.wraps(bind)  # the kernel's name, docstring and signature
    def run(*args: Any) -> None:
        loop, loop_args = bind(*args)
        loop(*loop_args)

    def replay(*args: Any) -> tuple | None:
        loop, loop_args = bind(*args)
        parts = loop if type(loop) is InParts else None
        if parts is not None:  # the loop's direct form goes in parts too
            loop = parts.loop
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        if not all(any(np.may_share_memory(b, a) for a in arrays) for b in loop_args if isinstance(b, np.ndarray)):
            return None
        found = getattr(loop, "overloads", {}).get(tuple(numba.typeof(a) for a in loop_args)) \
            if hasattr(loop, "overloads") else None
        direct = loop if found is None else found.entry_point
        return (direct if parts is None else InParts(direct, parts.batched)), loop_args

    run.bind = bind  # type: ignore[attr-defined]
    run.replay = replay  # type: ignore[attr-defined]
    return run


def contiguous(a: np.ndarray) -> np.ndarray:
    """C-contiguous, keeping a 0-d array 0-d (``np.ascontiguousarray`` makes it 1-d)."""
    return np.ascontiguousarray(a) if a.ndim else a  # a 0-d array is contiguous


# ------------------------------------------------------------------ batch-wise threads
# Loops over a large batch (evaluation at batch 1000, CoolNet's training at batch 256) run in parts on
# NUMBA_NUM_THREADS threads (1: serial), eagerly and in replays alike; a part's values are those the whole call
# gives (each element is computed by the same code whatever part it falls in).  Python threads that block while
# they wait, not numba's OpenMP ones, which spin (see benchmarks/README.md, "Threads and large batches").
SPLIT_MIN_VALUES = 1 << 18  # below this many values in the split array a loop runs whole (every step at batch 32)
_POOL: list[ThreadPoolExecutor] = []
_THREAD_NAME = "minitorch-kernel"  # the pool's threads' names begin so
_last_split = [float("-inf")]  # when work last ran on other threads (time.monotonic(); note_split)


def split_threads() -> int:
    """Threads a large batch-wise loop is split over: ``numba.config.NUMBA_NUM_THREADS``."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=split_threads() - 1, thread_name_prefix=_THREAD_NAME))
    return _POOL[0]


os.register_at_fork(after_in_child=_POOL.clear)  # a forked child has none of its parent's threads


def run_split(loop: Any, args: tuple, batched: tuple[int, ...]) -> list:
    """``loop(*args)`` in parts along the first axis of the arguments at the positions ``batched``: part 0 in
    this thread, the others on a pool's threads (compiled loops release the GIL, ``nogil=True``); the parts'
    results, in order.  One part (the whole call) where the batch is small or threads are 1."""
    first = args[batched[0]]
    if first.size < SPLIT_MIN_VALUES:  # asked first: training steps stop here
        return [loop(*args)]
    parts = min(split_threads(), first.shape[0])
    if parts < 2 or threading.current_thread().name.startswith(_THREAD_NAME):
        return [loop(*args)]  # one thread, or a part of a split (a split within it would wait on its own pool)
    edges = [first.shape[0] * p // parts for p in range(parts + 1)]

    def part(p: int) -> tuple:
        lo, hi = edges[p], edges[p + 1]
        return tuple(a[lo:hi] if i in batched else a for i, a in enumerate(args))

    note_split()
    futures = [_pool().submit(loop, *part(p)) for p in range(1, parts)]
    results = [loop(*part(0))]
    return results + [f.result() for f in futures]


class InParts:
    """``loop`` as a function of its arguments that runs in parts along those at the positions ``batched``
    (:func:`run_split`): a call a captured step replays as it is, its arrays among the arguments."""

    __slots__ = ("loop", "batched")

    def __init__(self, loop: Any, batched: tuple[int, ...]) -> None:
        self.loop, self.batched = loop, batched

    def __call__(self, *args: Any) -> list:
        return run_split(self.loop, args, self.batched)


def in_parts(loop: Any, args: tuple, batched: tuple[int, ...]) -> tuple:
    """A :func:`loop_kernel` binding: ``loop`` in parts (:class:`InParts`) where the batch is large, else ``loop``
    itself (training steps up to batch 32: one call less)."""
    if args[batched[0]].size < SPLIT_MIN_VALUES:
        return loop, args
    return InParts(loop, batched), args


# ------------------------------------------------------------------ BLAS beside the split
# OpenBLAS's worker threads, once a GEMM has woken them, spin on the other cores for a while before they sleep.
# Loops split over minitorch's threads (above) then share those cores with spinning threads and gain nothing:
# CoolNet's evaluation at batch 1000 on 2 cores took 224 ms per 10,000 images with its Linear layers' GEMMs on 2
# BLAS threads, 104 ms with them on one (a captured CoolNet step at batch 256: 1.1x the serial step's time with
# two, 0.83-0.94x with one).  So within BLAS_ALONE_AFTER_SPLIT_S of a split, Linear's GEMMs run on one BLAS
# thread (the same bits: OpenBLAS parts a GEMM's output among its threads, never a sum).  Elsewhere (small
# batches, BoringNet's large GEMMs: nothing of theirs splits) BLAS keeps its threads; the window is short so
# that a GEMM-bound step run right after an evaluation keeps them too.
BLAS_ALONE_AFTER_SPLIT_S = 0.1
# OpenBLAS runs a GEMM of at most this many multiply-adds (m * n * k) on one thread anyway (its SMP_THRESHOLD_MIN
# 65536 times GEMM_MULTITHREAD_THRESHOLD 4): no worker wakes, and limiting it would only cost the toggle
BLAS_SINGLE_THREAD_MNK = 65536 * 4
_blas: list[list[Any]] = []  # [threadpoolctl's controllers of the loaded BLAS libraries], made on first use


def note_split() -> None:
    """Say that work ran on threads besides this one just now (a split above, or :mod:`.cpu_skinny`'s OpenMP
    halves): for :data:`BLAS_ALONE_AFTER_SPLIT_S` GEMMs keep BLAS to one thread (:func:`matmul_beside_split`)."""
    _last_split[0] = time.monotonic()


def splitting() -> bool:
    """Whether work ran on other threads (:func:`note_split`) in the last :data:`BLAS_ALONE_AFTER_SPLIT_S`."""
    return time.monotonic() - _last_split[0] < BLAS_ALONE_AFTER_SPLIT_S


def matmul_beside_split(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``np.matmul(a, b, out)``, with BLAS limited to one thread for the call (:func:`one_blas_thread`) while
    :func:`splitting`: asked on every call, since a captured step keeps the function it was recorded with."""
    if not splitting():
        np.matmul(a, b, out)
        return
    saved = one_blas_thread()
    try:
        np.matmul(a, b, out)
    finally:
        restore_blas(saved)


def one_blas_thread() -> list[tuple[Any, int]]:
    """Limit every loaded BLAS library to one thread (about a microsecond, through threadpoolctl's controllers
    of the libraries themselves); returns what :func:`restore_blas` needs to undo it."""
    if not _blas:
        from threadpoolctl import ThreadpoolController
        _blas.append(ThreadpoolController().select(user_api="blas").lib_controllers)
    saved = [(lib, lib.get_num_threads()) for lib in _blas[0]]
    for lib, threads in saved:
        if threads != 1:
            lib.set_num_threads(1)
    return saved


def restore_blas(saved: list[tuple[Any, int]]) -> None:
    """Give each BLAS library back the thread count :func:`one_blas_thread` found."""
    for lib, threads in saved:
        if threads != 1:
            lib.set_num_threads(threads)
