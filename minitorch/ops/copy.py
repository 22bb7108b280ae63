"""Ops that copy values: clone, dtype and device casts, and the ``copy_`` of an in-place assignment."""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import device_of, get_array_module, to_device


class Clone(Function):
    """A copy in new memory; the gradient passes through unchanged."""

    __slots__ = ()

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


class Cast(Function):
    """``a`` as another dtype and/or on another device; the gradient goes back the same way."""

    __slots__ = ("dtype", "device", "in_dtype", "in_device")

    def __init__(self, dtype: np.dtype, device: str) -> None:
        self.dtype, self.device = dtype, device

    def forward(self, a):
        self.in_dtype, self.in_device = a.dtype, device_of(a)
        out = to_device(a, self.device)
        out = out.astype(self.dtype, copy=out is a)  # always new memory, like clone()
        return out

    def backward(self, g):
        return (to_device(g, self.in_device).astype(self.in_dtype, copy=False),)


class CopyFrom(Function):
    """``src`` broadcast into ``a``'s shape and dtype: what ``a.copy_(src)`` records.

    ``a``'s old values are gone, so its gradient is zero (as in PyTorch, a zero
    tensor rather than none); ``src`` gets ``g`` summed down to its shape.
    """

    __slots__ = ("src_shape", "src_dtype")

    def forward(self, a, src):
        self.src_shape, self.src_dtype = src.shape, src.dtype
        xp = get_array_module(a)
        out = xp.empty_like(a)
        out[...] = src
        return out

    def backward(self, g):
        gsrc = unbroadcast(g, self.src_shape).astype(self.src_dtype, copy=False) if self.needs_grad[1] else None
        ga = get_array_module(g).zeros_like(g) if self.needs_grad[0] else None
        return ga, gsrc
