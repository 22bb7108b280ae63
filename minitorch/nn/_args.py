"""Checking the hyper-parameters that layers and their functional forms share, with errors that name them."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch.tensor import Tensor


def pair(value: Any, name: str, op: str, minimum: int = 1) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``: a kernel size, stride, padding or dilation per spatial axis."""
    if type(value) is int and value >= minimum:  # the common cases first: this runs on every forward
        return (value, value)
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int \
            and value[0] >= minimum and value[1] >= minimum:
        return value
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        shown = items[0] if len(set(items)) == 1 else tuple(int(v) for v in items)
        raise ValueError(f"{op}: {name} must be {'positive' if minimum else 'non-negative'}, got {shown}")
    return (int(items[0]), int(items[1]))


def conv_padding(padding: Any, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                 op: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, ``'valid'`` (none) or ``'same'``.

    ``'same'`` pads ``dilation * (kernel - 1)`` per axis, the odd one at the
    bottom or right, as PyTorch does; it needs stride 1.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of 'same', 'valid'")
    ph, pw = pair(padding, "padding", op, minimum=0)
    return (ph, ph, pw, pw)


def probability(p: Any, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def positive_int(value: Any, name: str, op: str) -> int:
    """A size or count: an int >= 1 (a layer size of 0 would divide by zero in init), or an error naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{op}: {name} must be at least 1, got {value!r}")
    return int(value)


def finite_float(value: Any, name: str, op: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be a finite number, got {value!r}")
    return float(value)


def float_tensor(input: Any, op: str) -> Tensor:
    """``input`` itself, once checked to be a floating-point Tensor (the smooth activations and the
    normalisations have no integer form, as in PyTorch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {input.dtype}; expected a floating-point tensor")
    return input
