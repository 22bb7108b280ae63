"""Elementwise functions of one tensor."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module
from minitorch.kernels import relu_backward, relu_forward


class Exp(Function):
    __slots__ = ("out",)
    fresh_grads = True

    def forward(self, a):
        self.out, = self.save_for_backward(get_array_module(a).exp(a))
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return get_array_module(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class ReLU(Function):
    """max(x, 0); the gradient at exactly 0 is 0, as in PyTorch."""

    __slots__ = ("mask",)
    fresh_grads = True

    def forward(self, a):
        if a.dtype == "float16":  # the compiled kernels have no float16: NumPy's (NaN stays NaN, as in PyTorch)
            if self.needs_grad[0]:
                self.mask = a > 0
            return get_array_module(a).where(a > 0, a, a * 0)
        out, mask = relu_forward(a, self.needs_grad[0])
        if mask is not None:
            self.mask = mask
        return out

    def backward(self, g):
        if g.dtype == "float16":
            return (get_array_module(g).where(self.mask, g, g * 0),)
        return (relu_backward(g, self.mask),)


class Tanh(Function):
    __slots__ = ("out",)
    fresh_grads = True

    def forward(self, a):
        self.out, = self.save_for_backward(get_array_module(a).tanh(a))
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):
    """1 / (1 + exp(-a)), computed from e = exp(-|a|) as 1 / (1 + e) for a >= 0 and e / (1 + e) below.

    Neither form overflows, and the small tail keeps its relative precision
    (4.2e-18 at -40 in float64), where 1 - 1 / (1 + e) or 0.5 * (tanh(a / 2) + 1)
    would round it to 0.
    """

    __slots__ = ("out",)
    fresh_grads = True

    def forward(self, a):
        xp = get_array_module(a)
        e = xp.exp(-xp.abs(a))
        inv = 1 / (1 + e)
        self.out, = self.save_for_backward(xp.where(a >= 0, inv, e * inv))
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class LeakyReLU(Function):
    """x for x > 0, else slope * x; the gradient at exactly 0 is the slope, as in PyTorch."""

    __slots__ = ("slope", "positive")

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, a):
        xp = get_array_module(a)
        positive = a > 0
        if self.needs_grad[0]:
            self.positive = positive
        return xp.where(positive, a, a * a.dtype.type(self.slope))

    def backward(self, g):
        xp = get_array_module(g)
        return (xp.where(self.positive, g, g * g.dtype.type(self.slope)),)


class MaskedScale(Function):
    """``x * mask`` for a constant ``mask`` chosen before the op runs (dropout's kept-and-rescaled mask).

    The randomness stays outside the op, so the op itself is deterministic and
    its backward, ``g * mask``, can be checked like any other.
    """

    __slots__ = ("mask",)

    def __init__(self, mask) -> None:
        self.mask = mask

    def forward(self, a):
        if self.mask.shape != a.shape:
            raise ValueError(f"dropout: mask of shape {self.mask.shape} does not match input of shape {a.shape}")
        return a * self.mask

    def backward(self, g):
        return (g * self.mask,)


class Abs(Function):
    """|a|; the gradient at 0 is 0 (sign(0)), as in PyTorch."""

    __slots__ = ("a",)
    fresh_grads = True

    def forward(self, a):
        self.a, = self.save_for_backward(a)
        return get_array_module(a).abs(a)

    def backward(self, g):
        return (g * get_array_module(g).sign(self.a),)
