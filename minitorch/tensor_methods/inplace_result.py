"""In-place forms of any out-of-place method: ``x.sqrt_()``, ``x.clamp_(0, 1)``, ``x.masked_fill_(m, 0)``...

:meth:`InPlaceResultMethods._inplace_result` writes an out-of-place result
back into the tensor's memory, so each op has one definition and its in-place
form costs one line.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from minitorch import autograd
from minitorch.ops import copy as C
from minitorch.tensor_methods.base import TensorBase
from minitorch.tensor_methods.inplace import InPlaceMethods

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


class InPlaceResultMethods(InPlaceMethods):
    __slots__ = ()

    @property
    def _as_tensor(self) -> Tensor:
        """This object, typed as the Tensor it is (a mixin cannot import Tensor at run time)."""
        return cast("Tensor", self)

    def _inplace_result(self, name: str, compute: Callable[[Tensor], Tensor], *others: Any) -> Tensor:
        """Write ``compute(self)`` into this tensor's memory (``others``: the tensors ``compute`` also reads).

        Without a gradient to record the result is simply written.  Otherwise
        ``compute`` runs on a clone (the ops it records may keep their input,
        which is about to be overwritten) and the write is recorded as
        ``copy_`` records it, so this tensor's history becomes the computation.
        A leaf that requires grad is refused, as by every in-place method.
        """
        others_need = any(isinstance(o, TensorBase) and o.requires_grad for o in others)
        if not (autograd.is_grad_enabled() and (self.requires_grad or others_need)):
            with autograd.no_grad():
                out = compute(self._as_tensor)
            self._write(out._data, name)
            return self._as_tensor
        self._check_writable(name)
        self._inplace(C.CopyFrom(), compute(self._as_tensor.clone()), name)
        return self._as_tensor

    def _reshape_inplace(self, name: str, shape: tuple[int, ...]) -> Tensor:
        """Take ``shape`` (a reshape of this tensor's), keeping the memory (``unsqueeze_``, ``squeeze_``)."""
        if self.requires_grad and autograd.is_grad_enabled():
            self._check_writable(name)
            view = self._as_tensor.reshape(shape)
            self._data, self._ctx = view._data, view._ctx
        else:
            self._data = self._data.reshape(shape)
        return self._as_tensor
