"""LayerNorm and GroupNorm: per-sample normalisation (no running statistics), with learnable scale and shift."""
from __future__ import annotations

from typing import Any

from minitorch.nn import _args, init
from minitorch.nn import functional as F
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import new_parameter
from minitorch.tensor import Tensor


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims; ``weight`` (ones) and ``bias`` (zeros) of that
    shape when ``elementwise_affine``."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device: str | None = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(_args.positive_int(n, "normalized_shape", "LayerNorm") for n in shape)
        self.eps = _args.finite_float(eps, "eps", "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = new_parameter(*self.normalized_shape, device=device) if elementwise_affine else None
        self.bias = new_parameter(*self.normalized_shape, device=device) if elementwise_affine and bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalise each sample's channels in ``num_groups`` groups; per-channel ``weight`` (ones) and ``bias``
    (zeros) when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: str | None = None) -> None:
        super().__init__()
        self.num_groups = _args.positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _args.positive_int(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = _args.finite_float(eps, "eps", "GroupNorm")
        self.affine = bool(affine)
        self.weight = new_parameter(self.num_channels, device=device) if affine else None
        self.bias = new_parameter(self.num_channels, device=device) if affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None and self.bias is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
