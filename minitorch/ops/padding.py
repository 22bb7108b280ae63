"""Padding and resampling along trailing axes: ``F.pad`` (constant, reflect, replicate) and the 1-D
gather-and-blend step that nearest and (bi)linear interpolation are made of.

Both work one axis at a time with index arrays built on the host, so that the
forward is a gather (``take``) and the backward its adjoint, a scatter-add
(``add.at``): exact, and an inf or NaN stays where it was.
"""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function
from minitorch.backend import as_array, get_array_module, new_array


def _scatter_add(g, index, axis: int, size: int):
    """The adjoint of ``take(x, index, axis)``: ``out[..., index[j], ...] += g[..., j, ...]``."""
    xp = get_array_module(g)
    moved = xp.moveaxis(g, axis, 0)
    out = new_array(xp, (size,) + moved.shape[1:], g.dtype, 0)
    if xp is np:
        np.add.at(out, index, moved)
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(out, as_array(xp, index), moved)
    return xp.moveaxis(out, 0, axis)


def pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source positions of a padded axis for ``reflect`` (mirror without the edge) or ``replicate``."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    period = 2 * (size - 1)
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded < size, folded, period - folded)


class Pad(Function):
    """Pad trailing axes: ``pads`` holds (axis, before, after) per padded axis; ``mode`` constant (with
    ``value``), reflect or replicate.  Constant padding's gradient is the interior slice; the others'
    scatter-add back onto the edge positions they copied."""

    __slots__ = ("pads", "mode", "value", "shape")
    fresh_grads = True

    def __init__(self, pads: list[tuple[int, int, int]], mode: str, value: float = 0.0) -> None:
        self.pads, self.mode, self.value = pads, mode, value

    def forward(self, a):
        xp = get_array_module(a)
        self.shape = a.shape
        if self.mode == "constant":
            widths = [(0, 0)] * a.ndim
            for axis, before, after in self.pads:
                widths[axis] = (before, after)
            return xp.pad(a, widths, mode="constant", constant_values=a.dtype.type(self.value))
        for axis, before, after in self.pads:
            a = xp.take(a, as_array(xp, pad_index(a.shape[axis], before, after, self.mode)), axis=axis)
        return a

    def backward(self, g):
        if self.mode == "constant":
            index = [slice(None)] * g.ndim
            for axis, before, after in self.pads:
                index[axis] = slice(before, g.shape[axis] - after)
            return (g[tuple(index)].copy(),)
        for axis, before, after in reversed(self.pads):
            size = self.shape[axis]
            g = _scatter_add(g, pad_index(size, before, after, self.mode), axis, size)
        return (g,)


class Blend1d(Function):
    """Along ``axis``: ``out[j] = x[i0[j]] * (1 - w[j]) + x[i1[j]] * w[j]`` (w None: ``x[i0[j]]``).

    One axis of nearest (w None) or linear interpolation; bilinear is two of them.
    """

    __slots__ = ("axis", "i0", "i1", "w", "size")
    fresh_grads = True

    def __init__(self, axis: int, i0: np.ndarray, i1: np.ndarray | None = None, w: np.ndarray | None = None) -> None:
        self.axis, self.i0, self.i1, self.w = axis, i0, i1, w

    def _weights(self, w: np.ndarray, like):
        """``w`` in ``like``'s dtype, on its device, shaped to broadcast along ``axis``."""
        xp = get_array_module(like)
        shape = [1] * like.ndim
        shape[self.axis] = -1
        return as_array(xp, w.astype(like.dtype)).reshape(shape)

    def forward(self, a):
        xp = get_array_module(a)
        self.size = a.shape[self.axis]
        near = xp.take(a, as_array(xp, self.i0), axis=self.axis)
        if self.w is None:
            return near
        w = self._weights(self.w, a)
        return near * (1 - w) + xp.take(a, as_array(xp, self.i1), axis=self.axis) * w

    def backward(self, g):
        if self.w is None:
            return (_scatter_add(g, self.i0, self.axis, self.size),)
        w = self._weights(self.w, g)
        return (_scatter_add(g * (1 - w), self.i0, self.axis, self.size)
                + _scatter_add(g * w, self.i1, self.axis, self.size),)
