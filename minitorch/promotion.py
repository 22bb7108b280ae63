"""Type promotion: the dtype an op on several operands computes in, by PyTorch's rules (``torch.result_type``).

NumPy and PyTorch agree inside a category (bool < integer < floating point:
int8 with uint8 is int16, float32 with float64 is float64) but not across
them, and not on 0-d arrays:

* a floating dtype with an integer one is the floating dtype (float32 with
  int64 is float32; NumPy says float64);
* operands are ranked as dimensioned tensors, then 0-d tensors, then Python
  numbers.  A lower rank changes the result only when its category is higher:
  ``ones(3) * tensor(2., dtype=float64)`` is float32, but ``arange(3) * tensor(2.)``
  is float32 too (a float joins the integers).  NumPy 2 lets a 0-d float64 array
  promote a float32 one;
* a Python number is "weak": ``int`` stands for int64 and ``float`` for the
  default float dtype, and only when their category is higher than the tensors'.

:func:`result_type` is the one rule that every binary op, comparison, ``cat`` and
``stack`` follows (see :mod:`minitorch.tensor`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minitorch.backend import get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for the integers, 2 for floating point."""
    try:
        return _CATEGORY[dtype.kind]
    except KeyError:
        raise TypeError(f"unsupported dtype {dtype}: minitorch computes with bool, integer and float tensors") \
            from None


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """``torch.promote_types``: the smallest dtype that both fit in, where a float with an integer is the float."""
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def scalar_dtype(value: bool | int | float) -> np.dtype:
    """The dtype a Python number stands for: bool, int64, or the default float dtype."""
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return np.dtype(np.int64)
    return get_default_dtype()


def result_type(*operands: Any) -> np.dtype:
    """``torch.result_type`` of tensors, arrays and Python numbers (see the module docstring)."""
    dimensioned = zero_dim = number = None
    for x in operands:
        if isinstance(x, (bool, int, float)):
            number = _join(number, scalar_dtype(x))
            continue
        data = getattr(x, "_data", x)
        if data.ndim:
            dimensioned = _join(dimensioned, data.dtype)
        else:
            zero_dim = _join(zero_dim, data.dtype)
    result = _combine(dimensioned, _combine(zero_dim, number))
    if result is None:
        raise TypeError("result_type: expected at least one operand")
    return result


def _join(current: np.dtype | None, dtype: np.dtype) -> np.dtype:
    return dtype if current is None else promote_types(current, dtype)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The dtype of operands of a higher rank (``higher``) joined by ones of a lower rank (``lower``)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":  # the lower rank brings a higher category
        return promote_types(higher, lower)
    return higher  # both integers: the higher rank decides
