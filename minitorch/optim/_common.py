"""Shared by the optimizers: hyper-parameter checks (a bad value fails at construction, naming itself) and lerp."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch.backend import get_array_module


def number(value: Any, name: str, owner: str, low: float = 0.0, high: float | None = None) -> float:
    """A finite real in [low, high) (or [low, inf) without ``high``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    upper = f" and < {high}" if high is not None else ""
    if not math.isfinite(value) or value < low or (high is not None and value >= high):
        raise ValueError(f"{owner}: invalid {name} {value!r}; it must be finite, >= {low:g}{upper}")
    return float(value)


def betas(value: Any, owner: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {value!r}")
    return (number(value[0], "betas[0]", owner, high=1.0), number(value[1], "betas[1]", owner, high=1.0))


def lerp_(start: Any, end: Any, weight: float) -> None:
    """start += weight * (end - start), in place, rounded as PyTorch's ``lerp_`` rounds
    (from the nearer end, so that weight 1 gives ``end`` exactly)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        xp = get_array_module(start)
        xp.subtract(end, (end - start) * (1 - weight), out=start)
