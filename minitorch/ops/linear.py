"""The affine map of a Linear layer as one op: ``x @ W.T + b``."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.kernels import linear_forward, linear_input_grad, linear_weight_grad
from minitorch.ops._checks import check_float


class Linear(Function):
    """y = x W^T + b over the last axis of x; W has shape (out_features, in_features)."""

    __slots__ = ("x", "weight", "x_shape")
    fresh_grads = True

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: input of shape {x.shape} does not match weight of shape {weight.shape} "
                f"(expected last input dimension {weight.shape[-1]})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}")
        check_float("linear", input=x, weight=weight, bias=bias)
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = linear_forward(x2, weight)
        if bias is not None:
            out += bias
        needs = self.needs_grad
        if needs[0] or needs[1]:  # one call; what is not needed is saved as None (skipped)
            self.weight, self.x = self.save_for_backward(weight if needs[0] else None, x2 if needs[1] else None)
        self.x_shape = x.shape
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        needs = self.needs_grad
        gx = linear_input_grad(g2, self.weight).reshape(self.x_shape) if needs[0] else None
        gw = linear_weight_grad(g2, self.x) if needs[1] else None
        gb = g2.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return gx, gw, gb
