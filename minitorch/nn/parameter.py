"""Parameter: a leaf Tensor that a Module registers as trainable; and the raw arrays behind tensors.

:func:`data_array` and :func:`grad_array` are the one place where the
optimizers, ``nn.utils`` and ``nn.init`` reach the arrays that a tensor's values
and gradient live in, to update them in place.
"""
from __future__ import annotations

from typing import Any

from minitorch.backend import default_device, get_default_dtype
from minitorch.factories import zeros
from minitorch.tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)  # a Tensor's memory is shared, as in PyTorch

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def new_parameter(*shape: int, device: str | None = None) -> Parameter:
    """An uninitialised parameter of the default dtype on the default device (a layer's init fills it)."""
    return Parameter(zeros(*shape, dtype=get_default_dtype(), device=device or default_device()))


def data_array(t: Tensor) -> Any:
    """The NumPy or CuPy array holding ``t``'s values, for a caller about to write into it.

    Writing changes ``t`` in place, so ``t``'s version counter moves: a backward
    that saved ``t`` before the write then refuses to run with stale values.
    """
    t._bump()
    return t._data


def grad_array(t: Tensor) -> Any:
    """The array holding ``t.grad`` (writing into it changes the gradient), or None when there is none."""
    return None if t._grad is None else t._grad._data
