"""Parameter initialisation, matching PyTorch's defaults so training curves compare."""
from __future__ import annotations

import math

from minitorch.backend import to_device
from minitorch.random import generator
from minitorch.tensor import Tensor


def _fan_in(tensor: Tensor) -> int:
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan-in needs a weight of at least 2 dimensions, got shape {shape}")
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive


def uniform_(tensor: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Fill in place from U(low, high), drawn on the host from the global generator."""
    values = generator().uniform(low, high, size=tensor.shape).astype(tensor.dtype)
    tensor.data[...] = to_device(values, tensor.device)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    tensor.data[...] = 0
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    tensor.data[...] = 1
    return tensor


def kaiming_uniform_(tensor: Tensor, a: float = 0.0) -> Tensor:
    """He initialisation for a leaky-ReLU slope ``a``: U(-b, b), b = gain * sqrt(3 / fan_in)."""
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / _fan_in(tensor))
    return uniform_(tensor, -bound, bound)


def default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's Linear/Conv2d reset: Kaiming-uniform with a=sqrt(5), bias U(+-1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(_fan_in(weight))
        uniform_(bias, -bound, bound)
