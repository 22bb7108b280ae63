"""numba-compiled CPU kernels of batch norm (re-exported by :mod:`.cpu`, the CPU backend).

Statistics are float64 sums, in one pass over the data; the normalisation and
the input gradient run in the data's dtype (a float32 vector holds twice the
values of a float64 one).  BatchNorm1d's (N, C, 1) inputs run along the
channels instead, which vectorises where a loop per channel over a few values
does not.
"""
from __future__ import annotations

import numba
import numpy as np

from minitorch.kernels.loops import REASSOC, loop_dtype, loop_kernel, run_split
from minitorch.kernels.reference import batch_norm_running_stats as reference_batch_norm_running_stats


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _mean_var(s, t1, t2, count):
    """(mean, biased variance) from the sums t1, t2 of d = x - s and d * d over ``count`` values."""
    m1 = t1 / count
    var = t2 / count - m1 * m1
    if var < 0.0:  # rounding below zero (a NaN stays NaN)
        var = 0.0
    return s + m1, var


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _normaliser(x, mean, var, eps, w, b):
    """A channel's (scale = w / std in float64, m, a, r, w, b in x's dtype): xhat = (x - m) * a + r, where m is
    the mean rounded to x's dtype, a = 1 / std and r = (m - mean) * a puts back what the rounding took; out =
    xhat * w + b (float32 vectors hold twice the values of float64 ones; the statistics stay float64)."""
    T = x.dtype.type
    invstd = 1.0 / np.sqrt(var + eps)
    m = T(mean)
    return invstd * w, m, T(invstd), T((np.float64(m) - mean) * invstd), T(w), T(b)


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _grad_coefficients(g, scale, sum_g, sum_gx, count):
    """grad_x = g * a + (xhat * e + b) in training, in g's dtype: (a, b, e) = scale * (1, -sum_g / count,
    -sum(g * xhat) / count)."""
    T = g.dtype.type
    k = np.float64(scale)
    return T(k), T(-k * sum_g / count), T(-k * sum_gx / count)


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _channel_stats(x, c):
    """(mean, biased variance) of channel c of x (N, C, L) in one pass: float64 sums of d = x - s and d * d,
    shifted by the channel's first value s, so that a mean far from zero does not cancel the variance away
    (one read of x where a pass for the mean and another for the variance took two)."""
    N, _, L = x.shape
    s = np.float64(x[0, c, 0])
    t1 = 0.0
    t2 = 0.0
    for n in range(N):
        row = x[n, c]
        for i in range(L):
            d = row[i] - s
            t1 += d
            t2 += d * d
    return _mean_var(s, t1, t2, N * L)


@numba.njit(cache=True, nogil=True, fastmath={"contract"})  # reassociation only in the sums (_channel_stats)
def _batch_norm_forward(x, weight, bias, training, eps, out, xhat, scale, means, variances, keep_xhat, k, shift):
    """Training: writes each channel's batch mean and biased variance into means, variances; else reads them.

    With ``keep_xhat`` it writes out and xhat, in x's dtype (:func:`_normaliser`).  Without, only each
    channel's coefficients k = weight / std and shift = bias - mean * k (float64), for
    :func:`_normalise_rows` to make out = x * k + shift in a pass of its own.
    """
    N, C, L = x.shape
    for c in range(C):
        if training:
            mean, var = _channel_stats(x, c)
            means[c] = mean
            variances[c] = var
        else:
            mean = np.float64(means[c])
            var = np.float64(variances[c])
        w_std, m, a, r, wc, bc = _normaliser(x, mean, var, eps, weight[c], bias[c])
        scale[c] = w_std
        if keep_xhat:
            for n in range(N):
                row, hrow, orow = x[n, c], xhat[n, c], out[n, c]
                for i in range(L):
                    h = (row[i] - m) * a + r
                    hrow[i] = h
                    orow[i] = h * wc + bc
        else:  # no backward will need xhat (evaluation under no_grad): one multiply-add per value
            k[c] = w_std
            shift[c] = bias[c] - mean * k[c]


@numba.njit(cache=True, nogil=True, fastmath={"contract"})  # the sums vectorise across channels, in order
def _batch_norm_forward_columns(x, weight, bias, training, eps, out, xhat, scale, means, variances):
    """:func:`_batch_norm_forward` with xhat kept, for one value per channel and image (BatchNorm1d's (N, C),
    L = 1): the same sums and formulas, each pass running along the channels, which vectorises (channel by
    channel, each loop ran over a handful of values with a square root apiece)."""
    N, C = x.shape
    if training:
        t1, t2 = np.zeros(C), np.zeros(C)
        for n in range(N):
            for c in range(C):
                d = x[n, c] - np.float64(x[0, c])
                t1[c] += d
                t2[c] += d * d
    coefficients = np.empty((5, C), dtype=x.dtype)
    m, a, r, wc, bc = coefficients[0], coefficients[1], coefficients[2], coefficients[3], coefficients[4]
    for c in range(C):
        if training:
            mean, var = _mean_var(np.float64(x[0, c]), t1[c], t2[c], N)
            means[c], variances[c] = mean, var
        else:
            mean, var = np.float64(means[c]), np.float64(variances[c])
        scale[c], m[c], a[c], r[c], wc[c], bc[c] = _normaliser(x, mean, var, eps, weight[c], bias[c])
    for n in range(N):
        for c in range(C):
            h = (x[n, c] - m[c]) * a[c] + r[c]
            xhat[n, c] = h
            out[n, c] = h * wc[c] + bc[c]


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _normalise_rows(x, k, shift, out):
    """out[n, c, :] = x[n, c, :] * k[c] + shift[c] in float64 (k's dtype), rounded once to out's dtype.

    Row by row in memory order (one pass over x and out); BatchNorm1d's rows
    of one value go along the channels instead, so that the loop vectorises.
    """
    N, C, L = x.shape
    if L == 1:
        x2, out2 = x.reshape(N, C), out.reshape(N, C)
        for n in range(N):
            for c in range(C):
                out2[n, c] = x2[n, c] * k[c] + shift[c]
        return
    for n in range(N):
        for c in range(C):
            kc, sc = k[c], shift[c]
            row, out_row = x[n, c], out[n, c]
            for i in range(L):
                out_row[i] = row[i] * kc + sc


def _batch_norm_without_xhat(x, weight, bias, training, eps, out, scale, means, variances) -> None:
    """The coefficients (and in training the batch statistics) in one compiled pass over the channels, then
    out = x * k + shift, split over threads along the batch when it is large (see :func:`.loops.run_split`)."""
    C = x.shape[1]
    k, shift = np.empty(C), np.empty(C)
    _batch_norm_forward(x, weight, bias, training, eps, out, out, scale, means, variances, False, k, shift)
    run_split(_normalise_rows, (x, k, shift, out), batched=(0, 3))


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _batch_norm_backward(g, xhat, scale, training, gx, gweight, gbias):
    """The two channel sums in float64, then grad_x = g * a + (xhat * e + b) in g's dtype (two multiply-adds a
    value, with a = scale, b = -scale * sum_g / count, e = -scale * sum(g * xhat) / count)."""
    N, C, L = g.shape
    count = N * L
    for c in range(C):
        sum_g = 0.0
        sum_gx = 0.0
        for n in range(N):
            g_row, h_row = g[n, c], xhat[n, c]
            for i in range(L):
                v = g_row[i]
                sum_g += v
                sum_gx += v * h_row[i]
        gbias[c] = sum_g
        gweight[c] = sum_gx
        a, b, e = _grad_coefficients(g, scale[c], sum_g, sum_gx, count)
        if training:
            for n in range(N):
                g_row, h_row, out_row = g[n, c], xhat[n, c], gx[n, c]
                for i in range(L):
                    out_row[i] = g_row[i] * a + (h_row[i] * e + b)
        else:
            for n in range(N):
                g_row, out_row = g[n, c], gx[n, c]
                for i in range(L):
                    out_row[i] = g_row[i] * a


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _batch_norm_backward_columns(g, xhat, scale, training, gx, gweight, gbias):
    """:func:`_batch_norm_backward` for BatchNorm1d's (N, C), each pass running along the channels."""
    N, C = g.shape
    sum_g, sum_gx = np.zeros(C), np.zeros(C)
    for n in range(N):
        for c in range(C):
            v = g[n, c]
            sum_g[c] += v
            sum_gx[c] += v * xhat[n, c]
    coefficients = np.empty((3, C), dtype=g.dtype)
    a, b, e = coefficients[0], coefficients[1], coefficients[2]
    for c in range(C):
        gbias[c], gweight[c] = sum_g[c], sum_gx[c]
        a[c], b[c], e[c] = _grad_coefficients(g, scale[c], sum_g[c], sum_gx[c], N)
    for n in range(N):
        for c in range(C):
            # evaluation: g * a alone, as the general loop (xhat * 0 would turn an inf xhat into NaN)
            gx[n, c] = g[n, c] * a[c] + (xhat[n, c] * e[c] + b[c]) if training else g[n, c] * a[c]


@loop_kernel
def batch_norm_forward(x, weight, bias, mean, var, eps: float, keep_xhat: bool, out, xhat, scale, batch_mean,
                       batch_var) -> tuple:
    training = mean is None
    if training:  # the kernel writes the batch's statistics here
        mean, var = batch_mean, batch_var
    x = np.ascontiguousarray(x)
    if not keep_xhat:
        return _batch_norm_without_xhat, (x, weight, bias, training, eps, out, scale, mean, var)
    N, C, L = x.shape
    if L == 1:  # BatchNorm1d: along the channels
        return _batch_norm_forward_columns, (x.reshape(N, C), weight, bias, training, eps, out.reshape(N, C),
                                             xhat.reshape(N, C), scale, mean, var)
    # numba wants an array in every slot: scale stands in for the coefficients (unused with xhat kept)
    return _batch_norm_forward, (x, weight, bias, training, eps, out, xhat, scale, mean, var, keep_xhat,
                                 scale, scale)


@loop_kernel
def batch_norm_backward(g, xhat, scale, training: bool, gx, gweight, gbias) -> tuple:
    g = np.ascontiguousarray(g)
    N, C, L = g.shape
    if L == 1:
        return _batch_norm_backward_columns, (g.reshape(N, C), xhat.reshape(N, C), scale, training,
                                              gx.reshape(N, C), gweight, gbias)
    return _batch_norm_backward, (g, xhat, scale, training, gx, gweight, gbias)


@numba.njit(cache=True, nogil=True)
def _batch_norm_running_stats(running_mean, running_var, mean, var, keep, take, take_var):
    """The reference's six array operations in one loop, in the arrays' dtype and without fused multiply-adds,
    so the results are bit-identical to it."""
    for c in range(running_mean.shape[0]):
        running_mean[c] = keep * running_mean[c] + take * mean[c]
        running_var[c] = keep * running_var[c] + take_var * var[c]


@loop_kernel
def batch_norm_running_stats(running_mean, running_var, mean, var, momentum: float, count: int) -> tuple:
    arrays = (running_mean, running_var, mean, var)
    # the loop takes one float dtype, 1-d and contiguous (a chained comparison: no generator per call)
    if not (loop_dtype(*arrays) and running_mean.ndim == running_var.ndim == mean.ndim == var.ndim == 1):
        return reference_batch_norm_running_stats, (*arrays, momentum, count)
    scalar = running_mean.dtype.type
    return _batch_norm_running_stats, (*arrays, scalar(1 - momentum), scalar(momentum),
                                       scalar(momentum * count / (count - 1)))
