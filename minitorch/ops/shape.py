"""Ops that move elements around without arithmetic: reshape, transpose, indexing, joining."""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import get_array_module, new_array


class Reshape(Function):
    __slots__ = ("in_shape", "shape")
    is_view = True

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
    is_view = True

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
    is_view = True  # basic indexing gives a view (advanced indexing a copy)

    def __init__(self, index) -> None:
        self.index = index

    def forward(self, a):
        self.in_shape, self.dtype = a.shape, a.dtype
        out = a[self.index]
        if isinstance(out, np.generic):  # NumPy gives a scalar for x[i, j]; x[i, j, ...] is a 0-d view
            out = a[(self.index if isinstance(self.index, tuple) else (self.index,)) + (Ellipsis,)]
        return out

    def backward(self, g):
        xp = get_array_module(g)
        out = new_array(xp, self.in_shape, self.dtype, 0)
        xp.add.at(out, self.index, g)  # unbuffered: repeated indices add up
        return (out,)


class SetItem(Function):
    """``a`` with ``a[index] = value``: what an in-place ``x[index] = value`` records.

    The gradient of ``a`` is ``g`` with the overwritten places zeroed; that of
    ``value`` is ``g[index]``, summed down to the value's shape.
    """

    __slots__ = ("index", "value_shape", "value_dtype")

    def __init__(self, index) -> None:
        self.index = index

    def forward(self, a, value):
        self.value_shape, self.value_dtype = value.shape, value.dtype
        out = a.copy()
        out[self.index] = value
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_grad[0]:
            ga = g.copy()
            ga[self.index] = 0
        if self.needs_grad[1]:
            gv = unbroadcast(g[self.index], self.value_shape).astype(self.value_dtype, copy=False)
        return ga, gv


class Cat(Function):
    """Join tensors along an existing axis; the gradient is cut back into their pieces."""

    __slots__ = ("axis", "sizes", "dtypes")

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *arrays):
        first = arrays[0]
        if first.ndim == 0:
            raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
        axis = _check_axis(self.axis, first.ndim, "cat", "dim")
        for i, a in enumerate(arrays):
            others, first_others = a.shape[:axis] + a.shape[axis + 1:], first.shape[:axis] + first.shape[axis + 1:]
            if a.ndim != first.ndim or others != first_others:
                raise ValueError(
                    f"cat: tensor {i} has shape {a.shape}, which does not match tensor 0's shape {first.shape} "
                    f"outside dim {self.axis}"
                )
        self.axis, self.sizes, self.dtypes = axis, [a.shape[axis] for a in arrays], [a.dtype for a in arrays]
        return get_array_module(first).concatenate(arrays, axis=axis)

    def backward(self, g):
        xp = get_array_module(g)
        cuts = np.cumsum(self.sizes)[:-1].tolist()
        pieces = xp.split(g, cuts, axis=self.axis)
        return tuple(
            piece.astype(dtype, copy=False) if needed else None
            for piece, dtype, needed in zip(pieces, self.dtypes, self.needs_grad, strict=False)
        )


class Stack(Function):
    """Join same-shape tensors along a new axis."""

    __slots__ = ("axis", "dtypes")

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *arrays):
        first = arrays[0]
        self.axis = _check_axis(self.axis, first.ndim + 1, "stack", "dim")
        for i, a in enumerate(arrays):
            if a.shape != first.shape:
                raise ValueError(f"stack: tensor {i} has shape {a.shape} but tensor 0 has shape {first.shape}")
        self.dtypes = [a.dtype for a in arrays]
        return get_array_module(first).stack(arrays, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        parts = xp.moveaxis(g, self.axis, 0)
        return tuple(
            parts[i].astype(dtype, copy=False) if needed else None
            for i, (dtype, needed) in enumerate(zip(self.dtypes, self.needs_grad, strict=False))
        )


def _check_axis(axis, ndim: int, op: str, name: str) -> int:
    """``axis`` as a non-negative int below ``ndim``, or an error naming the argument."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: {name} {axis} is out of range for {ndim} dimensions")
    return int(axis) % ndim
