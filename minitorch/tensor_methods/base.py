"""TensorBase: the fields of every Tensor, and the engine hooks that the method mixins call.

``Tensor`` (in :mod:`minitorch.tensor`) is built on the mixins of this
package, so they cannot import it back.  They reach the engine through three
methods that ``Tensor`` defines: :meth:`_op` (apply an op), :meth:`_wrap_array`
(a tensor around an array) and :meth:`_lift_value` (a number or array as a
tensor beside this one).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minitorch.autograd import Function, Version
from minitorch.backend import device, device_object_of

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


class TensorBase:
    """An array with its gradient, the op that made it, and an in-place change counter."""

    # _data: the array; _grad: the gradient Tensor or None; _version: the in-place change counter, made
    # when first needed (an op saves the tensor, or another tensor shares its memory), else None
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "retains_grad", "_version", "__weakref__")
    _data: Any  # a numpy.ndarray or cupy.ndarray
    _grad: Tensor | None
    requires_grad: bool
    _ctx: Function | None
    retains_grad: bool
    _version: Version | None

    # ------------------------------------------------- engine hooks (Tensor defines them)
    def _op(self, fn: Function, *others: Tensor) -> Tensor:
        """``fn`` applied to this tensor and ``others``, recorded for backward when needed."""
        raise NotImplementedError

    def _wrap_array(self, array: Any, version: Version | None = None) -> Tensor:
        """A new tensor around ``array``, not copied."""
        raise NotImplementedError

    def _lift_value(self, value: Any) -> Tensor:
        """``value`` (a tensor, number or array) as a tensor beside this one."""
        raise NotImplementedError

    # ------------------------------------------------------------ version counter
    def _version_counter(self) -> Version:
        """The version counter, made now if nothing needed it before."""
        if self._version is None:
            self._version = Version()
        return self._version

    def _shared_version(self) -> Version:
        """The version counter, marked as shared by another tensor on this memory."""
        counter = self._version_counter()
        counter.shared = True
        return counter

    def _bump(self) -> None:
        """Note an in-place change (no counter yet: nothing saved or shares this memory)."""
        if self._version is not None:
            self._version.value += 1

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> device:
        return device_object_of(self._data)


def int_dim(dim: Any, op: str) -> int:
    """``dim`` as an int, or a TypeError naming ``op``."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    return int(dim)


def raw_index(index: Any) -> Any:
    """An index with its tensors replaced by their arrays, and a 0-d integer tensor by its int (as PyTorch
    takes it: ``x[0, :, i]`` with ``i = tensor(2)`` is ``x[0, :, 2]``)."""
    if isinstance(index, TensorBase):
        return _raw(index)
    if isinstance(index, tuple):
        return tuple(_raw(i) if isinstance(i, TensorBase) else i for i in index)
    return index


def _raw(t: TensorBase) -> Any:
    data = t._data
    return int(data) if data.ndim == 0 and data.dtype.kind in "iu" else data
