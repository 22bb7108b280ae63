"""Pooling: max pooling (the gradient goes to the first maximum of each window) and average pooling."""
from __future__ import annotations

import functools

import numpy as np

from minitorch.autograd import Function
from minitorch.backend import as_array, get_array_module, new_array
from minitorch.kernels import max_pool_backward, max_pool_forward
from minitorch.ops._windows import Pair, output_size, pad, windows


class MaxPool2d(Function):
    """Window maxima of (N, C, H, W); also the flat index ``h * W + w`` of each maximum (PyTorch's indices).

    The common layer (square window, one stride, the same padding on every side,
    no dilation, no extra ceil_mode window) runs the compiled kernel; any
    other geometry takes a strided view of the padded input and an argmax
    per window.  Both give the same indices, so backward is one scatter.
    """

    __slots__ = ("kernel", "stride", "padding", "dilation", "ceil_mode", "keep_indices", "argmax", "x_shape")
    fresh_grads = True

    def __init__(self, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair = (1, 1),
                 ceil_mode: bool = False, keep_indices: bool = False) -> None:
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.ceil_mode, self.keep_indices = ceil_mode, keep_indices

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"max_pool2d: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel, self.stride, self.padding, self.dilation
        for p, k in ((ph, kh), (pw, kw)):
            if p > k // 2:
                raise ValueError(f"max_pool2d: padding {p} must be at most half the kernel size {k}")
        H, W = x.shape[2:]
        Ho = output_size(H, kh, sh, ph, ph, dh, self.ceil_mode)
        Wo = output_size(W, kw, sw, pw, pw, dw, self.ceil_mode)
        if Ho <= 0 or Wo <= 0:
            raise ValueError(f"max_pool2d: input of shape {x.shape} is smaller than the {kh}x{kw} window")
        square = kh == kw and sh == sw and ph == pw and dh == dw == 1
        if square and (Ho, Wo) == (output_size(H, kh, sh, ph, ph), output_size(W, kw, sw, pw, pw)):
            out, argmax = max_pool_forward(x, kh, sh, ph)
        else:
            out, argmax = _window_max(x, self.kernel, self.stride, self.padding, self.dilation, (Ho, Wo))
        if self.needs_grad[0] or self.keep_indices:
            self.argmax, self.x_shape = argmax, x.shape
        return out

    def backward(self, g):
        return (max_pool_backward(g, self.argmax, self.x_shape),)


def _window_max(x, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, out: Pair):
    """Max pooling of any geometry: (maxima, flat input index of each window's first maximum).

    A NaN in a window wins, as in PyTorch; padding never does, even against -inf.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = kernel, stride, padding, dilation, out
    # ceil_mode's last window may reach past the padding: pad that far (with values that never win)
    extra_h = max(0, (Ho - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
    extra_w = max(0, (Wo - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
    padding4 = (ph, ph + extra_h, pw, pw + extra_w)

    def rows(a):  # (N', C', Ho, Wo, kh * kw): each output's window in row-major order
        view = windows(xp, a, kernel, stride, dilation, out)
        return view.transpose(0, 1, 4, 5, 2, 3).reshape(a.shape[0], a.shape[1], Ho, Wo, kh * kw)

    values = rows(pad(xp, x, padding4, -xp.inf))
    valid = rows(pad(xp, new_array(xp, (1, 1, H, W), bool, True), padding4, False))
    best = values.max(axis=-1, keepdims=True)  # NaN if the window holds one
    hit = ((values == best) | (xp.isnan(values) & xp.isnan(best))) & valid
    pos = hit.argmax(axis=-1)  # the first maximum
    maxima = xp.take_along_axis(values, pos[..., None], axis=-1)[..., 0]
    h = as_array(xp, xp.arange(Ho)).reshape(Ho, 1) * sh - ph + (pos // kw) * dh
    w = as_array(xp, xp.arange(Wo)).reshape(1, Wo) * sw - pw + (pos % kw) * dw
    return xp.ascontiguousarray(maxima), (h * W + w).astype(xp.int64)


class SeparablePool2d(Function):
    """Average pooling as two matrix products: ``out = A @ x @ B.T`` over the last two axes.

    An average over a rectangular window is an average over its rows of an
    average over its columns, and PyTorch's divisors (with or without the
    padding counted) are products of a row count and a column count too.  So
    every AvgPool2d and AdaptiveAvgPool2d geometry is a pair of fixed
    matrices, A (Ho, H) and B (Wo, W), and the backward is ``A.T @ g @ B``.
    """

    __slots__ = ("rows", "cols", "op")

    def __init__(self, rows: np.ndarray, cols: np.ndarray, op: str = "avg_pool2d") -> None:
        self.rows, self.cols, self.op = rows, cols, op

    def forward(self, x):
        if x.ndim != 4 or x.shape[2:] != (self.rows.shape[1], self.cols.shape[1]):
            raise ValueError(f"{self.op}: expected an input of shape (N, C, {self.rows.shape[1]}, "
                             f"{self.cols.shape[1]}), got {x.shape}")
        if x.dtype.kind != "f":
            raise TypeError(f"{self.op}: input has dtype {x.dtype}; expected a floating-point tensor")
        xp = get_array_module(x)
        self.rows = as_array(xp, self.rows, x.dtype)
        self.cols = as_array(xp, self.cols, x.dtype)
        return self.rows @ x @ self.cols.T

    def backward(self, g):
        return (self.rows.T @ g @ self.cols,)


@functools.lru_cache(maxsize=256)
def avg_pool_matrix(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool,
                    count_include_pad: bool, divisor: int | None = None) -> np.ndarray:
    """(out, size): row o averages window o along one axis, with PyTorch's divisor.

    The divisor counts the window's positions inside the padded input (all of
    them unless ceil_mode's last window overhangs), or only those inside the
    input when ``count_include_pad`` is False.  ``divisor`` (PyTorch's
    divisor_override, split into a per-axis factor by the caller) replaces it.
    """
    out = output_size(size, kernel, stride, padding, padding, 1, ceil_mode)
    m = np.zeros((out, size))
    for o in range(out):
        start = o * stride - padding
        end = min(start + kernel, size + padding)
        lo, hi = max(start, 0), min(end, size)
        count = divisor if divisor is not None else (end - start if count_include_pad else hi - lo)
        if hi > lo:
            m[o, lo:hi] = 1.0 / count
    m.setflags(write=False)
    return m


@functools.lru_cache(maxsize=256)
def adaptive_pool_matrix(size: int, out: int) -> np.ndarray:
    """(out, size): window o spans [floor(o * size / out), ceil((o + 1) * size / out)), PyTorch's split."""
    m = np.zeros((out, size))
    for o in range(out):
        start, end = (o * size) // out, -(-((o + 1) * size) // out)
        m[o, start:end] = 1.0 / (end - start)
    m.setflags(write=False)
    return m
