"""Module-level reductions and orderings: ``minitorch.var``, ``std``, ``prod``, ``cumsum``, ``norm``,
``logsumexp``, ``any``, ``all``, ``count_nonzero``, ``sort``, ``argsort``, ``topk``, ``median``, as in ``torch``.

Each is the Tensor method of the same name (see
:mod:`minitorch.tensor_methods.statistics`).
"""
from __future__ import annotations

from typing import Any

from minitorch import return_types
from minitorch.math_functions import _tensor
from minitorch.tensor import Tensor


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    return _tensor(input, "var").var(dim, unbiased, keepdim, correction=correction)


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: Any = None) -> Tensor:
    return _tensor(input, "std").std(dim, unbiased, keepdim, correction=correction)


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    x = _tensor(input, "var_mean")
    return x.var(dim, unbiased, keepdim, correction=correction), x.mean(_mean_dim(dim), keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    x = _tensor(input, "std_mean")
    return x.std(dim, unbiased, keepdim, correction=correction), x.mean(_mean_dim(dim), keepdim)


def _mean_dim(dim: Any) -> Any:
    return None if isinstance(dim, bool) else dim


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    return _tensor(input, "prod").prod(dim, keepdim, dtype=dtype)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _tensor(input, "cumsum").cumsum(dim, dtype=dtype)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    x = _tensor(input, "norm")
    return (x if dtype is None else x.to(dtype)).norm(p, dim, keepdim)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return _tensor(input, "logsumexp").logsumexp(dim, keepdim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    return _tensor(input, "any").any(dim, keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    return _tensor(input, "all").all(dim, keepdim)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    return _tensor(input, "count_nonzero").count_nonzero(dim)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> return_types.sort:
    return _tensor(input, "sort").sort(dim, descending, stable)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return _tensor(input, "argsort").argsort(dim, descending, stable)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> return_types.topk:
    return _tensor(input, "topk").topk(k, dim, largest, sorted)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.median:
    return _tensor(input, "median").median(dim, keepdim)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The largest values over ``dim`` (an int, a tuple or None for all); ties share the gradient equally."""
    return _tensor(input, "amax").amax(dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _tensor(input, "amin").amin(dim, keepdim)


__all__ = ["all", "amax", "amin", "any", "argsort", "count_nonzero", "cumsum", "logsumexp", "median", "norm", "prod",
           "sort", "std", "std_mean", "topk", "var", "var_mean"]
