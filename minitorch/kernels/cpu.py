"""numba-compiled CPU kernels (``cache=True``: a second process pays no compile time).

No numba threads: the GEMMs around them already use the BLAS threads, and
numba's (OpenMP) threads on top would oversubscribe the cores.  Only a large
batch (evaluation at batch 1000, training at 256) has its loops split into parts on
Python threads (:func:`.loops.run_split`), one after another with the GEMMs.
"""
from __future__ import annotations

import numba
import numpy as np

# the direct stride-1 convolutions (cpu_simd's for float32, else cpu_conv's), batch norm and max pooling complete
# this module's kernels
from minitorch.kernels import cpu_skinny as skinny
from minitorch.kernels.cpu_conv import zero_padded
from minitorch.kernels.cpu_direct import conv2d_forward as conv2d_forward
from minitorch.kernels.cpu_direct import conv2d_input_grad as conv2d_input_grad
from minitorch.kernels.cpu_direct import conv2d_weight_grad as conv2d_weight_grad
from minitorch.kernels.cpu_norm import batch_norm_backward as batch_norm_backward
from minitorch.kernels.cpu_norm import batch_norm_forward as batch_norm_forward
from minitorch.kernels.cpu_norm import batch_norm_running_stats as batch_norm_running_stats
from minitorch.kernels.cpu_pool import max_pool_backward as max_pool_backward
from minitorch.kernels.cpu_pool import max_pool_forward as max_pool_forward
from minitorch.kernels.loops import (
    BLAS_SINGLE_THREAD_MNK,
    REASSOC,
    contiguous,
    in_parts,
    loop_dtype,
    loop_kernel,
    matmul_beside_split,
    splitting,
)
from minitorch.kernels.reference import conv2d_bias_grad as reference_conv2d_bias_grad
from minitorch.kernels.reference import conv_output_size, one_hot_range_message
from minitorch.kernels.reference import one_hot as reference_one_hot
from minitorch.kernels.reference import sgd_update as reference_sgd_update

# the direct convolutions (cpu_direct) beat im2col + GEMM while the weight is small; see kernels/__init__
DIRECT_CONV_MAX_WEIGHT = 4096
# chunks of images whose columns stay in cache (the GEMMs then run from cache)
IM2COL_CHUNK_BYTES = 2 << 20


@numba.njit(cache=True, nogil=True)
def _col2im(cols, kh, kw, stride, pad, Ho, Wo, out):
    N, C, H, W = out.shape
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for n in range(N):
                    for oh in range(Ho):
                        h = oh * stride - pad + i
                        if h < 0 or h >= H:
                            continue
                        base = (n * Ho + oh) * Wo
                        for ow in range(Wo):
                            w = ow * stride - pad + j
                            if 0 <= w < W:
                                out[n, c, h, w] += cols[row, base + ow]


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int, cols: np.ndarray) -> None:
    """im2col as one NumPy strided copy (a numba gather was measured slower on this layout).

    The window view is made with the ndarray constructor, which costs about a
    microsecond, where ``as_strided``/``sliding_window_view`` cost tens.
    """
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    padded = zero_padded(x, padding)
    sN, sC, sH, sW = padded.strides
    windows = np.ndarray(
        shape=(C, kh, kw, N, Ho, Wo), dtype=x.dtype, buffer=padded,
        strides=(sC, sH, sW, sN, sH * stride, sW * stride),
    )
    np.copyto(cols.reshape(C, kh, kw, N, Ho, Wo), windows)


def col2im(cols: np.ndarray, x_shape, kh: int, kw: int, stride: int, padding: int, out: np.ndarray) -> None:
    N, C, H, W = x_shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    out.fill(0)
    _col2im(np.ascontiguousarray(cols), kh, kw, stride, padding, Ho, Wo, out)


# A Linear layer at a batch of a few rows.  OpenBLAS streams a large weight at a fraction of memory speed
# there: BoringNet's 3072x120 layer at batch 4 took 0.19-0.22 ms forward and 0.11-0.16 ms for the weight
# gradient, and 0.6-1.2 ms for a one-row weight gradient.  These loops read (or write) the weight once, each
# value loaded serving several sums: 0.035 and 0.03-0.04 ms on that layer (AMD EPYC, AVX-512; a single pass
# of writes over the weight took 0.022).  Outside these bounds BLAS was as fast or faster (measured at 1 to 16
# rows, weights of 10x3072, 120x3072, 120x400 and 84x120).
SMALL_BATCH_MIN_WEIGHT = 100_000
SMALL_BATCH_FORWARD_ROWS = range(3, 9)
SMALL_BATCH_WEIGHT_GRAD_ROWS = 4
WEIGHT_GRAD_COLUMNS = 1024  # 4 rows of x: 16 KiB


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _linear_forward_rows(x, weight, out):
    """out = x @ weight.T, four weight rows by four input rows per pass over K (sixteen sums, each load used
    four times).  A last row (of either) short of four is computed again into the same place."""
    N, K = x.shape
    J = weight.shape[0]
    zero = out.dtype.type(0)  # sums in the data's dtype: a float64 literal would halve the vector width
    for j in range(0, J, 4):
        j1, j2, j3 = min(j + 1, J - 1), min(j + 2, J - 1), min(j + 3, J - 1)
        for n in range(0, N, 4):
            n1, n2, n3 = min(n + 1, N - 1), min(n + 2, N - 1), min(n + 3, N - 1)
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = zero
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = zero
            for k in range(K):
                w0, w1, w2, w3 = weight[j, k], weight[j1, k], weight[j2, k], weight[j3, k]
                x0, x1, x2, x3 = x[n, k], x[n1, k], x[n2, k], x[n3, k]
                a00 += x0 * w0
                a01 += x0 * w1
                a02 += x0 * w2
                a03 += x0 * w3
                a10 += x1 * w0
                a11 += x1 * w1
                a12 += x1 * w2
                a13 += x1 * w3
                a20 += x2 * w0
                a21 += x2 * w1
                a22 += x2 * w2
                a23 += x2 * w3
                a30 += x3 * w0
                a31 += x3 * w1
                a32 += x3 * w2
                a33 += x3 * w3
            out[n, j], out[n, j1], out[n, j2], out[n, j3] = a00, a01, a02, a03
            out[n1, j], out[n1, j1], out[n1, j2], out[n1, j3] = a10, a11, a12, a13
            out[n2, j], out[n2, j1], out[n2, j2], out[n2, j3] = a20, a21, a22, a23
            out[n3, j], out[n3, j1], out[n3, j2], out[n3, j3] = a30, a31, a32, a33


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _linear_weight_grad_rows(g, x, out):
    """out = g.T @ x for a few batch rows: two gradient rows at a time over blocks of WEIGHT_GRAD_COLUMNS
    columns (the block of x stays in L1), every value written once as the sum of its first four rows' products
    (any further rows added one by one).  A last odd row is computed again into the same place."""
    N, J = g.shape
    K = x.shape[1]
    r1, r2, r3 = min(1, N - 1), min(2, N - 1), min(3, N - 1)  # rows past N are never read (N > 1 etc. below)
    for kb in range(0, K, WEIGHT_GRAD_COLUMNS):
        ke = min(kb + WEIGHT_GRAD_COLUMNS, K)
        x0, x1, x2, x3 = x[0, kb:ke], x[r1, kb:ke], x[r2, kb:ke], x[r3, kb:ke]
        for j in range(0, J, 2):
            j1 = min(j + 1, J - 1)
            o, p = out[j, kb:ke], out[j1, kb:ke]
            a0, a1, a2, a3 = g[0, j], g[r1, j], g[r2, j], g[r3, j]
            b0, b1, b2, b3 = g[0, j1], g[r1, j1], g[r2, j1], g[r3, j1]
            if N >= 4:  # batch 4 in a loop of its own: 0.031 ms against 0.044 through the tests on N below
                for k in range(ke - kb):
                    y0, y1, y2, y3 = x0[k], x1[k], x2[k], x3[k]
                    o[k], p[k] = a0 * y0 + a1 * y1 + a2 * y2 + a3 * y3, b0 * y0 + b1 * y1 + b2 * y2 + b3 * y3
            else:
                for k in range(ke - kb):
                    y0, y1, y2 = x0[k], x1[k], x2[k]
                    s, t = a0 * y0, b0 * y0
                    if N > 1:
                        s, t = s + a1 * y1, t + b1 * y1
                    if N > 2:
                        s, t = s + a2 * y2, t + b2 * y2
                    o[k], p[k] = s, t
            for n in range(4, N):  # rows past four (where a caller allows them) are added one by one
                a, b, xn = g[n, j], g[n, j1], x[n, kb:ke]
                for k in range(ke - kb):  # both read before either is written: o and p may be one row
                    s, t = o[k] + a * xn[k], p[k] + b * xn[k]
                    o[k], p[k] = s, t


def linear_forward_by_rows(x: np.ndarray, weight: np.ndarray) -> bool:
    """Whether :func:`linear_forward` takes the small-batch loop (the replay asks the same)."""
    return (x.ndim == 2 and x.shape[0] in SMALL_BATCH_FORWARD_ROWS and weight.size >= SMALL_BATCH_MIN_WEIGHT
            and loop_dtype(x, weight))


def linear_weight_grad_by_rows(g: np.ndarray, x: np.ndarray) -> bool:
    """Whether :func:`linear_weight_grad` takes the small-batch loop (the replay asks the same)."""
    N = g.shape[0]
    return (1 <= N <= SMALL_BATCH_WEIGHT_GRAD_ROWS and g.shape[1] * x.shape[1] >= SMALL_BATCH_MIN_WEIGHT
            and loop_dtype(g, x))


def _gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> tuple:
    """The GEMM to bind for a @ b into out: NumPy's, or while loops run split over minitorch's threads and the
    product is one OpenBLAS would share among its threads, one that keeps BLAS to one thread as long as they do
    (loops.matmul_beside_split)."""
    if out.size * a.shape[-1] > BLAS_SINGLE_THREAD_MNK and splitting():
        return matmul_beside_split, (a, b, out)
    return np.matmul, (a, b, out)


# The same large weight at a few dozen rows (BoringNet's first layer at batch 16 or 32).  OpenBLAS shares the
# forward product among its threads better with the weight as the left operand: x @ W.T spelled (W @ x.T).T
# took 0.5-0.8x the time at 8 to 32 rows (0.26 -> 0.19-0.20 ms at 32; a captured BoringNet step 0.59 -> 0.54
# ms at batch 32, 0.50 -> 0.35 at 16), with the same bits (measured at 8 to 256 rows; from 64 rows on, and for
# small weights, the plain spelling is as fast or faster).  The weight gradient's g.T @ x gained nothing from
# a contiguous g.T in a step.  (In float32 both products take cpu_skinny's, below.)
MID_BATCH_ROWS = range(SMALL_BATCH_FORWARD_ROWS.stop, 33)


def linear_forward_by_weight(x: np.ndarray, weight: np.ndarray) -> bool:
    """Whether :func:`linear_forward` computes (weight @ x.T).T."""
    return (x.ndim == 2 and x.shape[0] in MID_BATCH_ROWS and weight.size >= SMALL_BATCH_MIN_WEIGHT
            and loop_dtype(x, weight))


def _weight_times_rows(x: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """out = x @ weight.T, computed as (weight @ x.T).T (on one BLAS thread beside a split, as :func:`_gemm`'s)."""
    product = np.empty((weight.shape[0], x.shape[0]), dtype=out.dtype)
    matmul_beside_split(weight, x.T, product)
    np.copyto(out, product.T)


# The same large weight at a few dozen rows in float32, forward and weight gradient: the SIMD products of
# :mod:`.cpu_skinny` on two threads (a captured BoringNet step at batch 32: see that module).
def linear_forward_skinny(x: np.ndarray, weight: np.ndarray) -> bool:
    """Whether :func:`linear_forward` takes :func:`.cpu_skinny.forward_into`."""
    return linear_forward_by_weight(x, weight) and skinny.fits(x, weight, x.shape[1])


def linear_weight_grad_skinny(g: np.ndarray, x: np.ndarray) -> bool:
    """Whether :func:`linear_weight_grad` takes :func:`.cpu_skinny.weight_grad_into`."""
    return (g.ndim == 2 and g.shape[0] in MID_BATCH_ROWS and g.shape[1] * x.shape[1] >= SMALL_BATCH_MIN_WEIGHT
            and skinny.fits(g, x, x.shape[1]))


@loop_kernel
def linear_forward(x: np.ndarray, weight: np.ndarray, out: np.ndarray) -> tuple:
    if linear_forward_by_rows(x, weight):
        return _linear_forward_rows, (x, weight, out)
    if linear_forward_skinny(x, weight):
        return skinny.forward_into, (x, weight, out)
    if linear_forward_by_weight(x, weight):
        return _weight_times_rows, (x, weight, out)
    return _gemm(x, weight.T, out)


@loop_kernel
def linear_weight_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray) -> tuple:
    if linear_weight_grad_by_rows(g, x):
        return _linear_weight_grad_rows, (g, x, out)
    if linear_weight_grad_skinny(g, x):
        return skinny.weight_grad_into, (g, x, out)
    return _gemm(g.T, x, out)


@loop_kernel
def linear_input_grad(g: np.ndarray, weight: np.ndarray, out: np.ndarray) -> tuple:
    return _gemm(g, weight, out)


@numba.njit(cache=True, nogil=True)
def _sgd_update(data, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, first):
    """PyTorch's SGD rule (see :class:`minitorch.optim.SGD`) in one pass over flat arrays, in their dtype, as
    the reference kernel's NumPy arithmetic and PyTorch compute it (numba would compute with the Python floats
    in float64, at half the vector width: 0.074 ms a step against 0.039 for BoringNet's 380k parameters)."""
    dtype = data.dtype.type
    rate, keep, take, decay = dtype(lr), dtype(momentum), dtype(1 - dampening), dtype(weight_decay)
    for i in range(data.shape[0]):
        g = grad[i]
        if weight_decay != 0:
            g += decay * data[i]
        if momentum != 0:
            if first:
                buf = g
            else:
                buf = keep * momentum_buffer[i] + take * g
            momentum_buffer[i] = buf
            g = g + keep * buf if nesterov else buf
        data[i] -= rate * g


@loop_kernel
def sgd_update(data, grad, momentum_buffer, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool, first: bool) -> tuple:
    """In place: ``data`` and ``momentum_buffer`` (ignored without momentum) take one SGD step."""
    args = (data, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, first)
    if not (loop_dtype(data, grad) and data.ndim == grad.ndim == 1):  # the loop wants flat contiguous arrays
        return reference_sgd_update, args
    return _sgd_update, (data, grad, momentum_buffer if momentum_buffer is not None else grad, *args[3:])


@numba.njit(cache=True, nogil=True)
def _cross_entropy_forward(logits, target, losses, probs):
    """Per row: losses[n] = logsumexp(logits[n]) - logits[n, target[n]]; probs = softmax.

    Returns the first row whose target is out of range, or -1.
    """
    N, C = logits.shape
    for n in range(N):
        t = target[n]
        if t < 0 or t >= C:
            return n
        top = logits[n, 0]
        for c in range(1, C):
            top = max(top, logits[n, c])
        total = 0.0
        for c in range(C):
            e = np.exp(logits[n, c] - top)
            probs[n, c] = e
            total += e
        for c in range(C):
            probs[n, c] /= total
        losses[n] = np.log(total) + top - logits[n, t]
    return -1


@numba.njit(cache=True, nogil=True)
def _cross_entropy_backward(probs, target, scale, grad):
    """grad = (probs - onehot(target)) * scale[n] (scale: one value per row)."""
    N, C = probs.shape
    for n in range(N):
        s = scale[n]
        for c in range(C):
            grad[n, c] = probs[n, c] * s
        grad[n, target[n]] -= s


def cross_entropy_forward(logits: np.ndarray, target: np.ndarray, losses: np.ndarray, probs: np.ndarray) -> None:
    """Per-row losses and softmax probabilities, or ValueError naming an out-of-range target."""
    bad = _cross_entropy_forward(np.ascontiguousarray(logits), np.ascontiguousarray(target), losses, probs)
    if bad >= 0:
        raise ValueError(f"cross_entropy: target {int(target[bad])} is out of range for {logits.shape[1]} classes")


def cross_entropy_backward(probs: np.ndarray, target: np.ndarray, scale: np.ndarray, grad: np.ndarray) -> None:
    _cross_entropy_backward(np.ascontiguousarray(probs), np.ascontiguousarray(target), np.ascontiguousarray(scale),
                            grad)


@numba.njit(cache=True, nogil=True)
def _relu_forward(a, out, mask, keep_mask):
    for i in range(a.shape[0]):
        v = a[i]
        positive = v > 0
        if keep_mask:
            mask[i] = positive
        out[i] = v if positive or v != v else 0  # a NaN stays NaN, as in PyTorch


@numba.njit(cache=True, nogil=True)
def _relu_backward(g, mask, out):
    for i in range(g.shape[0]):
        out[i] = g[i] if mask[i] else 0


_NO_MASK = np.empty(0, dtype=np.bool_)


@numba.njit(cache=True, nogil=True)
def _one_hot(target, out):
    """Each row of ``out`` (n, C) zero but a one at its class; the first out-of-range index's row, or -1."""
    n, C = out.shape
    for i in range(n):
        k = target[i]
        if k < 0 or k >= C:
            return i
        for c in range(C):
            out[i, c] = 0
        out[i, k] = 1
    return -1


_ONE_HOT_DTYPES = tuple(np.dtype(t) for t in (np.int64, np.int32, np.float32, np.float64))


def one_hot(target: np.ndarray, num_classes: int, dtype, out: np.ndarray) -> None:
    """One loop over the rows, the range checked as it goes (NumPy's eye-indexing makes a C x C identity too)."""
    if not (target.size and num_classes and target.dtype.kind in "iu" and out.dtype in _ONE_HOT_DTYPES):
        reference_one_hot(target, num_classes, dtype, out)
        return
    if _one_hot(np.ascontiguousarray(target).reshape(-1), out.reshape(-1, num_classes)) >= 0:
        raise ValueError(one_hot_range_message(target, num_classes))


@loop_kernel
def relu_forward(a: np.ndarray, keep_mask: bool, out: np.ndarray, mask: np.ndarray | None) -> tuple:
    """max(a, 0) and a > 0 (when kept) in one pass instead of NumPy's three (compare, cast, multiply)."""
    flat_mask = _NO_MASK if mask is None else mask.reshape(-1)  # an empty part of _NO_MASK is empty too
    return in_parts(_relu_forward, (contiguous(a).reshape(-1), out.reshape(-1), flat_mask, keep_mask), (0, 1, 2))


@numba.njit(cache=True, nogil=True, fastmath=REASSOC)
def _channel_sums(g, out):
    """out[c] = the sum of g[:, c, :] (N, C, L), in float64 in memory order, rounded once."""
    N, C, L = g.shape
    totals = np.zeros(C)
    for n in range(N):
        for c in range(C):
            row = g[n, c]
            total = 0.0
            for i in range(L):
                total += row[i]
            totals[c] += total
    for c in range(C):
        out[c] = totals[c]


@loop_kernel
def conv2d_bias_grad(g: np.ndarray, out: np.ndarray) -> tuple:
    """One pass in memory order, where NumPy's sum over axes (0, 2, 3) took 3-12x as long (strided)."""
    if not loop_dtype(g):
        return reference_conv2d_bias_grad, (g, out)
    N, C, H, W = g.shape
    return _channel_sums, (g.reshape(N, C, H * W), out)


@loop_kernel
def relu_backward(g: np.ndarray, mask: np.ndarray, out: np.ndarray) -> tuple:
    flat = (contiguous(g).reshape(-1), contiguous(mask).reshape(-1), out.reshape(-1))
    return in_parts(_relu_backward, flat, (0, 1, 2))
