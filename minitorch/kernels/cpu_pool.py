"""numba-compiled CPU kernels of max pooling (re-exported by :mod:`.cpu`, the CPU backend).

The 2x2, stride-2 pool of LeNet-style nets has loops of its own (with and
without the indices backward needs); any other window takes the general loop.
A large batch goes in parts over threads (:func:`.loops.run_split`; each
plane is pooled the same way whatever part it falls in).
"""
from __future__ import annotations

import numba
import numpy as np

from minitorch.kernels.loops import run_split


@numba.njit(cache=True, nogil=True)
def _max_pool_forward(x, k, stride, pad, out, argmax):
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    best = -np.inf
                    best_index = -1
                    for i in range(k):
                        h = oh * stride - pad + i
                        if h < 0 or h >= H:
                            continue
                        for j in range(k):
                            w = ow * stride - pad + j
                            if w < 0 or w >= W:
                                continue
                            v = x[n, c, h, w]
                            # strict '>' keeps the first maximum; a NaN wins and stays
                            if best_index < 0 or v > best or (v != v and best == best):
                                best = v
                                best_index = h * W + w
                    out[n, c, oh, ow] = best
                    argmax[n, c, oh, ow] = best_index


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2(x, out, argmax):
    """The common 2x2, stride-2, unpadded pool, unrolled; returns False if the input held a NaN.

    Plain ``>`` comparisons vectorise where the NaN-aware ones of
    :func:`_max_pool_forward` do not (about 10x faster), but they let a NaN
    lose.  So the kernel also notes whether any x != x (a NaN); then the caller
    redoes the pool with the general kernel.  (An or of booleans vectorises; the
    sum of x - x it used before was a float sum the compiler may not reorder,
    and it made the kernel twice as slow: 85 -> 41 us at CoolNet's first pool,
    batch 32.)  Infinities need no fallback: ``>`` orders them as the general
    kernel does.
    """
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    nan = False
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
                for ow in range(Wo):
                    w0 = 2 * ow
                    a, b, d, e = top[w0], top[w0 + 1], bottom[w0], bottom[w0 + 1]
                    nan |= (a != a) | (b != b) | (d != d) | (e != e)
                    best, at = a, 0
                    if b > best:
                        best, at = b, 1
                    if d > best:
                        best, at = d, W
                    if e > best:
                        best, at = e, W + 1
                    out[n, c, oh, ow] = best
                    argmax[n, c, oh, ow] = 2 * oh * W + w0 + at
    return not nan


@numba.njit(cache=True, nogil=True)
def _max_pool_2x2_values(x, out):
    """:func:`_max_pool_2x2` without the indices (no backward will run): the same maxima, about 1.5x faster."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    nan = False
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                top, bottom, row = x[n, c, 2 * oh], x[n, c, 2 * oh + 1], out[n, c, oh]
                for ow in range(Wo):
                    w0 = 2 * ow
                    a, b, d, e = top[w0], top[w0 + 1], bottom[w0], bottom[w0 + 1]
                    nan |= (a != a) | (b != b) | (d != d) | (e != e)
                    best = a
                    if b > best:
                        best = b
                    if d > best:
                        best = d
                    if e > best:
                        best = e
                    row[ow] = best
    return not nan


@numba.njit(cache=True, nogil=True)
def _max_pool_backward(grad, argmax, out):
    """out[n, c].flat[argmax] += grad: out is (N, C, H*W), so no index arithmetic per element.

    Each plane is zeroed just before its gradients land in it, while it is in cache (zeroing the whole of out
    first was a pass of its own: a third of the kernel's time at batch 256)."""
    N, C, Ho, Wo = grad.shape
    for n in range(N):
        for c in range(C):
            plane = out[n, c]
            for i in range(plane.shape[0]):
                plane[i] = 0
            for oh in range(Ho):
                for ow in range(Wo):
                    plane[argmax[n, c, oh, ow]] += grad[n, c, oh, ow]


def max_pool_forward(x: np.ndarray, kernel: int, stride: int, padding: int, keep_argmax: bool, out: np.ndarray,
                     argmax: np.ndarray | None) -> None:
    x = np.ascontiguousarray(x)
    if kernel == 2 and stride == 2 and padding == 0:
        if argmax is None and all(run_split(_max_pool_2x2_values, (x, out), batched=(0, 1))):
            return
        if argmax is not None and all(run_split(_max_pool_2x2, (x, out, argmax), batched=(0, 1, 2))):
            return
    if argmax is None:  # the general loop writes indices too: a scratch array here
        argmax = np.empty(out.shape, dtype=np.int64)
    _max_pool_forward(x, kernel, stride, padding, out, argmax)  # the general loop (and 2x2's NaN fallback)


def max_pool_backward(grad: np.ndarray, argmax: np.ndarray, x_shape, out: np.ndarray) -> None:
    N, C, H, W = x_shape
    run_split(_max_pool_backward, (np.ascontiguousarray(grad), np.ascontiguousarray(argmax), out.reshape(N, C, H * W)),
              batched=(0, 1, 2))
