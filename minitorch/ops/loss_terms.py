"""Per-element terms of the regression and probability losses (their reductions are compositions of
``sum``/``mean``): smooth L1 and Huber, binary cross-entropy on probabilities and on logits, KL divergence,
and the per-sample negative log-likelihood.  Each returns the gradient for the input and, where the target
asks for one, for the target, with PyTorch's formulas (and its clamps)."""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import as_array, get_array_module, new_array


class RobustL1(Function):
    """d = x - y; ``smooth_l1``: 0.5 d^2 / delta where |d| < delta, else |d| - 0.5 delta;
    ``huber``: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""

    __slots__ = ("delta", "huber", "d", "shapes")
    fresh_grads = True

    def __init__(self, delta: float, huber: bool) -> None:
        self.delta, self.huber = delta, huber

    def forward(self, x, y):
        xp = get_array_module(x)
        d = x - y
        self.d, self.shapes = d, (x.shape, y.shape)
        ad, delta = xp.abs(d), d.dtype.type(self.delta)
        if self.huber:
            return xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        if self.delta == 0:
            return ad
        return xp.where(ad < delta, 0.5 * d * d / delta, ad - 0.5 * delta)

    def backward(self, g):
        xp = get_array_module(g)
        d, delta = self.d, self.d.dtype.type(self.delta)
        inside = xp.abs(d) < delta
        if self.huber:
            local = xp.where(inside, d, delta * xp.sign(d))
        else:
            local = xp.where(inside, d / delta, xp.sign(d)) if self.delta else xp.sign(d)
        gx = g * local
        return (unbroadcast(gx, self.shapes[0]) if self.needs_grad[0] else None,
                unbroadcast(-gx, self.shapes[1]) if self.needs_grad[1] else None)


class BinaryCrossEntropy(Function):
    """-(y log x + (1 - y) log(1 - x)) with each log clamped at -100, as PyTorch; the input's gradient
    (x - y) / max(x (1 - x), 1e-12)."""

    __slots__ = ("x", "y", "log_x", "log_1mx")
    fresh_grads = True

    def forward(self, x, y):
        xp = get_array_module(x)
        if x.size and (float(x.min()) < 0 or float(x.max()) > 1):
            raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1")
        if y.size and (float(y.min()) < 0 or float(y.max()) > 1):  # a label 2 gives a loss, not an error
            raise ValueError("binary_cross_entropy: all elements of target should be between 0 and 1")
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), x.dtype.type(-100))
            log_1mx = xp.maximum(xp.log1p(-x), x.dtype.type(-100))
        self.x, self.y = self.save_for_backward(x, y)
        self.log_x, self.log_1mx = log_x, log_1mx
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, g):
        xp = get_array_module(g)
        x, y = self.x, self.y
        gx = g * (x - y) / xp.maximum((1 - x) * x, x.dtype.type(1e-12)) if self.needs_grad[0] else None
        gy = g * (self.log_1mx - self.log_x) if self.needs_grad[1] else None
        return gx, gy


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + (1 + (p - 1) y) softplus(-x), the stable form of BCE(sigmoid(x), y) with ``pos_weight`` p
    (None: 1) weighing the positive term."""

    __slots__ = ("pos_weight", "x", "y", "softplus_neg")
    fresh_grads = True

    def __init__(self, pos_weight) -> None:
        self.pos_weight = pos_weight

    def forward(self, x, y):
        xp = get_array_module(x)
        self.softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
        self.x, self.y = self.save_for_backward(x, y)
        if self.pos_weight is None:
            return (1 - y) * x + self.softplus_neg
        return (1 - y) * x + (1 + (self.pos_weight - 1) * y) * self.softplus_neg

    def backward(self, g):
        xp = get_array_module(g)
        x, y = self.x, self.y
        sig_neg = 0.5 * (xp.tanh(-0.5 * x) + 1)  # sigmoid(-x)
        scale = 1 if self.pos_weight is None else 1 + (self.pos_weight - 1) * y
        gx = g * ((1 - y) - scale * sig_neg) if self.needs_grad[0] else None
        if self.needs_grad[1]:
            gy = g * (-x) if self.pos_weight is None else g * (-x + (self.pos_weight - 1) * self.softplus_neg)
        else:
            gy = None
        return gx, gy


class KLDivergence(Function):
    """Pointwise KL term for log-probabilities x: y (log y - x), 0 where y = 0; with ``log_target`` the
    target is log-probabilities t: exp(t) (t - x)."""

    __slots__ = ("log_target", "x", "y")
    fresh_grads = True

    def __init__(self, log_target: bool) -> None:
        self.log_target = log_target

    def forward(self, x, y):
        xp = get_array_module(x)
        self.x, self.y = self.save_for_backward(x, y)
        if self.log_target:
            return xp.exp(y) * (y - x)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = xp.where(y > 0, y * xp.log(xp.where(y > 0, y, 1)), 0)
        return ylogy - y * x

    def backward(self, g):
        xp = get_array_module(g)
        x, y = self.x, self.y
        if self.log_target:
            e = xp.exp(y)
            return (g * -e if self.needs_grad[0] else None,
                    g * e * (y - x + 1) if self.needs_grad[1] else None)
        gy = None
        if self.needs_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = g * (xp.log(xp.where(y > 0, y, 1)) + 1 - x)
        return (g * -y if self.needs_grad[0] else None, gy)


class NLLLoss(Function):
    """Per-sample ``-weight[t] * x[n, t]`` of log-probabilities x (N, C) and classes t (N,); rows whose
    target is ``ignore_index`` give 0.  The input's gradient is ``-weight[t]`` at (n, t)."""

    __slots__ = ("target", "weight", "ignore_index", "shape", "picked_weight", "rows")
    fresh_grads = True

    def __init__(self, target, weight, ignore_index: int) -> None:
        self.target, self.weight, self.ignore_index = target, weight, ignore_index

    def forward(self, x):
        xp = get_array_module(x)
        n, c = x.shape
        keep = self.target != self.ignore_index
        classes = xp.where(keep, self.target, 0)
        if n and (int(classes.min()) < 0 or int(classes.max()) >= c):
            bad = int(classes.min()) if int(classes.min()) < 0 else int(classes.max())
            raise IndexError(f"nll_loss: target {bad} is out of bounds for {c} classes")
        w = new_array(xp, c, x.dtype, 1) if self.weight is None else self.weight.astype(x.dtype)
        self.picked_weight = xp.where(keep, w[classes], 0).astype(x.dtype)
        self.rows, self.shape = classes, x.shape
        return -self.picked_weight * x[as_array(xp, xp.arange(n)), classes]

    def backward(self, g):
        xp = get_array_module(g)
        out = new_array(xp, self.shape, g.dtype, 0)
        out[as_array(xp, xp.arange(self.shape[0])), self.rows] = -self.picked_weight * g
        return (out,)
