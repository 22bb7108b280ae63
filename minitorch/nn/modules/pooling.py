"""Pooling layers."""
from __future__ import annotations

from typing import Any

from minitorch.nn import functional as F
from minitorch.nn.modules.module import Module
from minitorch.tensor import Tensor


class MaxPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = F._pair_to_int(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else F._pair_to_int(stride, "stride", "MaxPool2d")
        self.padding = F._pair_to_int(padding, "padding", "MaxPool2d")

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
