"""Smooth and clipped activations: GELU, SiLU, ELU, Softplus, Hardtanh (ReLU6 is Hardtanh(0, 6)).

Each saves its input (or output) and computes PyTorch's derivative in backward; at the kinks (Hardtanh's
ends, ELU's 0) the gradient is PyTorch's choice, said per op.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from minitorch.autograd import Function
from minitorch.backend import get_array_module

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)


@functools.cache
def _erf_cpu():
    """numba's ufunc of math.erf, compiled (or loaded from the cache) on first use: importing numba costs
    ~0.3 s, which ``import minitorch`` should not pay for an op few programs call."""
    import numba

    @numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def erf(x):  # pragma: no cover - compiled
        return math.erf(x)

    return erf


def erf(a):
    """The error function elementwise (NumPy has none): numba's math.erf on the CPU, CuPy's on the GPU."""
    if get_array_module(a) is np:
        return _erf_cpu()(a)
    from cupyx.scipy.special import erf as cupy_erf  # a GPU array means CuPy is installed

    return cupy_erf(a)


class GELU(Function):
    """x * Phi(x) (Phi the standard normal CDF); ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch."""

    __slots__ = ("approximate", "a")
    fresh_grads = True

    def __init__(self, approximate: str = "none") -> None:
        self.approximate = approximate

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        if self.approximate == "tanh":
            xp = get_array_module(a)
            inner = a.dtype.type(_TANH_SCALE) * (a + a.dtype.type(0.044715) * a * a * a)
            return 0.5 * a * (1 + xp.tanh(inner))
        return a * (0.5 * (1 + erf(a * a.dtype.type(_SQRT_HALF))))

    def backward(self, g):
        a = self.a
        xp = get_array_module(a)
        if self.approximate == "tanh":
            t = xp.tanh(a.dtype.type(_TANH_SCALE) * (a + a.dtype.type(0.044715) * a * a * a))
            inner_grad = a.dtype.type(_TANH_SCALE) * (1 + a.dtype.type(3 * 0.044715) * a * a)
            return (g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * inner_grad),)
        cdf = 0.5 * (1 + erf(a * a.dtype.type(_SQRT_HALF)))
        pdf = a.dtype.type(_INV_SQRT_2PI) * xp.exp(-0.5 * a * a)
        return (g * (cdf + a * pdf),)


class SiLU(Function):
    """x * sigmoid(x) (swish); derivative s (1 + x (1 - s))."""

    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return a * _sigmoid(a)

    def backward(self, g):
        a = self.a
        s = _sigmoid(a)
        return (g * (s * (1 + a * (1 - s))),)


def _sigmoid(a):
    return 0.5 * (get_array_module(a).tanh(0.5 * a) + 1)  # stable for large |a|


class ELU(Function):
    """x for x > 0, else alpha (exp(x) - 1); the gradient at 0 is alpha (PyTorch's)."""

    __slots__ = ("alpha", "a")
    fresh_grads = True

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        xp = get_array_module(a)
        return xp.where(a > 0, a, a.dtype.type(self.alpha) * xp.expm1(xp.minimum(a, 0)))

    def backward(self, g):
        a = self.a
        xp = get_array_module(a)
        return (xp.where(a > 0, g, g * (a.dtype.type(self.alpha) * xp.exp(xp.minimum(a, 0)))),)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's linear tail)."""

    __slots__ = ("beta", "threshold", "a")
    fresh_grads = True

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        xp = get_array_module(a)
        z = a * a.dtype.type(self.beta)
        soft = xp.log1p(xp.exp(xp.minimum(z, self.threshold))) / a.dtype.type(self.beta)
        return xp.where(z > self.threshold, a, soft)

    def backward(self, g):
        a = self.a
        xp = get_array_module(a)
        z = a * a.dtype.type(self.beta)
        return (xp.where(z > self.threshold, g, g * _sigmoid(xp.minimum(z, self.threshold))),)


class Hardtanh(Function):
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside and 0 at and beyond the ends."""

    __slots__ = ("low", "high", "inside")
    fresh_grads = True

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def forward(self, a):
        xp = get_array_module(a)
        if self.needs_grad[0]:
            self.inside = (a > self.low) & (a < self.high)
        return xp.clip(a, a.dtype.type(self.low), a.dtype.type(self.high))

    def backward(self, g):
        return (get_array_module(g).where(self.inside, g, g.dtype.type(0)),)
