"""Reductions: sum, mean and max over axes."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module


def normalize_axis(axis, ndim: int, op: str) -> tuple[int, ...]:
    """Turn ``axis`` (None, int or tuple) into a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{op}: axis {ax} is out of range for a tensor of {ndim} dimensions")
        out.append(ax % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand(g, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


class Sum(Function):
    __slots__ = ("in_shape", "axes", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.in_shape = a.shape
        self.axes = normalize_axis(self.axes, a.ndim, "sum")
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        return (xp.broadcast_to(_expand(g, self.in_shape, self.axes, self.keepdims), self.in_shape),)


class Mean(Function):
    __slots__ = ("in_shape", "axes", "keepdims", "count")

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.in_shape = a.shape
        self.axes = normalize_axis(self.axes, a.ndim, "mean")
        count = 1
        for ax in self.axes:
            count *= a.shape[ax]
        self.count = count
        return a.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        g = _expand(g, self.in_shape, self.axes, self.keepdims) / self.count
        return (xp.broadcast_to(g, self.in_shape),)


class Max(Function):
    """Maximum over axes; ties share the gradient equally (like ``torch.amax``)."""

    __slots__ = ("a", "out", "axes", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.axes = normalize_axis(self.axes, a.ndim, "max")
        self.a = a
        self.out = a.max(axis=self.axes, keepdims=True)
        return self.out if self.keepdims else self.out.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes]
        )

    def backward(self, g):
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand(g, self.a.shape, self.axes, self.keepdims)
        return (mask * (g / count),)
