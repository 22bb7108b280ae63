"""Parameter: a leaf Tensor that a Module registers as trainable."""
from __future__ import annotations

from typing import Any

from minitorch.tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)  # a Tensor's memory is shared, as in PyTorch

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
