"""Ops that move elements around without arithmetic: reshape, transpose, indexing, joining."""
from __future__ import annotations

from typing import Any

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


def torch_index(index: Any) -> Any:
    """``index`` as one NumPy index, or as a pair applied one after the other, so that NumPy gives PyTorch's result.

    NumPy and PyTorch differ in one case: integers mixed with advanced indices
    (lists, integer or bool arrays).  NumPy counts an integer as an advanced index,
    and advanced indices separated by a slice put their dimensions first:
    ``x[0, :, [1, 2]]`` on a (2, 3, 4) array is (2, 3).  PyTorch selects with the
    integers first (as ``x[0]`` would) and indexes the result: (3, 2).  So for that
    case this returns ``(basic, advanced)``: ``basic`` keeps the integers, slices,
    None and Ellipsis (every advanced index becomes a full slice), ``advanced``
    the advanced indices with full slices around them.  Basic indexing gives a view,
    so ``a[basic][advanced] = v`` and ``add.at(out[basic], advanced, g)`` write
    into ``a`` and ``out``.  Every other index is returned as it is.
    """
    items = index if isinstance(index, tuple) else (index,)
    has_int = has_advanced = False
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            has_int = True
        elif isinstance(item, list) or getattr(item, "ndim", 0) > 0:
            has_advanced = True
    if not (has_int and has_advanced):
        return index
    basic: list = []
    advanced: list = []
    for item in items:
        if item is None or isinstance(item, slice):
            basic.append(item)
            advanced.append(slice(None))
        elif item is Ellipsis:
            basic.append(item)
            advanced.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            basic.append(item)  # its dimension is gone after the first step
        else:
            index = get_array_module(item).asarray(item)
            mask_dims = index.ndim if index.dtype.kind == "b" else 1
            basic.extend([slice(None)] * mask_dims)  # a k-d bool mask indexes k dimensions
            advanced.append(item)
    return _TwoStep(tuple(basic), tuple(advanced))


class _TwoStep:
    """An index applied in two steps (see :func:`torch_index`)."""

    __slots__ = ("basic", "advanced")

    def __init__(self, basic: tuple, advanced: tuple) -> None:
        self.basic, self.advanced = basic, advanced


def take(a: Any, index: Any) -> Any:
    """``a[index]`` for an index made by :func:`torch_index`."""
    if isinstance(index, _TwoStep):
        return a[index.basic][index.advanced]
    return a[index]


def put(a: Any, index: Any, value: Any) -> None:
    """``a[index] = value`` for an index made by :func:`torch_index`."""
    if isinstance(index, _TwoStep):
        a[index.basic][index.advanced] = value
    else:
        a[index] = value


class GetItem(Function):
    """``a[index]`` with PyTorch's semantics (see :func:`torch_index`); the gradient scatters back, adding where
    an index repeats."""

    __slots__ = ("in_shape", "index", "dtype")
    is_view = True  # basic indexing gives a view (advanced indexing a copy)

    def __init__(self, index) -> None:
        self.index = torch_index(index)

    def forward(self, a):
        self.in_shape, self.dtype = a.shape, a.dtype
        index = self.index
        out = take(a, index)
        if isinstance(out, np.generic):  # NumPy gives a scalar for x[i, j]; x[i, j, ...] is a 0-d view
            out = a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    def backward(self, g):
        xp = get_array_module(g)
        out = new_array(xp, self.in_shape, self.dtype, 0)
        index = self.index
        if isinstance(index, _TwoStep):  # the basic step is a view of out: add into it
            xp.add.at(out[index.basic], index.advanced, g)
        else:
            xp.add.at(out, index, g)  # unbuffered: repeated indices add up
        return (out,)


class SetItem(Function):
    """``a`` with ``a[index] = value``: what an in-place ``x[index] = value`` records.

    The gradient of ``a`` is ``g`` with the overwritten places zeroed; that of
    ``value`` is ``g[index]``, summed down to the value's shape.
    """

    __slots__ = ("index", "value_shape", "value_dtype")

    def __init__(self, index) -> None:
        self.index = torch_index(index)

    def forward(self, a, value):
        self.value_shape, self.value_dtype = value.shape, value.dtype
        out = a.copy()
        put(out, self.index, value)
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_grad[0]:
            ga = g.copy()
            put(ga, self.index, 0)
        if self.needs_grad[1]:
            gv = unbroadcast(get_array_module(g).asarray(take(g, self.index)), self.value_shape)
            gv = gv.astype(self.value_dtype, copy=False)
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
