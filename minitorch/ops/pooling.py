"""Pooling: max pooling (the gradient goes to the first maximum of each window) and average pooling."""
from __future__ import annotations

import functools

import numpy as np

from minitorch.autograd import Function
from minitorch.backend import as_array, get_array_module, new_array
from minitorch.kernels import max_pool_backward, max_pool_forward
from minitorch.ops._windows import Pair, add_windows, output_size, pad, windows


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
            raise ValueError(f"max_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
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
            out, argmax = max_pool_forward(x, kh, sh, ph, self.needs_grad[0] or self.keep_indices)
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


class AvgPool2d(Function):
    """Window averages of (N, C, H, W): each window's sum divided by PyTorch's divisor for it.

    The sums run over a strided view of the zero-padded input (see
    :func:`~minitorch.ops._windows.windows`), so a value reaches only the windows
    that hold it: an inf or NaN stays where it is, as in PyTorch (a product with
    a 0/1 matrix would give 0 * inf = NaN in every other window).  The backward
    adds each window's ``g / divisor`` back over the window.  ``divisor`` is an
    (Ho, Wo) array (see :func:`avg_pool_divisor`), and ``out`` the number of
    windows along each axis, which ceil_mode may make one more than fit.
    """

    __slots__ = ("kernel", "stride", "padding", "out", "divisor", "padded_shape", "x_shape")

    def __init__(self, kernel: Pair, stride: Pair, padding: Pair, out: Pair, divisor: np.ndarray) -> None:
        self.kernel, self.stride, self.padding, self.out, self.divisor = kernel, stride, padding, out, divisor

    def _padding(self, H: int, W: int) -> tuple[int, int, int, int]:
        """Zeros around the input, reaching as far as ceil_mode's last window does."""
        (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = self.kernel, self.stride, self.padding, self.out
        extra_h = max(0, (Ho - 1) * sh + kh - (H + 2 * ph))
        extra_w = max(0, (Wo - 1) * sw + kw - (W + 2 * pw))
        return ph, ph + extra_h, pw, pw + extra_w

    def forward(self, x):
        _check_pool_input(x, "avg_pool2d")
        xp = get_array_module(x)
        padded = pad(xp, x, self._padding(*x.shape[2:]))
        self.x_shape, self.padded_shape = x.shape, padded.shape
        sums = windows(xp, padded, self.kernel, self.stride, (1, 1), self.out).sum(axis=(2, 3))
        self.divisor = as_array(xp, self.divisor, x.dtype)
        return sums / self.divisor

    def backward(self, g):
        xp = get_array_module(g)
        (kh, kw), (Ho, Wo) = self.kernel, self.out
        share = (g / self.divisor)[:, :, None, None]
        spread = add_windows(xp.broadcast_to(share, g.shape[:2] + (kh, kw, Ho, Wo)), self.padded_shape, self.stride,
                             (1, 1))
        top, _, left, _ = self._padding(*self.x_shape[2:])
        H, W = self.x_shape[2:]
        return (xp.ascontiguousarray(spread[:, :, top:top + H, left:left + W]),)


class AdaptiveAvgPool2d(Function):
    """Averages over PyTorch's adaptive windows: ``rows[o]`` and ``cols[o]`` are (start, end) along H and W.

    Windows may differ in size by one and overlap, so the sums run one window row
    (then column) at a time: oh + ow slices, each a sum, never a product (an inf
    stays in its windows, as in :class:`AvgPool2d`).
    """

    __slots__ = ("rows", "cols", "divisor", "x_shape")

    def __init__(self, rows: tuple[tuple[int, int], ...], cols: tuple[tuple[int, int], ...]) -> None:
        self.rows, self.cols = rows, cols

    def forward(self, x):
        _check_pool_input(x, "adaptive_avg_pool2d")
        xp = get_array_module(x)
        if x.shape[2:] != (self.rows[-1][1], self.cols[-1][1]):
            raise ValueError(f"adaptive_avg_pool2d: expected an input of height {self.rows[-1][1]} and width "
                             f"{self.cols[-1][1]}, got shape {x.shape}")
        by_rows = xp.stack([x[:, :, s:e].sum(axis=2) for s, e in self.rows], axis=2)
        sums = xp.stack([by_rows[..., s:e].sum(axis=3) for s, e in self.cols], axis=3)
        heights = np.array([e - s for s, e in self.rows], dtype=x.dtype)
        widths = np.array([e - s for s, e in self.cols], dtype=x.dtype)
        self.divisor, self.x_shape = as_array(xp, heights[:, None] * widths[None, :]), x.shape
        return sums / self.divisor

    def backward(self, g):
        xp = get_array_module(g)
        share = g / self.divisor
        N, C, H, W = self.x_shape
        by_rows = new_array(xp, (N, C, len(self.rows), W), g.dtype, 0)
        for o, (s, e) in enumerate(self.cols):
            by_rows[..., s:e] += share[..., o:o + 1]
        out = new_array(xp, self.x_shape, g.dtype, 0)
        for o, (s, e) in enumerate(self.rows):
            out[:, :, s:e] += by_rows[:, :, o:o + 1]
        return (out,)


def _check_pool_input(x, op: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; expected a floating-point tensor")


@functools.lru_cache(maxsize=256)
def avg_pool_counts(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool,
                    count_include_pad: bool) -> np.ndarray:
    """Per window along one axis, the count PyTorch divides by (the divisor is a product of two of these).

    It counts the window's positions inside the padded input (all of them unless
    ceil_mode's last window overhangs), or only those inside the input when
    ``count_include_pad`` is False.
    """
    out = output_size(size, kernel, stride, padding, padding, 1, ceil_mode)
    counts = np.zeros(out)
    for o in range(out):
        start = o * stride - padding
        end = min(start + kernel, size + padding)
        counts[o] = end - start if count_include_pad else min(end, size) - max(start, 0)
    counts.setflags(write=False)
    return counts


@functools.lru_cache(maxsize=256)
def adaptive_windows(size: int, out: int) -> tuple[tuple[int, int], ...]:
    """Window o spans [floor(o * size / out), ceil((o + 1) * size / out)), PyTorch's split."""
    return tuple(((o * size) // out, -(-((o + 1) * size) // out)) for o in range(out))
