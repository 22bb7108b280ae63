"""Softmax, log-softmax and the losses, each fused into one op."""
from __future__ import annotations

import numpy as np

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import as_array, get_array_module, new_array
from minitorch.kernels import cross_entropy_backward, cross_entropy_forward
from minitorch.ops._checks import check_dim

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _log_softmax(x, axis: int):
    xp = get_array_module(x)
    if x.size == 0:  # nothing to normalise (and an empty axis has no maximum)
        return xp.empty_like(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax_axis(x, axis: int, op: str) -> tuple:
    """``x`` viewed with at least one dimension (a 0-d tensor is its own softmax axis), and the checked axis."""
    axis = check_dim(axis, x.ndim, op)
    return (x, axis) if x.ndim else (x.reshape(1), 0)


class LogSoftmax(Function):
    __slots__ = ("axis", "out")
    fresh_grads = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        y, self.axis = _softmax_axis(x, self.axis, "log_softmax")
        self.out, = self.save_for_backward(_log_softmax(y, self.axis).reshape(x.shape))
        return self.out

    def backward(self, g):
        xp = get_array_module(g)
        if not g.ndim:  # a single element: log_softmax is constant 0
            return (xp.zeros_like(g),)
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


class Softmax(Function):
    __slots__ = ("axis", "out")
    fresh_grads = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        y, self.axis = _softmax_axis(x, self.axis, "softmax")
        self.out, = self.save_for_backward(xp.exp(_log_softmax(y, self.axis)).reshape(x.shape))
        return self.out

    def backward(self, g):
        out = self.out
        if not g.ndim:  # a single element: softmax is constant 1
            return (get_array_module(g).zeros_like(g),)
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) against class indices (N,), with PyTorch's options.

    Row n puts weight ``a[n, c]`` on ``-log softmax(logits)[n, c]``::

        a[n, c] = (1 - s) * w[t_n] * [c == t_n] + (s / C) * w[c]      (s: label_smoothing)
        loss_n  = -sum_c a[n, c] * log p[n, c]
        d loss_n / d logits[n] = (sum_c a[n, c]) * p[n] - a[n]

    with ``w`` the class weights (ones by default) and ``a[n] = 0`` for a row
    whose target is ``ignore_index``.  The mean divides by ``sum_n w[t_n]`` over
    the rows not ignored, as PyTorch does.  Terms with ``a[n, c] = 0`` are left
    out, not multiplied: ``log p`` may be -inf there (a -inf logit) or NaN (an
    ignored row), and PyTorch's loss stays finite.  The plain loss (no weights, no
    smoothing, every target a class) runs the compiled kernel, whose gradient is
    the special case ``p - onehot``.
    """

    __slots__ = ("reduction", "weight", "ignore_index", "smoothing", "probs", "target", "coef", "keep", "denom")
    fresh_grads = True

    def __init__(self, reduction: str = "mean", weight=None, ignore_index: int = -100,
                 label_smoothing: float = 0.0) -> None:
        _check_reduction("cross_entropy", reduction)
        self.reduction, self.weight = reduction, weight
        self.ignore_index, self.smoothing = ignore_index, label_smoothing

    def forward(self, logits, target):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: expected logits of shape (N, C), got {logits.shape}")
        if target.ndim != 1 or target.shape[0] != logits.shape[0]:
            raise ValueError(
                f"cross_entropy: target of shape {target.shape} does not match logits of shape {logits.shape}; "
                "expected class indices of shape (N,)"
            )
        if target.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: target must hold integer class indices, got dtype {target.dtype}")
        if self.weight is None and not self.smoothing and not 0 <= self.ignore_index < logits.shape[1]:
            try:
                losses, probs = cross_entropy_forward(logits, target)
            except ValueError:  # a target outside [0, C): maybe ignore_index, which the general path handles
                pass
            else:
                if self.needs_grad[0]:
                    self.probs, (self.target,), self.coef = probs, self.save_for_backward(target), None
                if self.reduction == "mean":
                    return losses.sum() / losses.shape[0]  # sum/len: ndarray.mean is slow Python in NumPy
                return losses.sum() if self.reduction == "sum" else losses
        return self._general_forward(logits, target)

    def _general_forward(self, logits, target):
        xp = get_array_module(logits)
        N, C = logits.shape
        keep = target != self.ignore_index
        bad = keep & ((target < 0) | (target >= C))
        if bad.any():
            raise ValueError(f"cross_entropy: target {int(target[bad][0])} is out of range for {C} classes")
        weight = None
        if self.weight is not None:
            weight = as_array(xp, self.weight, logits.dtype)
            if weight.shape != (C,):
                raise ValueError(f"cross_entropy: weight of shape {weight.shape} does not match the {C} classes "
                                 f"of logits of shape {logits.shape}")
        t = xp.where(keep, target, 0)
        rows = as_array(xp, xp.arange(N))
        target_weight = (weight[t] if weight is not None else new_array(xp, N, logits.dtype, 1)) * keep
        s = self.smoothing
        coef = xp.zeros_like(logits)
        if s:
            coef += (s / C) * ((weight if weight is not None else 1.0) * keep[:, None])
        coef[rows, t] += (1 - s) * target_weight
        logp = _log_softmax(logits, 1)
        # a class with no weight adds nothing, even where log p is -inf (a -inf logit) or NaN (an ignored row)
        with np.errstate(invalid="ignore"):
            losses = -xp.where(coef != 0, coef * logp, 0).sum(axis=1)
        denom = target_weight.sum()
        if self.needs_grad[0]:
            self.probs, self.coef, self.keep, self.denom = xp.exp(logp), coef, keep, denom
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # every row ignored: 0 / 0 = NaN, as in PyTorch
                return losses.sum() / denom
        return losses.sum() if self.reduction == "sum" else losses

    def backward(self, g):
        xp = get_array_module(g)
        n = self.probs.shape[0]
        if self.coef is not None:
            grad = self.probs * self.coef.sum(axis=1, keepdims=True) - self.coef
            with np.errstate(invalid="ignore", divide="ignore"):  # a zero denominator gives NaN, as in PyTorch
                grad *= g[:, None] if self.reduction == "none" else (g / self.denom if self.reduction == "mean" else g)
                # ignored rows get 0 even when the scale is NaN (every row ignored), and NaN where their
                # logits made NaN probabilities, as the backward of PyTorch's log-softmax gives
                grad[~self.keep] = self.probs[~self.keep] * 0
            return grad, None
        if self.reduction == "none":
            scale = g
        else:  # every row's scale is g / n (mean) or g (sum): one ufunc into a new array
            scale = new_array(xp, n, g.dtype)
            xp.divide(g, n if self.reduction == "mean" else 1, out=scale)
        return cross_entropy_backward(self.probs, self.target, scale), None


class MSELoss(Function):
    """Mean (or summed, or elementwise) squared difference; ``input`` and ``target`` broadcast together.

    The mean of an empty batch is NaN, as in PyTorch (and its gradient empty).
    """

    __slots__ = ("reduction", "diff", "shapes")
    fresh_grads = True

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction("mse_loss", reduction)
        self.reduction = reduction

    def forward(self, input, target):
        diff = input - target
        self.diff, self.shapes = diff, (input.shape, target.shape)
        sq = diff * diff
        if self.reduction == "mean":
            return sq.sum() / sq.size if sq.size else get_array_module(sq).full((), float("nan"), dtype=sq.dtype)
        return sq.sum() if self.reduction == "sum" else sq

    def backward(self, g):
        scale = 2.0 / max(self.diff.size, 1) if self.reduction == "mean" else 2.0
        grad = self.diff * (g * scale)
        needs = self.needs_grad
        input_shape, target_shape = self.shapes
        return ((unbroadcast(grad, input_shape) if needs[0] else None),
                (unbroadcast(-grad, target_shape) if needs[1] else None))
