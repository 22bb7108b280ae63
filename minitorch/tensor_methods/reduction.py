"""Reductions: ``sum``, ``mean``, ``max``/``min`` (``(values, indices)`` along a dim, as in PyTorch), ``norm``."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from minitorch import return_types
from minitorch.backend import get_array_module
from minitorch.ops import reduction as R
from minitorch.ops._checks import DimensionError, check_dim
from minitorch.tensor_methods.base import TensorBase, int_dim

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


class ReductionMethods(TensorBase):
    __slots__ = ()

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
            keepdims: bool | None = None) -> Tensor:
        """The sum over all elements or ``dim`` (an int or a tuple), in ``dtype`` when given (the input is
        cast first); bools and integers sum in int64, as in PyTorch."""
        target = (np.dtype(np.int64) if self.dtype.kind in "biu" else self.dtype) if dtype is None else np.dtype(dtype)
        x = self if target == self.dtype else self.to(target)  # type: ignore[attr-defined]
        return x._op(R.Sum(_axis(dim, axis), _keep(keepdim, keepdims)))

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> Tensor:
        return self._op(R.Mean(_axis(dim, axis), _keep(keepdim, keepdims)))

    def max(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.max:
        """The largest value, or with ``dim`` the named tuple ``(values, indices)`` along it, as in PyTorch;
        with a tensor in place of ``dim``, the elementwise maximum of the two (``maximum``), as ``torch.max(a, b)``.

        ``amax`` reduces several dims at once.  Without ``dim`` tied maxima share
        the gradient; along ``dim`` it goes to the returned index.
        """
        return self._extreme(dim, keepdim, True)

    def min(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.min:
        """The smallest value, or with ``dim`` the named tuple ``(values, indices)`` along it; with a tensor
        in place of ``dim``, the elementwise minimum (``minimum``)."""
        return self._extreme(dim, keepdim, False)

    def _extreme(self, dim, keepdim: bool, largest: bool):
        name = "max" if largest else "min"
        if dim is None:
            return self._op((R.Max if largest else R.Min)(None, False))
        if isinstance(dim, TensorBase):  # max(a, b): PyTorch's other form, elementwise
            if keepdim:
                raise TypeError(f"{name}: keepdim goes with an int dim, not with a second tensor")
            this, other = cast("Tensor", self), cast("Tensor", dim)
            return this.maximum(other) if largest else this.minimum(other)
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}; a{name} reduces several dims")
        op = R.MaxAlong(int_dim(dim, name), bool(keepdim), largest)
        values = self._op(op)
        result = return_types.max if largest else return_types.min
        return result(values, self._wrap_array(op.indices))

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Maximum over one or several dims (all by default); ties share the gradient."""
        return self._op(R.Max(dim, keepdim))

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self._op(R.Min(dim, keepdim))

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        """The p-norm (2 by default: "fro") over all elements or ``dim``; p may be any number > 0 or inf."""
        if p == "fro" or p is None:
            p = 2
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
            raise ValueError(f"norm: p must be a number > 0 (or inf, or 'fro'), got {p!r}")
        if self._data.dtype.kind != "f":
            raise TypeError(f"norm: expected a floating-point tensor, got dtype {self._data.dtype}")
        return self._op(R.Norm(float(p), dim, keepdim))

    # ----------------------------------------------- indices (no gradient)
    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        """Index of the first maximum, over everything (flattened) or along ``dim``."""
        return self._arg(self._data.argmax, "argmax", _axis(dim, axis), _keep(keepdim, keepdims))

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        return self._arg(self._data.argmin, "argmin", _axis(dim, axis), _keep(keepdim, keepdims))

    def _arg(self, pick: Callable[..., Any], name: str, dim: Any, keepdim: bool) -> Tensor:
        if dim is None:
            index = pick()
            shape = (1,) * self.ndim if keepdim else ()
            return self._wrap_array(get_array_module(self._data).asarray(index, dtype=np.int64).reshape(shape))
        axis = check_dim(int_dim(dim, name), self.ndim, name)
        if self.ndim == 0:  # a 0-d tensor is its own extreme, at index 0
            return self._wrap_array(get_array_module(self._data).zeros((), dtype=np.int64))
        if self._data.shape[axis] == 0:
            raise DimensionError(f"{name}: dim {dim} of the tensor of shape {self.shape} is empty")
        return self._wrap_array(pick(axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


def _axis(dim, axis):
    """PyTorch's ``dim`` or NumPy's ``axis``, whichever was given."""
    return axis if dim is None else dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return keepdim if keepdims is None else keepdims
