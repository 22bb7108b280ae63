"""Elementwise math beyond arithmetic: roots, trigonometry, rounding, clamping, selection.

Each op follows PyTorch's derivative conventions where the calculus leaves a
choice: rounding functions (``floor``, ``sign``, ``div`` with a rounding mode)
have a zero gradient, ``clamp`` passes the gradient where the input lies
inside the bounds (both ends included), ``maximum``/``minimum`` split it in
half at ties, ``where`` routes it by a fixed condition, and the remainders
(``remainder``, ``fmod``) take the derivative of ``a - b * q`` with the
rounded quotient ``q`` held constant.  Where PyTorch defines no derivative at
all (``floor_divide``), :class:`NoDerivative` makes backward an error rather
than a silent zero.
"""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import get_array_module, new_array


class Sqrt(Function):
    __slots__ = ("out",)
    fresh_grads = True

    def forward(self, a):
        with np.errstate(invalid="ignore"):  # sqrt(-1) is NaN, as in PyTorch, without a warning
            self.out, = self.save_for_backward(get_array_module(a).sqrt(a))
        return self.out

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):  # at 0 the slope is infinite, as in PyTorch
            return (g / (2 * self.out),)


class Rsqrt(Function):
    """1 / sqrt(a); d/da = -out**3 / 2."""

    __slots__ = ("out",)
    fresh_grads = True

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):  # rsqrt(0) = inf, rsqrt(-1) = NaN, as in PyTorch
            self.out, = self.save_for_backward(1 / get_array_module(a).sqrt(a))
        return self.out

    def backward(self, g):
        out = self.out
        with np.errstate(invalid="ignore"):
            return (g * (-0.5 * out * out * out),)


class Sin(Function):
    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return get_array_module(a).sin(a)

    def backward(self, g):
        return (g * get_array_module(g).cos(self.a),)


class Cos(Function):
    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return get_array_module(a).cos(a)

    def backward(self, g):
        return (-g * get_array_module(g).sin(self.a),)


class Log1p(Function):
    """log(1 + a), accurate for small a."""

    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # log1p(-1) = -inf, log1p(-2) = NaN
            return get_array_module(a).log1p(a)

    def backward(self, g):
        return (g / (1 + self.a),)


class Piecewise(Function):
    """A piecewise-constant function (``floor``, ``ceil``, ``round``, ``trunc``, ``sign``): the gradient is 0.

    ``compute`` maps the array module and the input to the result; integer
    inputs come back unchanged in dtype, as in PyTorch.
    """

    __slots__ = ("compute", "in_shape")
    fresh_grads = True

    def __init__(self, compute) -> None:
        self.compute = compute

    def forward(self, a):
        self.in_shape = a.shape
        return self.compute(get_array_module(a), a)

    def backward(self, g):
        return (get_array_module(g).zeros(self.in_shape, dtype=g.dtype),)


def _floor_divide(xp, a, b):
    """PyTorch's (and Python's) floor division of floats, through fmod: ``inf // 2`` is NaN, not inf, and the
    quotient is rounded to the nearest integer before flooring, so ``a // b`` never lands one below."""
    mod = xp.fmod(a, b)
    div = (a - mod) / b
    div = xp.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    floor = xp.floor(div)
    floor = xp.where(div - floor > 0.5, floor + 1, floor)
    out = xp.where(div != 0, floor, xp.copysign(xp.zeros_like(div), a / b))
    return xp.where(b == 0, a / b, out).astype(div.dtype, copy=False)


def _float_quotient(xp, a, b, mode: str):
    """``a / b`` of floats rounded down (``"floor"``) or toward zero (``"trunc"``); ``x / 0`` is +-inf or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _floor_divide(xp, a, b) if mode == "floor" else xp.trunc(a / b)


def _refuse_integer_division_by_zero(name: str, a, b) -> None:
    """PyTorch raises on an integer division by zero (NumPy would give 0 with a warning)."""
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and bool((b == 0).any()):
        raise ZeroDivisionError(f"{name}: integer division by zero")


class DivRounded(Function):
    """``a / b`` rounded toward zero (``"trunc"``) or down (``"floor"``); a zero gradient, as in PyTorch.

    Integers are divided exactly (no detour through floats), and an integer
    division by zero raises, as in PyTorch; ``op_name`` is the function its error names.
    """

    __slots__ = ("mode", "op_name", "a_shape", "b_shape", "dtype")
    fresh_grads = True

    def __init__(self, mode: str, op_name: str = "div") -> None:
        self.mode = mode
        self.op_name = op_name

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            _refuse_integer_division_by_zero(self.op_name, a, b)
            a = a.astype(np.int64) if a.dtype.kind == "b" else a
            b = b.astype(np.int64) if b.dtype.kind == "b" else b
            q = a // b
            if self.mode == "trunc":  # floor differs from trunc where the exact quotient is negative
                q = q + ((q < 0) & (q * b != a))
            out = q
        else:
            out = _float_quotient(xp, a, b, self.mode)
        self.dtype = out.dtype
        return out

    def backward(self, g):
        xp = get_array_module(g)
        return new_array(xp, self.a_shape, g.dtype, 0), new_array(xp, self.b_shape, g.dtype, 0)


class Remainder(Function):
    """What is left of ``a`` after dividing by ``b``: ``a - b * q``, with the quotient ``q`` rounded down
    (``"floor"``: ``remainder`` and Python's ``%``, which take the divisor's sign) or toward zero (``"trunc"``:
    ``fmod``, C's, which takes the dividend's sign).

    Both come from ``fmod``, which is exact (no rounded quotient is formed); the
    floor form then moves a remainder whose sign differs from the divisor's by one
    ``b``, as PyTorch computes it.  A float divided by 0 gives NaN and an integer
    one raises, as in PyTorch.  The gradients are PyTorch's: ``q`` is piecewise
    constant, so d/da = 1 and d/db = -q (neither exists at the jumps of ``q``).
    """

    __slots__ = ("mode", "a", "b", "a_shape")

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, a, b):
        xp = get_array_module(a)
        _refuse_integer_division_by_zero("remainder" if self.mode == "floor" else "fmod", a, b)
        self.a_shape = a.shape
        if self.needs_grad[1]:  # only the divisor's gradient reads the operands
            self.a, self.b = self.save_for_backward(a, b)
        with np.errstate(invalid="ignore"):  # x % 0.0 is NaN, as in PyTorch, without a warning
            mod = xp.fmod(a, b)
        if self.mode == "trunc":
            return mod
        return xp.where((mod != 0) & ((mod < 0) != (b < 0)), mod + b, mod)

    def backward(self, g):
        ga = unbroadcast(g, self.a_shape) if self.needs_grad[0] else None
        gb = None
        if self.needs_grad[1]:
            q = _float_quotient(get_array_module(g), self.a, self.b, self.mode)
            gb = unbroadcast(-g * q, self.b.shape)
        return ga, gb


class NoDerivative(Function):
    """``op`` with no derivative, where PyTorch defines none (``floor_divide``; ``remainder`` of a number by
    a tensor).

    As in PyTorch, the result requires grad when an input does, so the graph
    reaches it, and a backward through it is an error that names the op
    (``what``) and a way out (``hint``): a silent zero gradient would train a
    model wrongly without a word.
    """

    __slots__ = ("op", "what", "hint")

    def __init__(self, op: Function, what: str, hint: str) -> None:
        self.op, self.what, self.hint = op, what, hint

    def forward(self, *arrays):
        self.op.needs_grad = (False,) * len(arrays)  # so that it keeps nothing for a backward
        return self.op.forward(*arrays)

    def backward(self, g):
        raise RuntimeError(f"backward through {self.what}: it has no derivative (nor in PyTorch); {self.hint}")


class Clamp(Function):
    """``min(max(a, low), high)`` with array bounds (broadcast; a missing bound is passed as -inf or +inf).

    PyTorch's gradients: ``a`` gets ``g`` where ``low <= a <= high``; ``low``
    where ``a < low`` (and ``low < high``), ``high`` where ``a > high`` or
    ``high < low`` (then the result is ``high`` everywhere).
    """

    __slots__ = ("a", "low", "high")
    fresh_grads = True

    def forward(self, a, low, high):
        xp = get_array_module(a)
        self.a, self.low, self.high = self.save_for_backward(a, low, high)
        return xp.minimum(xp.maximum(a, low), high)

    def backward(self, g):
        xp = get_array_module(g)
        a, low, high = self.a, self.low, self.high
        zero = new_array(xp, (), g.dtype, 0)
        needs = self.needs_grad
        ga = unbroadcast(xp.where((a >= low) & (a <= high), g, zero), a.shape) if needs[0] else None
        glow = unbroadcast(xp.where((a < low) & (low < high), g, zero), low.shape) if needs[1] else None
        ghigh = unbroadcast(xp.where((a > high) | (high < low), g, zero), high.shape) if needs[2] else None
        return ga, glow, ghigh


class Maximum(Function):
    """Elementwise maximum (``minimum`` with ``largest=False``); NaN wins, ties split the gradient in half."""

    __slots__ = ("a", "b", "largest")
    fresh_grads = True

    def __init__(self, largest: bool = True) -> None:
        self.largest = largest

    def forward(self, a, b):
        xp = get_array_module(a)
        self.a, self.b = self.save_for_backward(a, b)
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def backward(self, g):
        xp = get_array_module(g)
        a, b = self.a, self.b
        half = xp.where(a == b, g / 2, g)
        zero = new_array(xp, (), g.dtype, 0)
        a_wins = (a > b) if self.largest else (a < b)
        b_wins = (b > a) if self.largest else (b < a)
        ga = unbroadcast(xp.where(b_wins, zero, half), a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(xp.where(a_wins, zero, half), b.shape) if self.needs_grad[1] else None
        return ga, gb


class Where(Function):
    """``condition ? a : b`` for a fixed boolean array ``condition`` (broadcast with both)."""

    __slots__ = ("condition", "a_shape", "b_shape")
    fresh_grads = True

    def __init__(self, condition) -> None:
        self.condition = condition

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return get_array_module(a).where(self.condition, a, b)

    def backward(self, g):
        xp = get_array_module(g)
        zero = new_array(xp, (), g.dtype, 0)
        g = xp.broadcast_to(g, np.broadcast_shapes(g.shape, self.condition.shape))
        ga = unbroadcast(xp.where(self.condition, g, zero), self.a_shape) if self.needs_grad[0] else None
        gb = unbroadcast(xp.where(self.condition, zero, g), self.b_shape) if self.needs_grad[1] else None
        return ga, gb
