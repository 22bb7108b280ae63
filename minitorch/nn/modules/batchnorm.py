"""Batch normalisation layers with running statistics."""
from __future__ import annotations

import numpy as np

from minitorch.backend import default_device, get_default_dtype
from minitorch.factories import ones, tensor, zeros
from minitorch.nn import functional as F
from minitorch.nn import init
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import new_parameter
from minitorch.tensor import Tensor


class _BatchNorm(Module):
    expected_ndim: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: str | None = None,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = new_parameter(num_features, device=device) if affine else None
        self.bias = new_parameter(num_features, device=device) if affine else None
        if self.weight is not None:  # affine
            init.ones_(self.weight)
        if track_running_stats:
            device = device or default_device()
            self.register_buffer("running_mean", zeros(num_features, dtype=get_default_dtype(), device=device))
            self.register_buffer("running_var", ones(num_features, dtype=get_default_dtype(), device=device))
            self.register_buffer(
                "num_batches_tracked", tensor(np.array(0, dtype=np.int64), device=device)
            )
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self.expected_ndim:
            raise ValueError(
                f"{type(self).__name__}: expected a {' or '.join(map(str, self.expected_ndim))}-D input, "
                f"got shape {input.shape}"
            )
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}): input of shape {input.shape} has "
                f"{input.shape[1]} features"
            )
        momentum = self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(
            input, self.running_mean, self.running_var, self.weight, self.bias,
            use_batch_stats, 0.0 if momentum is None else momentum, self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs."""

    expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs, one statistic per channel."""

    expected_ndim = (4,)
