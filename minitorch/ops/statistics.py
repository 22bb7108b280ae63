"""Reductions beyond sum and mean: variance, log-sum-exp, product, cumulative sum, and the median.

Axes come normalised by :func:`minitorch.ops.reduction.normalize_axis`
(negative dims, tuples, out-of-range errors).  Integer inputs are the
caller's concern: the Tensor methods cast them as PyTorch does before an op
here runs.
"""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function
from minitorch.backend import get_array_module, new_array
from minitorch.ops.reduction import Max, _expand, normalize_axis


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


class Var(Function):
    """sum((a - mean)**2) / (N - correction) over axes; N - correction <= 0 gives inf or NaN, as in PyTorch."""

    __slots__ = ("axes", "keepdims", "correction", "centered", "divisor")
    fresh_grads = True

    def __init__(self, axis, correction: float, keepdims: bool) -> None:
        self.axes, self.correction, self.keepdims = axis, correction, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        self.axes = normalize_axis(self.axes, a.ndim, "var")
        self.divisor = max(_count(a.shape, self.axes) - self.correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf, 0 / 0: NaN, as in PyTorch
            centered = a - a.mean(axis=self.axes, keepdims=True)
            out = (centered * centered).sum(axis=self.axes, keepdims=self.keepdims) / a.dtype.type(self.divisor)
        self.centered = centered
        return xp.asarray(out, dtype=a.dtype)

    def backward(self, g):
        g = _expand(g, self.centered.shape, self.axes, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.centered * (g * g.dtype.type(2.0 / self.divisor if self.divisor else np.inf)),)


class Std(Var):
    """The square root of :class:`Var`.  Where it is 0 (constant data) the gradient is 0, as in PyTorch
    (the chain rule would give 0 * inf)."""

    __slots__ = ("out",)

    def forward(self, a):
        with np.errstate(invalid="ignore"):
            self.out, = self.save_for_backward(get_array_module(a).sqrt(super().forward(a)))
        return self.out

    def backward(self, g):
        xp = get_array_module(g)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = xp.where(self.out == 0, new_array(xp, (), g.dtype, 0), g / (2 * self.out))
        return super().backward(g)


class LogSumExp(Function):
    """log(sum(exp(a))) over axes, computed as m + log(sum(exp(a - m))) with m the maximum (no overflow)."""

    __slots__ = ("axes", "keepdims", "a", "out")
    fresh_grads = True

    def __init__(self, axis, keepdims: bool) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        self.axes = normalize_axis(self.axes, a.ndim, "logsumexp")
        if a.size == 0:
            out = new_array(xp, [1 if i in self.axes else n for i, n in enumerate(a.shape)], a.dtype, -np.inf)
        else:
            m = a.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, new_array(xp, (), a.dtype, 0))  # all -inf (or an inf) stays exact
            with np.errstate(divide="ignore"):
                out = m + xp.log(xp.exp(a - m).sum(axis=self.axes, keepdims=True))
        self.a, self.out = self.save_for_backward(a, out)
        return out if self.keepdims else out.reshape([n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        xp = get_array_module(g)
        g = _expand(g, self.a.shape, self.axes, self.keepdims)
        with np.errstate(invalid="ignore"):
            return (g * xp.exp(self.a - self.out),)


class Prod(Function):
    """The product over axes.  Its gradient is, for each element, the product of all the others,
    computed from prefix and suffix products so that zeros in the input are handled exactly
    (dividing the result by the element would give 0/0)."""

    __slots__ = ("axes", "keepdims", "a")
    fresh_grads = True

    def __init__(self, axis, keepdims: bool) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = normalize_axis(self.axes, a.ndim, "prod")
        self.a, = self.save_for_backward(a)
        return get_array_module(a).asarray(a.prod(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        xp = get_array_module(g)
        a, axes = self.a, self.axes
        rest = [i for i in range(a.ndim) if i not in axes]
        moved = a.transpose(rest + list(axes))  # the reduced axes last, flattened into one
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = new_array(xp, flat.shape[:-1] + (1,), a.dtype, 1)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (before * after).reshape(moved.shape)
        others = others.transpose(np.argsort(rest + list(axes)))
        return (others * _expand(g, a.shape, axes, self.keepdims),)


class CumSum(Function):
    """Running sums along one axis; the gradient is the running sum of ``g`` from the other end."""

    __slots__ = ("axis", "dtype")
    fresh_grads = True

    def __init__(self, axis: int, dtype=None) -> None:
        self.axis, self.dtype = axis, dtype

    def forward(self, a):
        xp = get_array_module(a)
        if a.ndim == 0:
            return a.astype(self.dtype or a.dtype)
        (self.axis,) = normalize_axis(self.axis, a.ndim, "cumsum")
        with np.errstate(invalid="ignore"):  # inf + -inf is NaN, as in PyTorch
            return xp.cumsum(a, axis=self.axis, dtype=self.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        if g.ndim == 0:
            return (g.copy(),)
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)


class Median(Max):
    """The lower median of all elements (``torch.median(x)``); tied medians share the gradient,
    as PyTorch's does for this form."""

    __slots__ = ()
    name_ = "median"

    def reduce(self, a, axes):
        xp = get_array_module(a)
        flat = a.reshape(-1)
        if bool(xp.isnan(flat).any()):
            return new_array(xp, (1,) * a.ndim, a.dtype, np.nan)
        k = (flat.size - 1) // 2
        return xp.partition(flat, k)[k].reshape((1,) * a.ndim)


__all__ = ["CumSum", "LogSumExp", "Median", "Prod", "Std", "Var"]
