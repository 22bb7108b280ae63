"""Ops that move elements around without arithmetic: reshape, transpose, indexing."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module


class Reshape(Function):
    __slots__ = ("in_shape", "shape")

    def __init__(self, shape) -> None:
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError as exc:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} into {self.shape}") from exc

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Transpose(Function):
    __slots__ = ("axes",)

    def __init__(self, axes) -> None:
        self.axes = axes

    def forward(self, a):
        if self.axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        if sorted(ax % max(a.ndim, 1) for ax in self.axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {self.axes} are not a permutation for shape {a.shape}")
        return a.transpose(self.axes)

    def backward(self, g):
        axes = [ax % g.ndim for ax in self.axes]
        inverse = sorted(range(g.ndim), key=axes.__getitem__)
        return (g.transpose(inverse),)


class GetItem(Function):
    """``a[index]``; the gradient scatters back, adding where an index repeats."""

    __slots__ = ("in_shape", "index", "dtype")

    def __init__(self, index) -> None:
        self.index = index

    def forward(self, a):
        self.in_shape, self.dtype = a.shape, a.dtype
        return a[self.index]

    def backward(self, g):
        xp = get_array_module(g)
        out = xp.zeros(self.in_shape, dtype=self.dtype)
        xp.add.at(out, self.index, g)  # unbuffered: repeated indices add up
        return (out,)
