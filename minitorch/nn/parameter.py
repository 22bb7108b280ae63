"""Parameter: a leaf Tensor that a Module registers as trainable; and the raw arrays behind tensors.

:func:`data_array` and :func:`grad_array` are the one place where the
optimizers, ``nn.utils`` and ``nn.init`` reach the arrays that a tensor's values
and gradient live in, to update them in place.
"""
from __future__ import annotations

from typing import Any

from minitorch.tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def data_array(t: Tensor) -> Any:
    """The NumPy or CuPy array holding ``t``'s values (writing into it changes ``t``)."""
    return t.data


def grad_array(t: Tensor) -> Any:
    """The array holding ``t.grad`` (writing into it changes the gradient), or None when there is none."""
    return t.grad
