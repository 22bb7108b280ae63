"""1-D layers over (N, C, L) sequences: Conv1d, MaxPool1d and AvgPool1d (the 2-D layers on a height-1 plane)."""
from __future__ import annotations

from typing import Any

from minitorch.nn import _args
from minitorch.nn import functional as F
from minitorch.nn.modules.conv import _ConvNd
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import new_parameter
from minitorch.tensor import Tensor


def _one(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) != 1:
        raise TypeError(f"{owner}: {name} must be an int or a 1-tuple, got {value!r}")
    return _args.pair(items[0], name, owner, minimum)[0]


class Conv1d(_ConvNd):
    """Convolution with weight (out_channels, in_channels / groups, kernel_size), PyTorch's arguments and
    initialisation; ``padding`` an int, ``'valid'`` or ``'same'``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: str | None = None) -> None:
        super().__init__()
        self.in_channels = _args.positive_int(in_channels, "in_channels", "Conv1d")
        self.out_channels = _args.positive_int(out_channels, "out_channels", "Conv1d")
        self.kernel_size = (_one(kernel_size, "kernel_size", "Conv1d"),)
        self.stride = (_one(stride, "stride", "Conv1d"),)
        self.dilation = (_one(dilation, "dilation", "Conv1d"),)
        self.groups = _args.positive_int(groups, "groups", "Conv1d")
        self.padding: str | tuple[int]
        if isinstance(padding, str):
            _args.conv_padding(padding, (1,) + self.kernel_size, (1,) + self.stride, (1,) + self.dilation,
                               "Conv1d")  # validates
            self.padding = padding
        else:
            self.padding = (_one(padding, "padding", "Conv1d", minimum=0),)
        self._check_groups_and_padding_mode(self.in_channels, self.out_channels, padding_mode)
        self.padding_mode = padding_mode
        self.weight = new_parameter(self.out_channels, self.in_channels // self.groups, *self.kernel_size,
                                    device=device)
        self.bias = new_parameter(self.out_channels, device=device) if bias else None
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)


class MaxPool1d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _one(kernel_size, "kernel_size", "MaxPool1d")
        self.stride = self.kernel_size if stride is None else _one(stride, "stride", "MaxPool1d")
        self.padding = _one(padding, "padding", "MaxPool1d", minimum=0)
        self.dilation = _one(dilation, "dilation", "MaxPool1d")
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = (_one(kernel_size, "kernel_size", "AvgPool1d"),)
        self.stride = self.kernel_size if stride is None else (_one(stride, "stride", "AvgPool1d"),)
        self.padding = (_one(padding, "padding", "AvgPool1d", minimum=0),)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size[0], self.stride[0], self.padding[0], self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
