"""More factories, as PyTorch's: ``full``, ``empty``, ``eye``, ``linspace``, ``randperm``, the ``*_like`` family
(``full_like``, ``rand_like``, ``randn_like``...), and the value tests ``isnan``, ``isinf``, ``isfinite``,
``isclose``, ``equal``.

Random ones draw from minitorch's generator (:mod:`minitorch.random`), so
``manual_seed`` makes them repeat; the values differ from PyTorch's for the
same seed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minitorch import random as _random
from minitorch.backend import cast_array, check_device, get_default_dtype, to_device
from minitorch.factories import _size
from minitorch.math_functions import _tensor
from minitorch.tensor import Tensor


def _made(arr: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
    t = Tensor(to_device(arr, check_device(device)))
    return t.requires_grad_(True) if requires_grad else t


def _fill_dtype(fill_value: Any, dtype: Any) -> np.dtype:
    """The dtype of ``full``: given, else that of the number (bool, int64, or the default float)."""
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(fill_value, (float, np.floating)):
        return get_default_dtype()
    raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype from the number unless given)."""
    shape = _size("full", (size,) if not isinstance(size, (tuple, list)) else tuple(size))
    dt = _fill_dtype(fill_value, dtype)
    return _made(np.full(shape, cast_array(fill_value, dt)), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` whose values are unspecified (zeros here, never garbage)."""
    dt = get_default_dtype() if dtype is None else np.dtype(dtype)
    return _made(np.zeros(_size("empty", size), dtype=dt), device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The n x m (n x n) matrix with ones on the diagonal."""
    rows, cols = _size("eye", (n, n if m is None else m))
    dt = get_default_dtype() if dtype is None else np.dtype(dtype)
    return _made(np.eye(rows, cols, dtype=dt), device, requires_grad)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end``, both included (default float dtype)."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"linspace: {name} must be a number, got {type(value).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be an int >= 0, got {steps!r}")
    dt = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dt.kind in "iu":  # PyTorch casts the ends to the integer dtype (truncated, wrapped), then each step
        start, end = (int(cast_array(int(v), dt)) for v in (start, end))
    values = np.linspace(float(start), float(end), int(steps))
    if dt.kind in "iu":
        values = np.trunc(values)
    return _made(values.astype(dt), device, requires_grad)


def randperm(n: int, *, dtype: Any = np.int64, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be an int >= 0, got {n!r}")
    return _made(_random.generator().permutation(int(n)).astype(np.dtype(dtype)), device, requires_grad)


# --------------------------------------------------------------------------- like another tensor
def _like(op: str, input: Any, fill: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    x = _tensor(input, op)
    dt = x.dtype if dtype is None else np.dtype(dtype)
    arr = fill(x.shape, dt)
    return _made(np.asarray(arr, dtype=dt), x.device if device is None else device, requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like("full_like", input, lambda s, dt: np.full(s, cast_array(fill_value, dt)), dtype, device, requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("empty_like", input, lambda s, dt: np.zeros(s, dtype=dt), dtype, device, requires_grad)


def _float_like(op: str, input: Any, dtype: Any) -> None:
    dt = _tensor(input, op).dtype if dtype is None else np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{op}: expected a floating-point dtype, got {dt} (pass dtype=)")


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of ``input``'s shape (and dtype, device)."""
    _float_like("rand_like", input, dtype)
    return _like("rand_like", input, lambda s, dt: _random.generator().random(s), dtype, device, requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of ``input``'s shape (and dtype, device)."""
    _float_like("randn_like", input, dtype)
    return _like("randn_like", input, lambda s, dt: _random.generator().standard_normal(s), dtype, device,
                 requires_grad)


def randint_like(input: Tensor, low: int, high: int | None = None, *, dtype: Any = None,
                 device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (``randint_like(x, high)`` from 0) of ``input``'s shape."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint_like: high ({high}) must be greater than low ({low})")
    return _like("randint_like", input, lambda s, dt: _random.generator().integers(low, high, s), dtype, device,
                 False)


# --------------------------------------------------------------------------- value tests (no gradient)
def isnan(input: Tensor) -> Tensor:
    return _tensor(input, "isnan").isnan()


def isinf(input: Tensor) -> Tensor:
    return _tensor(input, "isinf").isinf()


def isfinite(input: Tensor) -> Tensor:
    return _tensor(input, "isfinite").isfinite()


def isclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    return _tensor(input, "isclose").isclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both have the same shape and values (a Python bool)."""
    return _tensor(input, "equal").equal(other)


__all__ = [
    "empty", "empty_like", "equal", "eye", "full", "full_like", "isclose", "isfinite", "isinf", "isnan",
    "linspace", "rand_like", "randint_like", "randn_like", "randperm",
]
