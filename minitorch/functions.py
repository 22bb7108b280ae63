"""Module-level forms of tensor operations: ``minitorch.cat``, ``minitorch.max(x, 1)``..., as in ``torch``.

Most are the Tensor methods under PyTorch's function names; ``cat`` and
``stack`` join several tensors and exist only here.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from minitorch import return_types
from minitorch.backend import get_array_module
from minitorch.ops import shape as S
from minitorch.promotion import promote_types
from minitorch.tensor import Tensor, _lift, apply


def _tensors(op: str, tensors: Sequence[Tensor]) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: tensors must be a list or tuple of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: tensors[{i}] is a {type(t).__name__}, not a Tensor")
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"{op}: the tensors are on different devices ({sorted(map(str, devices))})")
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) == 1:
        return list(tensors)
    common = functools.reduce(promote_types, dtypes)  # as PyTorch: float32 with int64 is float32
    return [t if t._data.dtype == common else t.to(common) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension (all other sizes must agree), in their common dtype."""
    return apply(S.Cat(dim), *_tensors("cat", tensors))


concat = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dimension, in their common dtype."""
    return apply(S.Stack(dim), *_tensors("stack", tensors))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmin(dim, keepdim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001
    return input.sum(dim, keepdim, dtype=dtype)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return input.mean(dim, keepdim)


def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.max:  # noqa: A001
    """The largest value, or ``(values, indices)`` along ``dim``: ``_, predicted = max(outputs, 1)``; or, given a
    second tensor, the elementwise maximum: ``max(a, b)`` is ``maximum(a, b)``, as in PyTorch."""
    return input.max(dim, keepdim)


def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.min:  # noqa: A001
    """The smallest value, ``(values, indices)`` along ``dim``, or the elementwise minimum with a second tensor."""
    return input.min(dim, keepdim)


def exp(input: Tensor) -> Tensor:
    return input.exp()


def log(input: Tensor) -> Tensor:
    return input.log()


def allclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether |input - other| <= atol + rtol * |other| everywhere (a Python bool, no gradient)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"allclose: input must be a Tensor, got {type(input).__name__}")
    other = _lift(other, input)
    xp = get_array_module(input._data)
    return bool(xp.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def numel(input: Tensor) -> int:
    return input.numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


__all__ = [
    "allclose", "argmax", "argmin", "cat", "concat", "exp", "flatten", "is_tensor", "log", "max", "mean", "min",
    "numel", "stack", "sum",
]
