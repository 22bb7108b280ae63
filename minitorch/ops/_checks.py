"""Input validation shared by the layer ops: errors that name the op and the shapes."""
from __future__ import annotations

from typing import Any


def check_float(op: str, **arrays: Any) -> None:
    """Every array must be floating point, and all of one dtype."""
    first = None
    for a in arrays.values():  # fast path: the usual case costs a few comparisons
        if a is not None:
            if first is None:
                first = a.dtype
            elif a.dtype != first:
                break
    else:
        if first is None or first.kind == "f":
            return
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    for name, dt in dtypes.items():
        if dt.kind != "f":
            raise TypeError(f"{op}: {name} has dtype {dt}; expected a floating-point tensor")
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n} {d}" for n, d in dtypes.items())
        raise TypeError(f"{op}: dtypes differ ({listed}); convert with .to(dtype) or Module.to(dtype)")


class DimensionError(IndexError, ValueError):
    """A dim outside a tensor's dimensions.  PyTorch raises IndexError; it is also a ValueError, what
    minitorch raised before, so code written against either catches it."""


def check_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` as a non-negative index below ``ndim``; a 0-d tensor takes -1 and 0 (both mean "itself") as
    in PyTorch, and gives 0."""
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise DimensionError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions "
                             f"(expected to be in range of [{-bound}, {bound - 1}])")
    return dim % bound
