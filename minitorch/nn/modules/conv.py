"""2-D convolution layer."""
from __future__ import annotations

from typing import Any

from minitorch.nn import functional as F
from minitorch.nn import init
from minitorch.nn.modules.linear import new_parameter, positive_int
from minitorch.nn.modules.module import Module
from minitorch.tensor import Tensor


class Conv2d(Module):
    """Square-kernel convolution; weight shape (out_channels, in_channels, k, k)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        bias: bool = True,
        device: str | None = None,
    ) -> None:
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        k = F._pair_to_int(kernel_size, "kernel_size", "Conv2d")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, k
        self.stride = F._pair_to_int(stride, "stride", "Conv2d")
        self.padding = F._pair_to_int(padding, "padding", "Conv2d")
        self.weight = new_parameter(out_channels, in_channels, k, k, device=device)
        self.bias = new_parameter(out_channels, device=device) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        k = self.kernel_size
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size=({k}, {k}), "
            f"stride=({self.stride}, {self.stride}), padding=({self.padding}, {self.padding})"
        )
