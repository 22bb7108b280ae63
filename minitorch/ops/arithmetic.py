"""Elementwise arithmetic with NumPy broadcasting, and matrix products."""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import get_array_module


class Add(Function):
    __slots__ = ("a_shape", "b_shape")

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.a_shape), unbroadcast(g, self.b_shape)


class Sub(Function):
    __slots__ = ("a_shape", "b_shape")

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, g):
        gb = unbroadcast(-g, self.b_shape) if self.needs_grad[1] else None
        return unbroadcast(g, self.a_shape), gb


class Mul(Function):
    __slots__ = ("a", "b")
    fresh_grads = True

    def forward(self, a, b):
        self.a, self.b = self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b, a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    __slots__ = ("a", "b")
    fresh_grads = True

    def forward(self, a, b):
        self.a, self.b = self.save_for_backward(a, b)
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g / b, a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    __slots__ = ()
    fresh_grads = True

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class PowScalar(Function):
    """``a ** p`` for a constant exponent ``p``."""

    __slots__ = ("a", "p")
    fresh_grads = True

    def __init__(self, p: float) -> None:
        self.p = p

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return a ** self.p

    def backward(self, g):
        p = self.p
        if p == 0:  # x ** 0 is constant: 0, not 0 * 0 ** -1 = NaN at x = 0 (as in PyTorch)
            return (get_array_module(g).zeros_like(g),)
        return (g * (p * self.a ** (p - 1)),)


class Pow(Function):
    """``a ** b`` with both operands differentiable (``b`` needs ``a > 0``)."""

    __slots__ = ("a", "b", "out")
    fresh_grads = True

    def forward(self, a, b):
        self.a, self.b = self.save_for_backward(a, b)
        self.out, = self.save_for_backward(a ** b)
        return self.out

    def backward(self, g):
        # PyTorch's conventions where the formulas give 0 * inf: d/da is 0 where b = 0, and
        # d/db is 0 where a = 0 and b >= 0 (a ** b is constant 0 or 1 there).
        xp = get_array_module(g)
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):  # the masked-out values
            if self.needs_grad[0]:
                ga = unbroadcast(xp.where(b == 0, 0, g * b * a ** (b - 1)), a.shape)
            if self.needs_grad[1]:
                gb = unbroadcast(xp.where((a == 0) & (b >= 0), 0, g * out * xp.log(a)), b.shape)
        return ga, gb


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""

    __slots__ = ("a", "b")
    fresh_grads = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not align "
                f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})"
            )
        self.a, self.b = self.save_for_backward(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        xp = get_array_module(g)
        a2 = a[None, :] if a.ndim == 1 else a  # promote 1-D operands as forward did
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return ga, gb
