"""Parameter initialisation with PyTorch's formulas (``minitorch.nn.init``).

Every function fills its tensor in place, outside the autograd graph, and
returns it.  Values are drawn on the host from minitorch's global generator
(see :func:`minitorch.manual_seed`), or from ``generator`` (a NumPy
generator) when one is given, so a seed gives the same weights on every device.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch.backend import to_device
from minitorch.nn.parameter import data_array
from minitorch.random import generator as _global_generator
from minitorch.tensor import Tensor

_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
          "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which a nonlinearity shrinks the variance it passes on: PyTorch's table."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; "
                         f"choose from {sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[nonlinearity]


def _fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in and out times the kernel size."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return _fans(tensor)[0 if mode == "fan_in" else 1]


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write host ``values`` into the tensor's array, on its device and in its dtype."""
    target = data_array(tensor)
    target[...] = to_device(np.asarray(values).astype(target.dtype, copy=False), tensor.device)
    return tensor


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return _global_generator() if generator is None else generator


def _float_target(tensor: Tensor, op: str) -> None:
    """Random draws need a float tensor: an integer one would silently get them truncated (PyTorch refuses).
    Checked before drawing, so a refused call leaves the generator where it was."""
    if tensor.dtype.kind != "f":
        raise TypeError(f"{op}: tensor has dtype {tensor.dtype}; random initialisation needs a floating-point tensor")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Fill from U(a, b)."""
    _float_target(tensor, "uniform_")
    return _fill(tensor, _rng(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    """Fill from N(mean, std**2)."""
    _float_target(tensor, "normal_")
    if not std >= 0:  # NumPy's own error ("scale < 0") names neither the function nor the value
        raise ValueError(f"normal_: std must be >= 0, got {std!r}")
    return _fill(tensor, _rng(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    data_array(tensor)[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), keeping variance through a layer
    in both directions."""
    fan_in, fan_out = _fans(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """He: U(-b, b) with b = gain * sqrt(3 / fan), gain that of ``nonlinearity`` (slope ``a`` for leaky_relu)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """He: N(0, std**2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)


def default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's Linear/Conv2d reset: Kaiming-uniform with a=sqrt(5), bias U(+-1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(_fans(weight)[0])
        uniform_(bias, -bound, bound)
