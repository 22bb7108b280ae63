"""The indices behind ``sort``, ``argsort``, ``topk`` and ``median`` along a dim, chosen as PyTorch does.

These compute no values and record nothing: the values are the input
gathered at these indices (:class:`minitorch.ops.indexing_ops.Gather`), so
the gradient goes to exactly the elements chosen.

Ties: ``sort`` is stable in both directions (equal elements keep their
order), which is what PyTorch's CPU sort gives; NaN sorts as the largest
value.  ``topk`` takes the first ``k`` of that order.  ``median`` takes the
lower of the two middle elements, and a row holding a NaN gives its first NaN.
"""
from __future__ import annotations

from typing import Any

from minitorch.backend import get_array_module


def sort_indices(a: Any, axis: int, descending: bool) -> Any:
    """int64 indices that sort ``a`` along ``axis``, stably (equal elements in their original order)."""
    xp = get_array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype("int64", copy=False)
    # a stable ascending sort of the reversed array, reversed, is a stable descending sort
    n = a.shape[axis]
    order = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(order, axis)).astype("int64", copy=False)


def topk_indices(a: Any, k: int, axis: int, largest: bool) -> Any:
    """Indices of the ``k`` largest (or smallest) along ``axis``, best first."""
    order = sort_indices(a, axis, descending=largest)
    return get_array_module(a).take(order, range(k), axis=axis)


def median_indices(a: Any, axis: int) -> Any:
    """Index of the lower median along ``axis`` (kept as a size-1 axis); a row with a NaN gives its first NaN."""
    xp = get_array_module(a)
    n = a.shape[axis]
    order = sort_indices(a, axis, descending=False)
    index = xp.take(order, [(n - 1) // 2], axis=axis)
    if a.dtype.kind == "f":
        nan = xp.isnan(a)
        has_nan = nan.any(axis=axis, keepdims=True)
        index = xp.where(has_nan, nan.argmax(axis=axis, keepdims=True), index)
    return index.astype("int64", copy=False)
