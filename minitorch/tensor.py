"""The Tensor: an array, its gradient, and the op that produced it.

A Tensor wraps a NumPy or CuPy array (``.data``).  Every operator on it calls
:func:`apply`, which runs an op's forward on the raw arrays and, when a
gradient will be needed, remembers the op (``_ctx``) and its inputs.  That
chain of ops is the graph that :meth:`Tensor.backward` walks.
"""
from __future__ import annotations

import weakref
from typing import Any, Iterable

import numpy as np

from minitorch import autograd
from minitorch import random as _random
from minitorch.autograd import Function
from minitorch.backend import (
    check_device,
    device_of,
    get_array_module,
    get_default_dtype,
    is_device_array,
    to_device,
    to_numpy,
)
from minitorch.ops import arithmetic as A
from minitorch.ops import elementwise as E
from minitorch.ops import reduction as R
from minitorch.ops import shape as S


class Tensor:
    """An n-dimensional array that can record the ops applied to it."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "retains_grad", "__weakref__")
    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif not isinstance(data, np.ndarray) and not is_device_array(data):
            data = _host_array(data, None)
        self.data = data
        self.grad = None
        self._ctx = None
        self.retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> "Tensor":
        return apply(S.Transpose(None), self)

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, not dtype {self.data.dtype}")
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach()")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self.retains_grad = True
        if self._ctx is not None:  # the graph holds ops, not tensors: tell the op whose output this is
            self._ctx.retained = weakref.ref(self)

    # ------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into the ``.grad`` of every leaf."""
        autograd.backward(self, grad, retain_graph)

    def detach(self) -> "Tensor":
        return Tensor(self.data)

    # ----------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        return to_numpy(self.data)

    def tolist(self) -> Any:
        return to_numpy(self.data).tolist()

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
        return self.data.reshape(()).item()

    def to(self, target: Any) -> "Tensor":
        """A copy on another device (``"cpu"``/``"cuda"``) or with another float dtype."""
        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda"):
            data = to_device(self.data, check_device(target))
        else:
            data = self.data.astype(np.dtype(target), copy=False)
        if data is self.data:
            return self
        out = Tensor(data)
        out.requires_grad = self.requires_grad and self._ctx is None
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(to_numpy(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind == "f":
            extra += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> "Tensor":
        return apply(A.Add(), self, _lift(other, self))

    def __radd__(self, other: Any) -> "Tensor":
        return apply(A.Add(), _lift(other, self), self)

    def __sub__(self, other: Any) -> "Tensor":
        return apply(A.Sub(), self, _lift(other, self))

    def __rsub__(self, other: Any) -> "Tensor":
        return apply(A.Sub(), _lift(other, self), self)

    def __mul__(self, other: Any) -> "Tensor":
        return apply(A.Mul(), self, _lift(other, self))

    def __rmul__(self, other: Any) -> "Tensor":
        return apply(A.Mul(), _lift(other, self), self)

    def __truediv__(self, other: Any) -> "Tensor":
        return apply(A.Div(), self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> "Tensor":
        return apply(A.Div(), _lift(other, self), self)

    def __matmul__(self, other: Any) -> "Tensor":
        return apply(A.MatMul(), self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> "Tensor":
        return apply(A.MatMul(), _lift(other, self), self)

    def __pow__(self, exponent: Any) -> "Tensor":
        if isinstance(exponent, (int, float)):
            return apply(A.PowScalar(exponent), self)
        return apply(A.Pow(), self, _lift(exponent, self))

    def __rpow__(self, base: Any) -> "Tensor":
        return apply(A.Pow(), _lift(base, self), self)

    def __neg__(self) -> "Tensor":
        return apply(A.Neg(), self)

    def __pos__(self) -> "Tensor":
        return self

    # ----------------------------------------- comparisons (no gradient)
    def _compare(self, other: Any, op) -> "Tensor":
        return Tensor(op(self.data, getattr(other, "data", other)))

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, lambda a, b: a >= b)

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None) -> "Tensor":
        axis = dim if axis is None else axis
        return Tensor(self.data.argmax(axis=axis, keepdims=keepdims))

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None) -> "Tensor":
        axis = dim if axis is None else axis
        return Tensor(self.data.argmin(axis=axis, keepdims=keepdims))

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> "Tensor":
        return apply(R.Sum(_axis(axis, dim), _keep(keepdims, keepdim)), self)

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> "Tensor":
        return apply(R.Mean(_axis(axis, dim), _keep(keepdims, keepdim)), self)

    def max(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> "Tensor":
        """Maximum values (NumPy semantics: no indices; use ``argmax`` for those)."""
        return apply(R.Max(_axis(axis, dim), _keep(keepdims, keepdim)), self)

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply(S.Reshape(shape), self)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        shape = self.data.shape
        nd = len(shape)
        if nd == 0:
            return self.reshape(1)
        start, end = start_dim % nd, end_dim % nd
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def transpose(self, dim0: int = 0, dim1: int = 1) -> "Tensor":
        """Swap two dimensions (PyTorch semantics); see :meth:`permute` for the general case."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return apply(S.Transpose(tuple(axes)), self)

    def permute(self, *dims: int) -> "Tensor":
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return apply(S.Transpose(tuple(dims)), self)

    def __getitem__(self, index: Any) -> "Tensor":
        return apply(S.GetItem(_raw_index(index)), self)

    # ------------------------------------------------------ elementwise math
    def exp(self) -> "Tensor":
        return apply(E.Exp(), self)

    def log(self) -> "Tensor":
        return apply(E.Log(), self)

    def relu(self) -> "Tensor":
        return apply(E.ReLU(), self)

    def tanh(self) -> "Tensor":
        return apply(E.Tanh(), self)

    def sigmoid(self) -> "Tensor":
        return apply(E.Sigmoid(), self)


def apply(fn: Function, *inputs: Tensor) -> Tensor:
    """Run ``fn`` on the inputs' arrays; link the result into the graph if a gradient is needed."""
    needs = tuple([t.requires_grad for t in inputs])
    track = autograd._grad_enabled and True in needs
    fn.needs_grad = needs if track else (False,) * len(inputs)
    result = Tensor.__new__(Tensor)
    result.data = fn.forward(*[t.data for t in inputs])
    result.grad = None
    result.retains_grad = False
    result.requires_grad = track
    if track:
        # The graph links ops to ops: an input made by an op is remembered by that op, so its
        # array is freed as soon as nothing else holds it; only leaves that want a gradient are kept.
        fn.inputs = tuple([(t._ctx or t) if t.requires_grad else None for t in inputs])
        fn.retained = None
        result._ctx = fn
    else:
        result._ctx = None
    return result


def _lift(value: Any, like: Tensor) -> Tensor:
    """Turn a Python number or array into a constant Tensor beside ``like``.

    Python numbers are "weak", as in NumPy and PyTorch: they take ``like``'s
    dtype, except that a float with an integer tensor gives the default float.
    """
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like.data)
    kind = like.data.dtype.kind
    if isinstance(value, (int, float, bool)):
        if isinstance(value, float) and kind != "f":
            return Tensor(xp.asarray(value, dtype=get_default_dtype()))
        return Tensor(xp.asarray(value, dtype=like.data.dtype))
    arr = xp.asarray(getattr(value, "data", value))
    if arr.dtype.kind in "biuf" and arr.dtype != like.data.dtype and kind == "f":
        arr = arr.astype(like.data.dtype)
    return Tensor(arr)


def _axis(axis, dim):
    return dim if axis is None else axis


def _keep(keepdims: bool, keepdim: bool | None) -> bool:
    return keepdims if keepdim is None else keepdim


def _raw_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _host_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy array from Python data: floats take the default dtype, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = to_numpy(data.data)
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, np.ndarray):
        return data.copy()
    arr = np.array(data)
    if arr.dtype.kind == "f" or (arr.dtype == object):
        arr = arr.astype(get_default_dtype())
    return arr


# ------------------------------------------------------------------ factories
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a NumPy array keeps its dtype)."""
    if hasattr(data, "data") and isinstance(data, Tensor):
        data = data.data
    xp = get_array_module(data)
    if xp is not np:  # already a device array
        arr = data.astype(dtype) if dtype is not None else data.copy()
    else:
        try:
            arr = _host_array(data, dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {exc}") from exc
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: unsupported dtype {arr.dtype} for data of type {type(data).__name__}")
    if device is not None or xp is np:
        arr = to_device(arr, check_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def _factory(fill, shape: Iterable[Any], dtype, requires_grad, device) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
    arr = to_device(fill(tuple(int(n) for n in shape), dt), check_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return _factory(np.zeros, shape, dtype, requires_grad, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return _factory(np.ones, shape, dtype, requires_grad, device)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Standard normal samples from the global generator (see :func:`minitorch.manual_seed`)."""
    return _factory(lambda s, dt: _random.generator().standard_normal(s).astype(dt), shape, dtype, requires_grad, device)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    return _factory(lambda s, dt: _random.generator().random(s).astype(dt), shape, dtype, requires_grad, device)
