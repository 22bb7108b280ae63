"""Fully connected layer."""
from __future__ import annotations

from minitorch.nn import functional as F
from minitorch.nn import init
from minitorch.nn._args import positive_int
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import new_parameter
from minitorch.tensor import Tensor


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: str | None = None) -> None:
        super().__init__()
        in_features = positive_int(in_features, "in_features", "Linear")
        out_features = positive_int(out_features, "out_features", "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = new_parameter(out_features, in_features, device=device)
        self.bias = new_parameter(out_features, device=device) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
