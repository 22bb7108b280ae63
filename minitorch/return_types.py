"""Named tuples returned by ops that give several tensors, as ``torch.return_types``."""
from __future__ import annotations

from collections import namedtuple

# ``values, indices = x.max(dim)``, or ``_, predicted = minitorch.max(outputs, 1)``
max = namedtuple("max", ["values", "indices"])  # noqa: A001 - PyTorch's name
min = namedtuple("min", ["values", "indices"])  # noqa: A001
sort = namedtuple("sort", ["values", "indices"])
topk = namedtuple("topk", ["values", "indices"])
median = namedtuple("median", ["values", "indices"])

__all__ = ["max", "median", "min", "sort", "topk"]
