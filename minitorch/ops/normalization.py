"""Batch normalisation as one op, with the closed-form backward."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module, new_array
from minitorch.kernels import batch_norm_backward, batch_norm_forward, batch_norm_running_stats
from minitorch.ops._checks import check_float


class BatchNorm(Function):
    """Normalise over every axis but the channel axis (1), then scale and shift.

    In training mode it uses the batch statistics and updates ``running_mean``
    and ``running_var`` in place (unbiased variance, as PyTorch does); in
    evaluation mode it uses the running statistics.  The input is viewed as
    (N, C, L) so one kernel serves BatchNorm1d and BatchNorm2d.
    """

    __slots__ = ("training", "eps", "momentum", "running_mean", "running_var", "xhat", "scale")
    fresh_grads = True

    def __init__(self, running_mean, running_var, training: bool, momentum: float, eps: float) -> None:
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, weight=None, bias=None):
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {x.shape}")
        C = x.shape[1]
        for name, arr in (("weight", weight), ("bias", bias), ("running_mean", self.running_mean)):
            if arr is not None and arr.shape != (C,):
                raise ValueError(
                    f"batch_norm: input of shape {x.shape} has {C} features but {name} has shape {arr.shape}"
                )
        check_float("batch_norm", input=x, weight=weight, bias=bias)
        if self.training and x.size // C <= 1:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input {x.shape}")
        if not self.training and self.running_mean is None:
            raise ValueError("batch_norm: evaluation mode needs running statistics")
        xp = get_array_module(x)
        if weight is None:
            weight = new_array(xp, C, x.dtype, 1)
        if bias is None:
            bias = new_array(xp, C, x.dtype, 0)
        keep = any(self.needs_grad)
        rm, rv = self.running_mean, self.running_var
        given = (None, None) if self.training else (rm, rv)
        out, xhat, scale, mean, var = batch_norm_forward(x.reshape(x.shape[0], C, -1), weight, bias, *given,
                                                         self.eps, keep)
        if self.training and rm is not None:  # the running statistics follow the batch's (n > 1, checked above)
            batch_norm_running_stats(rm, rv, mean, var, self.momentum, x.size // C)
        if keep:
            self.xhat, self.scale = xhat, scale
        return out.reshape(x.shape)

    def backward(self, g):
        shape, needs = g.shape, self.needs_grad
        gx, gweight, gbias = batch_norm_backward(g.reshape(shape[0], shape[1], -1), self.xhat, self.scale,
                                                 self.training)
        return (
            gx.reshape(shape) if needs[0] else None,
            gweight if len(needs) > 1 and needs[1] else None,
            gbias if len(needs) > 2 and needs[2] else None,
        )
