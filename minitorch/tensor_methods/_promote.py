"""The dtype two or more tensors combine to, by PyTorch's rule (for the ops of this package that
combine tensors: ``maximum``, ``where``, ``clamp`` with tensor bounds...).

Categories rank bool < integer < floating.  The result takes the highest
category present; within it, tensors with dimensions decide, and 0-d tensors
(Python numbers arrive here as 0-d tensors of a "weak" dtype, see
``Tensor._lift_value``) count only when no tensor with dimensions reaches
that category.  ``ones(3) * tensor(2., dtype=float64)`` is float32, so.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_dtype(*arrays: Any) -> np.dtype:
    """PyTorch's result dtype for arrays combined elementwise."""
    top = max(_CATEGORY[a.dtype.kind] for a in arrays)
    leading = [a.dtype for a in arrays if _CATEGORY[a.dtype.kind] == top]
    dimensioned = [a.dtype for a in arrays if _CATEGORY[a.dtype.kind] == top and a.ndim > 0]
    return np.result_type(*(dimensioned or leading))
