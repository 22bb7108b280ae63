"""In-place methods: ``add_``, ``copy_``, ``zero_``, ``x[i] = v``...

Each writes into the tensor's memory and bumps its version counter.  When a
gradient must be recorded, the op goes into the graph as if out of place,
applied to a copy of the old value (see :meth:`InPlaceMethods._inplace`).
"""
from __future__ import annotations

import weakref
from typing import Any, TypeVar

import numpy as np

from minitorch import autograd
from minitorch.autograd import Function
from minitorch.backend import may_share_memory
from minitorch.ops import arithmetic as A
from minitorch.ops import copy as C
from minitorch.ops import shape as S
from minitorch.tensor_methods.base import TensorBase, raw_index

# the tensor itself, returned by the in-place methods
Self = TypeVar("Self", bound="InPlaceMethods")


class InPlaceMethods(TensorBase):
    __slots__ = ()

    def add_(self: Self, other: Any, *, alpha: Any = 1) -> Self:
        """self += alpha * other, in this tensor's memory."""
        return self._inplace(A.Add(), other if alpha == 1 else other * alpha, "add_")

    def sub_(self: Self, other: Any, *, alpha: Any = 1) -> Self:
        return self._inplace(A.Sub(), other if alpha == 1 else other * alpha, "sub_")

    def mul_(self: Self, other: Any) -> Self:
        return self._inplace(A.Mul(), other, "mul_")

    def div_(self: Self, other: Any, *, rounding_mode: str | None = None) -> Self:
        if rounding_mode is not None:  # the rounded forms: see MathMethods.div
            return self._inplace_result("div_", lambda t: t.div(other, rounding_mode=rounding_mode), other)  # type: ignore[attr-defined]
        return self._inplace(A.Div(), other, "div_")

    def copy_(self: Self, src: Any) -> Self:
        """Write ``src`` (broadcast, cast to this dtype, moved to this device) into this tensor."""
        if isinstance(src, TensorBase) and src.device != self.device:
            src = src._op(C.Cast(src.dtype, self.device.type))
        return self._inplace(C.CopyFrom(), src, "copy_")

    def fill_(self: Self, value: Any, *, _name: str = "fill_") -> Self:
        if not self._records_inplace(None):
            self._data.fill(value)
            self._bump()
            return self
        return self._inplace(C.CopyFrom(), value, _name)

    def zero_(self: Self) -> Self:
        return self.fill_(0, _name="zero_")

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index: Any, value: Any) -> None:
        value = self._lift_value(value)
        if not self._records_inplace(value):
            S.put(self._data, S.torch_index(raw_index(index)), value._data)
            self._bump()
            return
        self._inplace(S.SetItem(raw_index(index)), value, "__setitem__")

    def _records_inplace(self, other: TensorBase | None) -> bool:
        """Whether an in-place change must be recorded in the graph."""
        return autograd.is_grad_enabled() and (self.requires_grad or (other is not None and other.requires_grad))

    def _check_writable(self, name: str) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place while gradients are "
                "recorded; wrap the change in `with minitorch.no_grad():` (as optimizers do)"
            )

    def _inplace(self: Self, fn: Function, other: Any, name: str) -> Self:
        """Apply ``fn(self, other)`` and write the result into this tensor's memory.

        With no gradient to record, that is all (and the version counter moves).
        Otherwise the op is recorded on a copy of the old value, as if out of place,
        and this tensor becomes its result: its memory is overwritten and its
        ``grad_fn`` is the new op.  A tensor whose memory other tensors share
        (a view, ``.data``, ``detach()``) is refused there, since their graphs
        would not see the change.
        """
        other = self._lift_value(other)
        if not self._records_inplace(other):
            fn.needs_grad = (False, False)
            self._write(fn.forward(self._data, other._data), name)
            return self
        self._check_writable(name)
        if self._version is not None and self._version.shared:
            raise RuntimeError(
                f"{name}: this tensor shares memory with another (a view, .data or detach()), and an in-place "
                "change to it cannot be recorded for backward; use the out-of-place form (x = x + y)"
            )
        old = self._wrap_array(self._data)
        old._ctx, old.requires_grad = self._ctx, self.requires_grad
        out = old._op(fn, other)
        ctx = out._ctx
        if ctx is not None and ctx.saved:  # what the op kept of the old value must survive the write below
            autograd.copy_saved(ctx, lambda a: a is not None and may_share_memory(a, self._data))
        self._write(out._data, name)
        if self.retains_grad and self._ctx is not None:
            self._ctx.retained = None
        assert ctx is not None  # _records_inplace: the op was recorded
        self._ctx, self.requires_grad = ctx, True
        if self.retains_grad:
            ctx.retained = weakref.ref(self)
        return self

    def _write(self, values: Any, name: str) -> None:
        data = self._data
        if values.dtype != data.dtype and not np.can_cast(values.dtype, data.dtype, "same_kind"):
            raise TypeError(f"{name}: the result has dtype {values.dtype}, which cannot be written into a "
                            f"{data.dtype} tensor")
        if values.shape != data.shape and not _broadcasts_to(values.shape, data.shape):
            raise ValueError(f"{name}: the result has shape {values.shape}, which does not fit this tensor's "
                             f"shape {data.shape}")
        data[...] = values
        self._bump()


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False
