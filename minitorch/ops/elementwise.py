"""Elementwise functions of one tensor."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module
from minitorch.kernels import relu_backward, relu_forward


class Exp(Function):
    __slots__ = ("out",)
    fresh_grads = True
    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    __slots__ = ("a",)
    fresh_grads = True
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class ReLU(Function):
    """max(x, 0); the gradient at exactly 0 is 0, as in PyTorch."""

    __slots__ = ("mask",)
    fresh_grads = True

    def forward(self, a):
        out, mask = relu_forward(a, self.needs_grad[0])
        if mask is not None:
            self.mask = mask
        return out

    def backward(self, g):
        return (relu_backward(g, self.mask),)


class Tanh(Function):
    __slots__ = ("out",)
    fresh_grads = True
    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):
    __slots__ = ("out",)
    fresh_grads = True
    saves_output = True

    def forward(self, a):
        xp = get_array_module(a)
        self.out = 0.5 * (xp.tanh(0.5 * a) + 1)  # stable for large |a|
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class Abs(Function):
    """|a|; the gradient at 0 is 0 (sign(0)), as in PyTorch."""

    __slots__ = ("a",)
    fresh_grads = True
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).abs(a)

    def backward(self, g):
        return (g * get_array_module(g).sign(self.a),)
