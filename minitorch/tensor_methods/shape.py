"""Shape methods: views and rearrangements (``reshape``, ``flatten``, ``squeeze``, ``transpose``, indexing)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from minitorch.backend import get_array_module
from minitorch.ops import reduction as R
from minitorch.ops import shape as S
from minitorch.ops._checks import check_dim
from minitorch.tensor_methods.base import TensorBase, int_dim, raw_index

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


class ShapeMethods(TensorBase):
    __slots__ = ()

    @property
    def T(self) -> Tensor:
        return self._op(S.Transpose(None))

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape and min(shape) < -1:  # NumPy reads any negative size as -1; PyTorch refuses it
            raise ValueError(f"reshape: invalid size {min(shape)} in shape {shape}; only -1 may be negative")
        return self._op(S.Reshape(shape))

    def view(self, *shape: Any) -> Tensor:
        """This tensor's memory read as ``shape``: the result always shares it, so a write through either one
        shows in the other.

        ``reshape`` copies when the memory layout cannot be read as the new shape (``x.T.view(-1)``); a
        view that did so would lose every write made through it.  So that case is an error, as in PyTorch:
        call ``reshape``, or ``contiguous()`` first.
        """
        out = self.reshape(*shape)  # checks the shape and fills in a -1
        data = self._data
        if data.size and not get_array_module(data).may_share_memory(out._data, data):  # reshape made a copy
            itemsize = data.itemsize
            raise RuntimeError(
                f"view: view size {out.shape} is not compatible with input tensor's size {data.shape} and stride "
                f"{tuple(s // itemsize for s in data.strides)} (at least one dimension spans across two "
                "contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims ``start_dim..end_dim`` merged into one.  A dim outside the tensor is an error, as in PyTorch:
        taken modulo the rank, ``flatten(1, 3)`` of a 2-D tensor would silently merge nothing."""
        shape = self._data.shape
        nd = len(shape)
        start, end = check_dim(start_dim, nd, "flatten"), check_dim(end_dim, nd, "flatten")
        if nd == 0:
            return self.reshape(1)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
        merged = math.prod(shape[start:end + 1])  # not -1: with a zero-size dim elsewhere NumPy cannot infer it
        return self.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        """A view with a new dimension of size 1 at ``dim`` (-ndim-1 <= dim <= ndim)."""
        shape = self._data.shape
        nd = len(shape) + 1
        dim = int_dim(dim, "unsqueeze")
        if not -nd <= dim < nd:
            raise ValueError(f"unsqueeze: dim {dim} is out of range for a tensor of {nd - 1} dimensions")
        dim %= nd
        return self.reshape(shape[:dim] + (1,) + shape[dim:])

    def squeeze(self, dim: Any = None) -> Tensor:
        """A view without the size-1 dimensions (all, or those of ``dim`` that have size 1)."""
        shape = self._data.shape
        dims: Sequence[int]
        if dim is None:
            dims = [i for i, n in enumerate(shape) if n == 1]
        else:
            dims = R.normalize_axis(dim if isinstance(dim, (tuple, list)) else int_dim(dim, "squeeze"),
                                    len(shape), "squeeze")
            dims = [i for i in dims if shape and shape[i] == 1]
        return self.reshape(tuple(n for i, n in enumerate(shape) if i not in dims))

    def transpose(self, dim0: int = 0, dim1: int = 1) -> Tensor:
        """Swap two dimensions (PyTorch semantics); see :meth:`permute` for the general case."""
        nd = self.ndim
        axes = list(range(nd))
        for name, d in (("dim0", dim0), ("dim1", dim1)):
            if not -max(nd, 1) <= int_dim(d, "transpose") < max(nd, 1):
                raise ValueError(f"transpose: {name} {d} is out of range for a tensor of {nd} dimensions")
        if nd == 0:
            return cast("Tensor", self)  # nothing to swap
        dim0, dim1 = dim0 % nd, dim1 % nd
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self._op(S.Transpose(tuple(axes)))

    def permute(self, *dims: int) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return self._op(S.Transpose(tuple(dims)))

    def __getitem__(self, index: Any) -> Tensor:
        return self._op(S.GetItem(raw_index(index)))
