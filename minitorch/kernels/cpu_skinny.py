"""A Linear layer's products at a few dozen rows: SIMD register tiles split over two threads.

BoringNet's first layer (a 120 x 3072 weight) at batch 9 to 32 is a skinny
product: a large weight against a few dozen rows.  OpenBLAS shares it among two
threads at about 55-60 G multiply-adds/s here.  The register tiles of
:mod:`.cpu_simd` reach about 50 on one thread and 80-95 on two (AMD EPYC,
AVX-512, 2026-12-07: the forward 0.13-0.15 ms and the weight gradient
0.12-0.14 ms against OpenBLAS's 0.21 and 0.22-0.24; benchmarks/README.md):

* :func:`forward_into` (x, weight, out): out = x @ weight.T as lane-wise partial
  dot products (:func:`.cpu_simd._dots`: DOT_ROWS rows of x by five weight rows
  per tile, over the whole of K), each output's LANES partial sums then added
  in lane order;
* :func:`weight_grad_into` (g, x, out): out = g.T @ x as :func:`.cpu_simd._tiles`
  (six output rows by TILE_VECS vectors; one fused multiply-add per batch row,
  rows in order, from zero).

Each output is computed by the same chain of operations whatever tile or thread
it falls in, so splitting changes no bits: the results are the same on one
thread or two, eagerly and in a captured replay.  (They differ from OpenBLAS's
in the last bits: another summation order.)

**Threads.**  The two halves of the weight's rows run as a numba ``prange``
of two on numba's threading layer (OpenMP here: 1.6 us to start a parallel
region, where minitorch's blocking Python threads, :func:`.loops.run_split`,
take 60-80 us: as long as a third of the product).  OpenMP's threads spin for
a while after a region, as OpenBLAS's do after a GEMM, and the two spinning
beside each other on the second core are slow: a 3072-1024-1024-10 MLP's step
at batch 32 took 2-4x as long.  So a parallel call says so
(:func:`.loops.note_split`), and for the next 0.1 s the GEMMs that OpenBLAS
would share among its threads run on one (as beside minitorch's own splits).
The halves run only when numba has two threads or more (``NUMBA_NUM_THREADS``:
hw5's sweeps give each training process one) and
never in a process forked after OpenMP started (GNU OpenMP is not fork-safe):
there the serial form runs, with the same bits.
"""
from __future__ import annotations

import os

import numba
import numpy as np
from numba import prange

from minitorch.kernels.cpu_simd import DOT_ROWS, LANES, _dots, _pack, _tiles
from minitorch.kernels.loops import note_split, split_threads

_forked = [False]   # set in a child forked from this process: no OpenMP there


def _after_fork_in_child() -> None:
    _forked[0] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def fits(a: np.ndarray, b: np.ndarray, width: int) -> bool:
    """Whether these products take arrays ``a`` and ``b``: float32, C-contiguous, rows of ``width`` a whole
    number of vectors.  (Where they pay, a large weight at a few dozen rows, :mod:`.cpu` decides.)"""
    return (a.dtype == b.dtype == np.float32 and a.flags.c_contiguous and b.flags.c_contiguous
            and width % LANES == 0)


def _two_threads() -> bool:
    return not _forked[0] and split_threads() >= 2


@numba.njit(nogil=True, cache=True)
def _first_half(rows, tile):
    """Where the second thread's rows begin: about half of ``rows``, whole tiles of ``tile`` rows before it."""
    return min(rows, (rows // 2 + tile - 1) // tile * tile)


# ------------------------------------------------------------------ forward
@numba.njit(nogil=True, cache=True)
def _forward_rows(x, weight, out, part, r0, r1):
    """out[:, r0:r1] = x @ weight[r0:r1].T, through part[:, r0:r1] (N, R, LANES) of lane-wise partial sums."""
    N, K = x.shape
    R = weight.shape[0]
    xf, wf, pf = x.reshape(-1), weight.reshape(-1), part.reshape(-1)
    part[:, r0:r1] = 0.0
    r = r0
    while r < r1:
        taps = 5 if r + 5 <= r1 else (3 if r + 3 <= r1 else 1)
        n = 0
        while n < N:
            rows = DOT_ROWS if n + DOT_ROWS <= N else (2 if n + 2 <= N and DOT_ROWS >= 2 else 1)
            _dots(xf, n * K, K, 0, wf, r * K, 0, K, pf, (n * R + r) * LANES, R * LANES, 1, K // LANES, rows, taps)
            n += rows
        r += taps
    for n in range(N):
        for r in range(r0, r1):
            s = part[n, r, 0]
            for lane in range(1, LANES):
                s += part[n, r, lane]
            out[n, r] = s


@numba.njit(nogil=True, cache=True, parallel=True)
def _forward_halves(x, weight, out, part):
    R = weight.shape[0]
    half = _first_half(R, 5)   # tiles of five weight rows
    for p in prange(2):
        _forward_rows(x, weight, out, part, 0 if p == 0 else half, half if p == 0 else R)


def forward_into(x: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """out = x @ weight.T (float32; see :func:`fits`), on two threads where numba has them."""
    part = np.empty((x.shape[0], weight.shape[0], LANES), dtype=np.float32)   # the lanes' partial sums
    if _two_threads():
        note_split()
        _forward_halves(x, weight, out, part)
    else:
        _forward_rows(x, weight, out, part, 0, weight.shape[0])


# ------------------------------------------------------------------ weight gradient
@numba.njit(nogil=True, cache=True)
def _weight_grad_rows(g, x, out, r0, r1):
    """out[r0:r1] = g[:, r0:r1].T @ x."""
    N, D = x.shape
    offs = np.arange(N) * D   # tap n: row n of x
    _tiles(x.reshape(-1), offs, _pack(g[:, r0:r1].T), np.zeros(r1 - r0, dtype=np.float32), out[r0:r1], r1 - r0, D)


@numba.njit(nogil=True, cache=True, parallel=True)
def _weight_grad_halves(g, x, out):
    R = g.shape[1]
    half = _first_half(R, 6)   # groups of six rows
    for p in prange(2):
        _weight_grad_rows(g, x, out, 0 if p == 0 else half, half if p == 0 else R)


def weight_grad_into(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """out = g.T @ x (float32; see :func:`fits`), on two threads where numba has them."""
    if _two_threads():
        note_split()
        _weight_grad_halves(g, x, out)
    else:
        _weight_grad_rows(g, x, out, 0, g.shape[1])
