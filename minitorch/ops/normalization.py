"""Batch normalisation as one op, with the closed-form backward."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module
from minitorch.ops._checks import check_float


class BatchNorm(Function):
    """Normalise over every axis but the channel axis (1), then scale and shift.

    In training mode it uses the batch statistics and updates ``running_mean``
    and ``running_var`` in place (unbiased variance, as PyTorch does); in
    evaluation mode it uses the running statistics.
    """

    __slots__ = ("training", "eps", "momentum", "running_mean", "running_var", "xhat", "scale", "count")

    def __init__(self, running_mean, running_var, training: bool, momentum: float, eps: float) -> None:
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, weight=None, bias=None):
        xp = get_array_module(x)
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {x.shape}")
        C = x.shape[1]
        for name, arr in (("weight", weight), ("bias", bias), ("running_mean", self.running_mean)):
            if arr is not None and arr.shape != (C,):
                raise ValueError(
                    f"batch_norm: input of shape {x.shape} has {C} features but {name} has shape {arr.shape}"
                )
        check_float("batch_norm", input=x, weight=weight, bias=bias)
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, C) + (1,) * (x.ndim - 2)
        count = x.size // C
        if self.training:
            if count <= 1:
                raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input {x.shape}")
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(bshape)
            var = (centered * centered).mean(axis=axes)
            if self.running_mean is not None:
                m = self.momentum
                self.running_mean *= 1 - m
                self.running_mean += m * mean
                self.running_var *= 1 - m
                self.running_var += (m * count / (count - 1)) * var
        else:
            if self.running_mean is None:
                raise ValueError("batch_norm: evaluation mode needs running statistics")
            mean, var = self.running_mean, self.running_var
            centered = x - mean.reshape(bshape)
        invstd = 1.0 / xp.sqrt(var + self.eps)
        xhat = centered * invstd.reshape(bshape)
        scale = invstd if weight is None else invstd * weight
        out = xhat if weight is None else xhat * weight.reshape(bshape)
        if bias is not None:
            out = out + bias.reshape(bshape)
        if any(self.needs_grad):
            self.xhat, self.scale, self.count = xhat, scale, count
        return out

    def backward(self, g):
        xhat, needs = self.xhat, self.needs_grad
        axes = (0,) + tuple(range(2, g.ndim))
        bshape = (1, g.shape[1]) + (1,) * (g.ndim - 2)
        gbias = g.sum(axis=axes)
        gweight = (g * xhat).sum(axis=axes)
        gx = None
        if needs[0]:
            if self.training:  # d/dx of (x - mean) / std, both statistics depending on x
                gx = (self.scale / self.count).reshape(bshape) * (
                    self.count * g - gbias.reshape(bshape) - xhat * gweight.reshape(bshape)
                )
            else:
                gx = g * self.scale.reshape(bshape)
        return (
            gx,
            gweight if len(needs) > 1 and needs[1] else None,
            gbias if len(needs) > 2 and needs[2] else None,
        )
