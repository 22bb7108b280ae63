"""Direct stride-1 convolution on the CPU (numba), for layers with few channels.

im2col + GEMM copies every input value kh*kw times and then runs a GEMM whose
small side is the number of output channels: for LeNet's conv1 (6 outputs)
that GEMM is memory-bound and the copy costs as much again.  These kernels
skip the copy.  They work on **wide rows**: an image's channel is one flat
row of H*W values, and output pixel (i, j) is computed at flat position
t = i*W + j.  Tap (ki, kj) of the kernel then reads the input at t + ki*W + kj
for *every* t, so each tap is one long contiguous multiply-add that the
compiler vectorises.  The W - Wo positions at the end of each row are
computed and thrown away (14% extra work for conv1, 36% for conv2).

The kernels are serial.  Parallel builds (``prange`` over images) were
measured and lost: with OpenBLAS's worker spinning on the second core after
each GEMM, two numba threads made a CoolNet step no faster at batch 256 and
up to twice as slow at batch 32.  Three kernels give the forward pass and
both gradients:

* forward:      out[n, o]  = bias[o] + sum_c  w[o, c] (*) x[n, c]
* weight grad:  gw[o, c]   = sum_n g[n, o] (*) x[n, c]   (a correlation)
* input grad:   gx[n, c]   = sum_o w[o, c] scattered by g[n, o]

Each works on several channels at once, so that a value loaded from memory
feeds several multiply-adds: the loops are bound by loads and stores, not
arithmetic.  The weight gradient takes output channels in pairs and the input
gradient input channels in pairs (1.3-2x faster than single channels); the
forward pass takes output channels four at a time (0.85-0.94x the time of
pairs on CoolNet's layers, with the same sums in the same order: bit-identical).

Padding is applied to the input beforehand (and cut off the input
gradient), so the kernels only ever see padding 0.
"""
from __future__ import annotations

import numba
import numpy as np

# Reassociation lets the compiler vectorise sums; not the full fastmath, whose
# no-NaN/no-inf assumptions could drop a NaN that should reach the loss.
_FAST = {"reassoc", "contract"}


def zero_padded(x: np.ndarray, padding: int) -> np.ndarray:
    """(N, C, H, W) with ``padding`` zeros around each image, C-contiguous (x itself when it already is)."""
    if not padding:
        return np.ascontiguousarray(x)
    N, C, H, W = x.shape
    out = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)
    out[:, :, padding:padding + H, padding:padding + W] = x
    return out


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _add_taps(acc, xrow, wrow, at, L):
    """acc[t] += sum_j wrow[j] * xrow[at + j + t] for t < L: one kernel row, taps fused by five and three."""
    kw = wrow.shape[0]
    j = 0
    while j + 4 < kw:
        w0, w1, w2, w3, w4 = wrow[j], wrow[j + 1], wrow[j + 2], wrow[j + 3], wrow[j + 4]
        a = at + j
        x0, x1, x2, x3, x4 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L], \
            xrow[a + 3:a + 3 + L], xrow[a + 4:a + 4 + L]
        for t in range(L):
            acc[t] += w0 * x0[t] + w1 * x1[t] + w2 * x2[t] + w3 * x3[t] + w4 * x4[t]
        j += 5
    while j + 2 < kw:
        w0, w1, w2 = wrow[j], wrow[j + 1], wrow[j + 2]
        a = at + j
        x0, x1, x2 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L]
        for t in range(L):
            acc[t] += w0 * x0[t] + w1 * x1[t] + w2 * x2[t]
        j += 3
    while j < kw:
        w0 = wrow[j]
        x0 = xrow[at + j:at + j + L]
        for t in range(L):
            acc[t] += w0 * x0[t]
        j += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _add_taps_pair(acc0, acc1, xrow, wrow0, wrow1, at, L):
    """:func:`_add_taps` for two output channels at once: each input value loaded feeds both."""
    kw = wrow0.shape[0]
    j = 0
    while j + 4 < kw:
        u0, u1, u2, u3, u4 = wrow0[j], wrow0[j + 1], wrow0[j + 2], wrow0[j + 3], wrow0[j + 4]
        v0, v1, v2, v3, v4 = wrow1[j], wrow1[j + 1], wrow1[j + 2], wrow1[j + 3], wrow1[j + 4]
        a = at + j
        x0, x1, x2, x3, x4 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L], \
            xrow[a + 3:a + 3 + L], xrow[a + 4:a + 4 + L]
        for t in range(L):
            p0, p1, p2, p3, p4 = x0[t], x1[t], x2[t], x3[t], x4[t]
            acc0[t] += u0 * p0 + u1 * p1 + u2 * p2 + u3 * p3 + u4 * p4
            acc1[t] += v0 * p0 + v1 * p1 + v2 * p2 + v3 * p3 + v4 * p4
        j += 5
    while j < kw:
        u0, v0 = wrow0[j], wrow1[j]
        x0 = xrow[at + j:at + j + L]
        for t in range(L):
            acc0[t] += u0 * x0[t]
            acc1[t] += v0 * x0[t]
        j += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _add_taps_quad(acc0, acc1, acc2, acc3, xrow, wrow0, wrow1, wrow2, wrow3, at, L):
    """:func:`_add_taps` for four output channels at once: each input value loaded feeds four (twenty weights
    in registers for a five-tap pass)."""
    kw = wrow0.shape[0]
    j = 0
    while j + 4 < kw:
        a0, a1, a2, a3, a4 = wrow0[j], wrow0[j + 1], wrow0[j + 2], wrow0[j + 3], wrow0[j + 4]
        b0, b1, b2, b3, b4 = wrow1[j], wrow1[j + 1], wrow1[j + 2], wrow1[j + 3], wrow1[j + 4]
        c0, c1, c2, c3, c4 = wrow2[j], wrow2[j + 1], wrow2[j + 2], wrow2[j + 3], wrow2[j + 4]
        d0, d1, d2, d3, d4 = wrow3[j], wrow3[j + 1], wrow3[j + 2], wrow3[j + 3], wrow3[j + 4]
        a = at + j
        x0, x1, x2, x3, x4 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L], \
            xrow[a + 3:a + 3 + L], xrow[a + 4:a + 4 + L]
        for t in range(L):
            p0, p1, p2, p3, p4 = x0[t], x1[t], x2[t], x3[t], x4[t]
            acc0[t] += a0 * p0 + a1 * p1 + a2 * p2 + a3 * p3 + a4 * p4
            acc1[t] += b0 * p0 + b1 * p1 + b2 * p2 + b3 * p3 + b4 * p4
            acc2[t] += c0 * p0 + c1 * p1 + c2 * p2 + c3 * p3 + c4 * p4
            acc3[t] += d0 * p0 + d1 * p1 + d2 * p2 + d3 * p3 + d4 * p4
        j += 5
    while j < kw:
        a0, b0, c0, d0 = wrow0[j], wrow1[j], wrow2[j], wrow3[j]
        x0 = xrow[at + j:at + j + L]
        for t in range(L):
            p0 = x0[t]
            acc0[t] += a0 * p0
            acc1[t] += b0 * p0
            acc2[t] += c0 * p0
            acc3[t] += d0 * p0
        j += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True)
def _forward(x, w, bias, out):
    N, C, H, W = x.shape
    O, _, kh, _ = w.shape
    Ho, Wo = out.shape[2], out.shape[3]
    L = (Ho - 1) * W + Wo
    acc = np.empty((4, L), dtype=out.dtype)
    for n in range(N):
        rows = x[n].reshape(C, H * W)
        o = 0
        while o < O:  # output channels four at a time, then a pair, then one alone
            group = 4 if o + 3 < O else (2 if o + 1 < O else 1)
            for k in range(group):
                acc[k, :] = bias[o + k]
            for c in range(C):
                for i in range(kh):
                    if group == 4:
                        _add_taps_quad(acc[0], acc[1], acc[2], acc[3], rows[c], w[o, c, i], w[o + 1, c, i],
                                       w[o + 2, c, i], w[o + 3, c, i], i * W, L)
                    elif group == 2:
                        _add_taps_pair(acc[0], acc[1], rows[c], w[o, c, i], w[o + 1, c, i], i * W, L)
                    else:
                        _add_taps(acc[0], rows[c], w[o, c, i], i * W, L)
            for k in range(group):
                for i in range(Ho):
                    out[n, o + k, i, :] = acc[k, i * W:i * W + Wo]
            o += group


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _spread(g, n, W, gb):
    """gb[o] = g[n, o] laid out with row stride W, to match wide rows (the gaps stay as they are: zero)."""
    Ho, Wo = g.shape[2], g.shape[3]
    for o in range(g.shape[1]):
        for i in range(Ho):
            gb[o, i * W:i * W + Wo] = g[n, o, i, :]



@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _add_dots(grow, go, xrow, at, L):
    """grow[j] += sum_t go[t] * xrow[at + j + t]: one kernel row of the weight gradient, fused by five and three."""
    kw = grow.shape[0]
    zero = go.dtype.type(0)  # accumulate in the data's dtype: a float64 literal would halve the vector width
    j = 0
    while j + 4 < kw:
        a = at + j
        x0, x1, x2, x3, x4 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L], \
            xrow[a + 3:a + 3 + L], xrow[a + 4:a + 4 + L]
        s0, s1, s2, s3, s4 = zero, zero, zero, zero, zero
        for t in range(L):
            s0 += go[t] * x0[t]
            s1 += go[t] * x1[t]
            s2 += go[t] * x2[t]
            s3 += go[t] * x3[t]
            s4 += go[t] * x4[t]
        grow[j] += s0
        grow[j + 1] += s1
        grow[j + 2] += s2
        grow[j + 3] += s3
        grow[j + 4] += s4
        j += 5
    while j + 2 < kw:
        a = at + j
        x0, x1, x2 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L]
        s0, s1, s2 = zero, zero, zero
        for t in range(L):
            s0 += go[t] * x0[t]
            s1 += go[t] * x1[t]
            s2 += go[t] * x2[t]
        grow[j] += s0
        grow[j + 1] += s1
        grow[j + 2] += s2
        j += 3
    while j < kw:
        x0 = xrow[at + j:at + j + L]
        s0 = zero
        for t in range(L):
            s0 += go[t] * x0[t]
        grow[j] += s0
        j += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _add_dots_pair(grow0, grow1, go0, go1, xrow, at, L):
    """:func:`_add_dots` for two output channels at once: up to ten sums in registers, each input value loaded
    feeds two."""
    kw = grow0.shape[0]
    zero = go0.dtype.type(0)
    j = 0
    while j + 4 < kw:
        a = at + j
        x0, x1, x2, x3, x4 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L], \
            xrow[a + 3:a + 3 + L], xrow[a + 4:a + 4 + L]
        s0 = s1 = s2 = s3 = s4 = r0 = r1 = r2 = r3 = r4 = zero
        for t in range(L):
            p, q = go0[t], go1[t]
            y0, y1, y2, y3, y4 = x0[t], x1[t], x2[t], x3[t], x4[t]
            s0 += p * y0
            s1 += p * y1
            s2 += p * y2
            s3 += p * y3
            s4 += p * y4
            r0 += q * y0
            r1 += q * y1
            r2 += q * y2
            r3 += q * y3
            r4 += q * y4
        grow0[j] += s0
        grow0[j + 1] += s1
        grow0[j + 2] += s2
        grow0[j + 3] += s3
        grow0[j + 4] += s4
        grow1[j] += r0
        grow1[j + 1] += r1
        grow1[j + 2] += r2
        grow1[j + 3] += r3
        grow1[j + 4] += r4
        j += 5
    while j + 2 < kw:
        a = at + j
        x0, x1, x2 = xrow[a:a + L], xrow[a + 1:a + 1 + L], xrow[a + 2:a + 2 + L]
        s0 = s1 = s2 = r0 = r1 = r2 = zero
        for t in range(L):
            p, q = go0[t], go1[t]
            y0, y1, y2 = x0[t], x1[t], x2[t]
            s0 += p * y0
            s1 += p * y1
            s2 += p * y2
            r0 += q * y0
            r1 += q * y1
            r2 += q * y2
        grow0[j] += s0
        grow0[j + 1] += s1
        grow0[j + 2] += s2
        grow1[j] += r0
        grow1[j + 1] += r1
        grow1[j + 2] += r2
        j += 3
    while j < kw:
        x0 = xrow[at + j:at + j + L]
        s0 = r0 = zero
        for t in range(L):
            s0 += go0[t] * x0[t]
            r0 += go1[t] * x0[t]
        grow0[j] += s0
        grow1[j] += r0
        j += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True)
def _weight_grad(x, g, gw):
    N, C, H, W = x.shape
    O, Ho, Wo = g.shape[1], g.shape[2], g.shape[3]
    kh = gw.shape[2]
    L = (Ho - 1) * W + Wo
    gb = np.zeros((O, L), dtype=g.dtype)
    for n in range(N):
        _spread(g, n, W, gb)
        rows = x[n].reshape(C, H * W)
        o = 0
        while o + 1 < O:  # output channels two at a time (measured 1.2-1.4x faster than one); an odd last one alone
            for c in range(C):
                for i in range(kh):
                    _add_dots_pair(gw[o, c, i], gw[o + 1, c, i], gb[o], gb[o + 1], rows[c], i * W, L)
            o += 2
        while o < O:
            for c in range(C):
                for i in range(kh):
                    _add_dots(gw[o, c, i], gb[o], rows[c], i * W, L)
            o += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _scatter(dst, gb, w, c, i, j, L):
    """dst[t] += sum_o w[o, c, i, j] * gb[o, t]: one tap of the input gradient, four output channels per pass."""
    O = gb.shape[0]
    o = 0
    while o + 3 < O:
        w0, w1, w2, w3 = w[o, c, i, j], w[o + 1, c, i, j], w[o + 2, c, i, j], w[o + 3, c, i, j]
        g0, g1, g2, g3 = gb[o], gb[o + 1], gb[o + 2], gb[o + 3]
        for t in range(L):
            dst[t] += w0 * g0[t] + w1 * g1[t] + w2 * g2[t] + w3 * g3[t]
        o += 4
    while o + 1 < O:
        w0, w1 = w[o, c, i, j], w[o + 1, c, i, j]
        g0, g1 = gb[o], gb[o + 1]
        for t in range(L):
            dst[t] += w0 * g0[t] + w1 * g1[t]
        o += 2
    while o < O:
        w0, g0 = w[o, c, i, j], gb[o]
        for t in range(L):
            dst[t] += w0 * g0[t]
        o += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True, inline="always")
def _scatter_pair(dst0, dst1, gb, w, c, i, j, L):
    """:func:`_scatter` for input channels c and c + 1 at once: each gradient value loaded feeds both (the same
    sums in the same order, so the results are those of two :func:`_scatter` calls)."""
    O = gb.shape[0]
    o = 0
    while o + 3 < O:
        u0, u1, u2, u3 = w[o, c, i, j], w[o + 1, c, i, j], w[o + 2, c, i, j], w[o + 3, c, i, j]
        v0, v1, v2, v3 = w[o, c + 1, i, j], w[o + 1, c + 1, i, j], w[o + 2, c + 1, i, j], w[o + 3, c + 1, i, j]
        g0, g1, g2, g3 = gb[o], gb[o + 1], gb[o + 2], gb[o + 3]
        for t in range(L):
            p0, p1, p2, p3 = g0[t], g1[t], g2[t], g3[t]
            dst0[t] += u0 * p0 + u1 * p1 + u2 * p2 + u3 * p3
            dst1[t] += v0 * p0 + v1 * p1 + v2 * p2 + v3 * p3
        o += 4
    while o + 1 < O:
        u0, u1, v0, v1 = w[o, c, i, j], w[o + 1, c, i, j], w[o, c + 1, i, j], w[o + 1, c + 1, i, j]
        g0, g1 = gb[o], gb[o + 1]
        for t in range(L):
            dst0[t] += u0 * g0[t] + u1 * g1[t]
            dst1[t] += v0 * g0[t] + v1 * g1[t]
        o += 2
    while o < O:
        u0, v0, g0 = w[o, c, i, j], w[o, c + 1, i, j], gb[o]
        for t in range(L):
            dst0[t] += u0 * g0[t]
            dst1[t] += v0 * g0[t]
        o += 1


@numba.njit(fastmath=_FAST, nogil=True, cache=True)
def _input_grad(g, w, gx):
    N, C, H, W = gx.shape
    O, Ho, Wo = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = w.shape[2], w.shape[3]
    L = (Ho - 1) * W + Wo
    gb = np.zeros((O, L), dtype=g.dtype)  # its gaps stay zero: _spread writes only the valid columns
    for n in range(N):
        _spread(g, n, W, gb)
        rows = gx[n].reshape(C, H * W)
        rows[:] = 0
        c = 0
        while c + 1 < C:  # input channels two at a time (measured 1.3-1.4x faster than one); an odd last one alone
            for i in range(kh):
                for j in range(kw):
                    a = i * W + j
                    _scatter_pair(rows[c, a:a + L], rows[c + 1, a:a + L], gb, w, c, i, j, L)
            c += 2
        while c < C:
            for i in range(kh):
                for j in range(kw):
                    a = i * W + j
                    _scatter(rows[c, a:a + L], gb, w, c, i, j, L)
            c += 1


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, padding: int,
                   out: np.ndarray) -> None:
    """Stride-1 convolution of (N, C, H, W) with (O, C, kh, kw), plus bias: out (N, O, Ho, Wo)."""
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)
    _forward(zero_padded(x, padding), np.ascontiguousarray(weight), bias, out)


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, kernel_size: tuple[int, int], padding: int,
                       out: np.ndarray) -> None:
    """Gradient of :func:`conv2d_forward` with respect to the weight, given the output gradient ``g``."""
    out.fill(0)
    _weight_grad(zero_padded(x, padding), np.ascontiguousarray(g), out)


def conv2d_input_grad(g: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], padding: int,
                      out: np.ndarray) -> None:
    """Gradient of :func:`conv2d_forward` with respect to its (unpadded) input of shape ``x_shape``."""
    g, weight = np.ascontiguousarray(g), np.ascontiguousarray(weight)
    if not padding:
        _input_grad(g, weight, out)
        return
    N, C, H, W = x_shape
    p = padding
    gx = np.empty((N, C, H + 2 * p, W + 2 * p), dtype=g.dtype)
    _input_grad(g, weight, gx)
    np.copyto(out, gx[:, :, p:p + H, p:p + W])
