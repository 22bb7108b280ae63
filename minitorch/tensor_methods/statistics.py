"""Statistics and order methods: ``var``, ``std``, ``prod``, ``cumsum``, ``logsumexp``, ``any``, ``all``,
``count_nonzero``, ``sort``, ``argsort``, ``topk``, ``median``.

dtypes follow PyTorch: sums and products of integers and bools are int64,
``var``/``std`` refuse integers, ``logsumexp`` turns them into the default
float; ``any``/``all`` give bool, ``count_nonzero`` and indices int64.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minitorch import return_types
from minitorch.backend import get_array_module, get_default_dtype
from minitorch.ops import indexing_ops as I
from minitorch.ops import reduction as R
from minitorch.ops import sorting
from minitorch.ops import statistics as S
from minitorch.tensor_methods.base import TensorBase, int_dim

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


def _dims(dim: Any, op: str, ndim: int) -> Any:
    """``dim`` (None, an int or a tuple/list of ints) as a tuple of axes.

    A 0-d tensor has one element and accepts dim 0 or -1, as in PyTorch:
    reducing over it reduces nothing (no axes).
    """
    if dim is None:
        return R.normalize_axis(None, ndim, op)
    dims = tuple(int_dim(d, op) for d in dim) if isinstance(dim, (tuple, list)) else (int_dim(dim, op),)
    if ndim == 0:
        for d in dims:
            if d not in (0, -1):
                raise ValueError(f"{op}: dim {d} is out of range for a tensor of 0 dimensions")
        return ()
    return R.normalize_axis(dims, ndim, op)


def _numpy_style(op: str, dim: Any, keepdim: bool, kwargs: dict[str, Any],
                 correction: Any = None) -> tuple[Any, bool, Any]:
    """NumPy's spelling of the arguments (``axis``, ``keepdims``, ``ddof``, ``out=None``, ``dtype=None``), as
    ``np.any(t)``, ``np.var(t)``... pass them to a tensor's own method; anything else is refused by name."""
    for name, value in kwargs.items():
        if name == "axis":
            dim = value if dim is None else dim
        elif name == "keepdims":
            keepdim = bool(value)
        elif name == "ddof":
            correction = value if correction is None else correction
        elif name in ("out", "dtype", "where") and value is None or (name == "where" and value is True):
            continue
        else:
            raise TypeError(f"{op}: unexpected argument {name}={value!r}")
    return dim, keepdim, correction


def integer_sum_dtype(dtype: np.dtype) -> np.dtype:
    """What PyTorch sums (and multiplies, and accumulates) a dtype in: int64 for bools and integers."""
    return np.dtype(np.int64) if dtype.kind in "biu" else dtype


class StatisticsMethods(TensorBase):
    __slots__ = ()

    # ---------------------------------------------------------------- spread
    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None, **numpy_style: Any) -> Tensor:
        """Variance over ``dim`` (all by default): sum((x - mean)**2) / (N - correction).

        ``correction`` is 1 by default (Bessel's); ``unbiased=False`` is the old
        spelling of ``correction=0``.  ``var(False)`` reads as ``unbiased=False``,
        as in PyTorch.
        """
        dim, keepdim, correction = _numpy_style("var", dim, keepdim, numpy_style, correction)
        return self._spread(S.Var, "var", dim, unbiased, keepdim, correction)

    def _spread(self, op: Any, name: str, dim: Any, unbiased: bool | None, keepdim: bool, correction: Any) -> Tensor:
        if isinstance(dim, bool):  # x.var(False): the legacy (unbiased) signature
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise ValueError(f"{name}: give either unbiased or correction, not both")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
            raise TypeError(f"{name}: correction must be a number, got {type(correction).__name__}")
        if self.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point tensor, got dtype {self.dtype}")
        return self._op(op(_dims(dim, name, self.ndim), float(correction), bool(keepdim)))

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None, **numpy_style: Any) -> Tensor:
        """Standard deviation: the square root of :meth:`var` (same arguments); 0 where it is 0."""
        dim, keepdim, correction = _numpy_style("std", dim, keepdim, numpy_style, correction)
        return self._spread(S.Std, "std", dim, unbiased, keepdim, correction)

    # ------------------------------------------------------------- sums and products
    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None, **numpy_style: Any) -> Tensor:
        """Product over all elements or one dim; integers multiply in int64.  Zeros get exact gradients."""
        dim, keepdim, _ = _numpy_style("prod", dim, keepdim, numpy_style)
        x = self._accumulating(dtype)
        return x._op(S.Prod(_dims(None if dim is None else int_dim(dim, "prod"), "prod", self.ndim), bool(keepdim)))

    def cumsum(self, dim: Any = None, *, dtype: Any = None, **numpy_style: Any) -> Tensor:
        """Running sums along ``dim``; integers accumulate in int64."""
        dim, _, _ = _numpy_style("cumsum", dim, False, numpy_style)
        if dim is None:
            raise TypeError("cumsum: dim is required")
        x = self._accumulating(dtype)
        (axis,) = _dims(dim, "cumsum", self.ndim) or (0,)
        return x._op(S.CumSum(axis))

    def _accumulating(self, dtype: Any) -> Tensor:
        """This tensor in the dtype a sum or product runs in: ``dtype``, else int64 for integers."""
        target = integer_sum_dtype(self.dtype) if dtype is None else np.dtype(dtype)
        if target == self.dtype:
            return self  # type: ignore[return-value]
        return self.to(target)  # type: ignore[attr-defined]

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``dim``, without overflow (integers as the default float)."""
        x = self if self.dtype.kind == "f" else self.to(get_default_dtype())  # type: ignore[attr-defined]
        return x._op(S.LogSumExp(_dims(dim, "logsumexp", self.ndim), bool(keepdim)))

    # ------------------------------------------------------------- logic (no gradient)
    def any(self, dim: Any = None, keepdim: bool = False, **numpy_style: Any) -> Tensor:
        dim, keepdim, _ = _numpy_style("any", dim, keepdim, numpy_style)
        return self._logical("any", dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False, **numpy_style: Any) -> Tensor:
        dim, keepdim, _ = _numpy_style("all", dim, keepdim, numpy_style)
        return self._logical("all", dim, keepdim)

    def _logical(self, name: str, dim: Any, keepdim: bool) -> Tensor:
        axes = _dims(dim, name, self.ndim)
        xp = get_array_module(self._data)
        out = getattr(self._data.astype(bool), name)(axis=axes, keepdims=bool(keepdim))
        if self.dtype == np.uint8:  # PyTorch keeps uint8 here
            out = out.astype(np.uint8)
        return self._wrap_array(xp.asarray(out))

    def count_nonzero(self, dim: Any = None) -> Tensor:
        """The number of nonzero elements (int64), over everything or ``dim`` (an int or a tuple)."""
        axes = _dims(dim, "count_nonzero", self.ndim)
        xp = get_array_module(self._data)
        return self._wrap_array(xp.asarray((self._data != 0).sum(axis=axes), dtype=np.int64))

    # ------------------------------------------------------------------- order
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> return_types.sort:
        """``(values, indices)`` sorted along ``dim``; stable, NaN last (first when descending)."""
        axis = self._order_axis(dim, "sort")
        if axis is None:
            return return_types.sort(self._op(I.Gather(0, self._zero_index())), self._zero_index_tensor())
        index = sorting.sort_indices(self._data, axis, bool(descending))
        return return_types.sort(self._op(I.Gather(axis, index)), self._wrap_array(index))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        axis = self._order_axis(dim, "argsort")
        if axis is None:
            return self._zero_index_tensor()
        return self._wrap_array(sorting.sort_indices(self._data, axis, bool(descending)))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> return_types.topk:
        """The ``k`` largest (or smallest) along ``dim``, best first; ties in index order."""
        k = int_dim(k, "topk") if not isinstance(k, bool) else k
        axis = self._order_axis(dim, "topk")
        size = 1 if axis is None else self.shape[axis]
        if not 0 <= k <= size:
            raise ValueError(f"topk: k ({k}) is out of range for dim {dim} of size {size}")
        if axis is None:
            values = self._op(I.Gather(0, self._zero_index()))
            return return_types.topk(values, self._zero_index_tensor())
        index = sorting.topk_indices(self._data, k, axis, bool(largest))
        return return_types.topk(self._op(I.Gather(axis, index)), self._wrap_array(index))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.median:
        """The lower median of all elements, or ``(values, indices)`` along ``dim``.

        Over all elements, tied medians share the gradient; along a dim it goes
        to the returned index (PyTorch may pick another among equal values).
        """
        if dim is None:
            if self._data.size == 0:
                if self.dtype.kind == "f":  # NaN, as in PyTorch
                    return self._wrap_array(get_array_module(self._data).full((), np.nan, dtype=self.dtype))
                raise ValueError("median: the tensor is empty")
            return self._op(S.Median(None, False))
        axis = self._order_axis(dim, "median")
        if axis is None:
            return return_types.median(self._op(I.Gather(0, self._zero_index())), self._zero_index_tensor())
        if self.shape[axis] == 0:
            raise ValueError(f"median: dim {dim} of the tensor of shape {self.shape} is empty")
        index = sorting.median_indices(self._data, axis)
        values = self._op(I.Gather(axis, index))
        if not keepdim:
            index = index.squeeze(axis)
            values = values.squeeze(axis)
        return return_types.median(values, self._wrap_array(index))

    def _order_axis(self, dim: Any, op: str) -> int | None:
        """``dim`` as a non-negative axis, or None for a 0-d tensor (a single element, index 0)."""
        axes = _dims(int_dim(dim, op), op, self.ndim)
        return axes[0] if axes else None

    def _zero_index(self) -> Any:
        return get_array_module(self._data).zeros((), dtype=np.int64)

    def _zero_index_tensor(self) -> Tensor:
        return self._wrap_array(self._zero_index())
