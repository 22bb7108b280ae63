"""The 2-D convolution layer, and the base that it and the 1-D one share."""
from __future__ import annotations

from typing import Any

from minitorch.nn import _args, init
from minitorch.nn import functional as F
from minitorch.nn._args import positive_int
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import Parameter, new_parameter
from minitorch.tensor import Tensor


class _ConvNd(Module):
    """What the convolution layers of every dimension share: the channel and padding-mode checks,
    PyTorch's default initialisation and PyTorch's ``repr`` text.  A subclass sets ``in_channels``,
    ``out_channels``, ``kernel_size``, ``stride``, ``padding``, ``dilation``, ``groups``, ``weight`` and ``bias``."""

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    weight: Parameter
    bias: Parameter | None

    def _check_groups_and_padding_mode(self, in_channels: int, out_channels: int, padding_mode: str) -> None:
        owner = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{owner}: padding_mode {padding_mode!r} is not supported; only 'zeros'")
        for name, count in (("in_channels", in_channels), ("out_channels", out_channels)):
            if count % self.groups:
                raise ValueError(f"{owner}: {name} ({count}) must be divisible by groups ({self.groups})")

    def reset_parameters(self) -> None:
        init.default_layer_init_(self.weight, self.bias)

    def extra_repr(self) -> str:
        """PyTorch's text: options left at their defaults are not shown."""
        dims = len(self.kernel_size)
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """Convolution with weight (out_channels, in_channels / groups, kh, kw), PyTorch's arguments.

    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are ints or
    (height, width) pairs; ``padding`` may also be ``'valid'`` or ``'same'``.
    ``groups`` splits the channels into that many independent convolutions
    (``groups == in_channels``: depthwise).  Only zero padding is supported.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: str | None = None,
    ) -> None:
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = _args.pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _args.pair(stride, "stride", "Conv2d")
        self.dilation = _args.pair(dilation, "dilation", "Conv2d")
        self.groups = _args.positive_int(groups, "groups", "Conv2d")
        self.padding: str | tuple[int, int]
        if isinstance(padding, str):
            _args.conv_padding(padding, self.kernel_size, self.stride, self.dilation, "Conv2d")  # validates
            self.padding = padding
        else:
            self.padding = _args.pair(padding, "padding", "Conv2d", minimum=0)
        self._check_groups_and_padding_mode(in_channels, out_channels, padding_mode)
        self.in_channels, self.out_channels, self.padding_mode = in_channels, out_channels, padding_mode
        self.weight = new_parameter(out_channels, in_channels // self.groups, *self.kernel_size, device=device)
        self.bias = new_parameter(out_channels, device=device) if bias else None
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
