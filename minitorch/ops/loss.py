"""Softmax, log-softmax and the losses, each fused into one op."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _log_softmax(x, axis: int):
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    __slots__ = ("axis", "out")

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        self.out = _log_softmax(x, self.axis)
        return self.out

    def backward(self, g):
        xp = get_array_module(g)
        return (g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)


class Softmax(Function):
    __slots__ = ("axis", "out")

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        self.out = xp.exp(_log_softmax(x, self.axis))
        return self.out

    def backward(self, g):
        out = self.out
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class CrossEntropy(Function):
    """-log softmax(logits)[target], with the gradient softmax - onehot."""

    __slots__ = ("reduction", "probs", "target")

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction("cross_entropy", reduction)
        self.reduction = reduction

    def forward(self, logits, target):
        xp = get_array_module(logits)
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: expected logits of shape (N, C), got {logits.shape}")
        if target.ndim != 1 or target.shape[0] != logits.shape[0]:
            raise ValueError(
                f"cross_entropy: target of shape {target.shape} does not match logits of shape {logits.shape}; "
                "expected class indices of shape (N,)"
            )
        if target.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: target must hold integer class indices, got dtype {target.dtype}")
        C = logits.shape[1]
        out_of_range = (target < 0) | (target >= C)
        if out_of_range.any():  # one host sync on a GPU, not two
            raise ValueError(f"cross_entropy: target {int(target[out_of_range][0])} is out of range for {C} classes")
        logp = _log_softmax(logits, 1)
        rows = xp.arange(logits.shape[0])
        losses = -logp[rows, target]
        if self.needs_grad[0]:
            self.probs, self.target = xp.exp(logp), target
        if self.reduction == "mean":
            return losses.mean()
        return losses.sum() if self.reduction == "sum" else losses

    def backward(self, g):
        xp = get_array_module(g)
        grad = self.probs.copy()  # a copy: a retained graph may run backward again
        grad[xp.arange(grad.shape[0]), self.target] -= 1
        if self.reduction == "mean":
            grad *= g / grad.shape[0]
        elif self.reduction == "sum":
            grad *= g
        else:
            grad *= g[:, None]
        return grad, None


class MSELoss(Function):
    __slots__ = ("reduction", "diff")

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction("mse_loss", reduction)
        self.reduction = reduction

    def forward(self, input, target):
        if input.shape != target.shape:
            raise ValueError(f"mse_loss: input of shape {input.shape} and target of shape {target.shape} differ")
        diff = input - target
        self.diff = diff
        sq = diff * diff
        if self.reduction == "mean":
            return sq.mean()
        return sq.sum() if self.reduction == "sum" else sq

    def backward(self, g):
        scale = 2.0 / self.diff.size if self.reduction == "mean" else 2.0
        grad = self.diff * (g * scale)
        needs = self.needs_grad
        return (grad if needs[0] else None), (-grad if needs[1] else None)
