"""The Tensor: an array, its gradient, and the op that produced it.

A Tensor wraps a NumPy or CuPy array, kept in the slot ``_data`` so that the
engine reaches it in one step.  ``.data`` is, as in PyTorch, another Tensor
on the same memory that records no gradient, and ``.grad`` is a Tensor.

Every operator calls :func:`apply`, which runs an op's forward on the raw
arrays and, when a gradient will be needed, remembers the op (``_ctx``) and
its inputs.  That chain of ops is the graph that :meth:`Tensor.backward`
walks.  In-place methods (``add_``, ``x[i] = v``...) write into the tensor's
memory and bump its version counter (see :mod:`minitorch.autograd`).
"""
from __future__ import annotations

import builtins
import weakref
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from minitorch import autograd, return_types
from minitorch import random as _random
from minitorch.autograd import Function, Version
from minitorch.backend import (
    check_device,
    device,
    device_object_of,
    get_array_module,
    get_default_dtype,
    is_device,
    is_device_array,
    to_device,
    to_numpy,
)
from minitorch.ops import arithmetic as A
from minitorch.ops import copy as C
from minitorch.ops import elementwise as E
from minitorch.ops import reduction as R
from minitorch.ops import shape as S


class Tensor:
    """An n-dimensional array that can record the ops applied to it."""

    # _data: the array; _grad: the gradient Tensor or None; _version: the in-place change counter, made
    # when first needed (an op saves the tensor, or another tensor shares its memory), else None
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "retains_grad", "_version", "__weakref__")
    _data: Any  # a numpy.ndarray or cupy.ndarray
    _grad: Tensor | None
    requires_grad: bool
    _ctx: Function | None
    retains_grad: bool
    _version: Version | None
    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        version = None
        if isinstance(data, Tensor):  # shares the memory, as a view does
            version = data._shared_version()
            data = data._data
        elif not isinstance(data, np.ndarray) and not is_device_array(data):
            data = _host_array(data, None)
        self._data = data
        self._grad = None
        self._ctx = None
        self.retains_grad = False
        self.requires_grad = False
        self._version = version
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------ attributes
    @property
    def data(self) -> Tensor:
        """This tensor's values as a Tensor on the same memory that records no gradient.

        Unlike PyTorch's ``.data``, it shares the version counter, so an in-place
        change through it to a tensor saved for backward is caught, not silently
        used.
        """
        return _wrap(self._data, self._shared_version())

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: assigned value must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._version = value._shared_version()

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (a Tensor of this shape and dtype), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"Tensor.grad: assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise ValueError(f"Tensor.grad: assigned grad has shape {value.shape}, the tensor {self.shape}")
            if value.dtype != self.dtype or value.device != self.device:
                raise TypeError(
                    f"Tensor.grad: assigned grad is {value.dtype} on {value.device}, the tensor "
                    f"{self.dtype} on {self.device}"
                )
        self._grad = value

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

    @property
    def is_cuda(self) -> bool:
        return is_device_array(self._data)

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> Tensor:
        return apply(S.Transpose(None), self)

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def size(self, dim: int) -> int: ...

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the size of dimension ``dim``."""
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        return len(self._data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self._data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, not dtype {self._data.dtype}")
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach()")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self.retains_grad = True
        if self._ctx is not None:  # the graph holds ops, not tensors: tell the op whose output this is
            self._ctx.retained = weakref.ref(self)

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

    # ------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into the ``.grad`` of every leaf."""
        autograd.backward(self, grad, retain_graph, _wrap)

    def detach(self) -> Tensor:
        """The same memory, cut from the graph (and sharing the version counter, as in PyTorch)."""
        return _wrap(self._data, self._shared_version())

    def clone(self) -> Tensor:
        """A copy in new memory; gradients flow back to this tensor."""
        return apply(C.Clone(), self)

    def contiguous(self) -> Tensor:
        """This tensor (every minitorch op accepts any memory layout)."""
        return self

    # ----------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        return to_numpy(self._data)

    def tolist(self) -> Any:
        return to_numpy(self._data).tolist()

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python number, got shape {self.shape}")
        return self._data.reshape(()).item()

    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """This tensor on another device and/or with another dtype: ``to("cuda")``, ``to(float64)``,
        ``to(device, dtype)``, ``to(other_tensor)``.  Differentiable; ``self`` when nothing changes."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif is_device(arg):
                device = arg
            elif arg is not None:
                dtype = arg
        target_device = self.device.type if device is None else check_device(device)
        try:
            target_dtype = self.dtype if dtype is None else np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"to: {dtype!r} is neither a dtype nor a device") from exc
        if target_dtype == self.dtype and target_device == self.device.type and not copy:
            return self
        if target_dtype.kind not in "biuf":
            raise TypeError(f"to: unsupported dtype {target_dtype}")
        if target_dtype.kind != "f" and self.requires_grad and autograd.is_grad_enabled():
            raise TypeError(
                f"to: cannot convert a tensor that requires grad to {target_dtype}, which carries no gradient; "
                f"use .detach().to({target_dtype}) (or convert under no_grad())"
            )
        return apply(C.Cast(target_dtype, target_device), self)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        arr = to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(to_numpy(self._data), separator=", ", prefix="tensor(")
        extra = ""
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self._data.dtype != get_default_dtype() and self._data.dtype.kind == "f":
            extra += f", dtype={self._data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> builtins.float:  # plain `float` here is the method Tensor.float
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return apply(A.Add(), self, _lift(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return apply(A.Add(), _lift(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return apply(A.Sub(), self, _lift(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return apply(A.Sub(), _lift(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return apply(A.Mul(), self, _lift(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return apply(A.Mul(), _lift(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply(A.Div(), self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(A.Div(), _lift(other, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return apply(A.MatMul(), self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply(A.MatMul(), _lift(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)):
            return apply(A.PowScalar(exponent), self)
        return apply(A.Pow(), self, _lift(exponent, self))

    def __rpow__(self, base: Any) -> Tensor:
        return apply(A.Pow(), _lift(base, self), self)

    def __neg__(self) -> Tensor:
        return apply(A.Neg(), self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(E.Abs(), self)

    abs = __abs__

    # ------------------------------------------------------------ in place
    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self += alpha * other, in this tensor's memory."""
        return self._inplace(A.Add(), other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace(A.Sub(), other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(A.Mul(), other, "mul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(A.Div(), other, "div_")

    def copy_(self, src: Any) -> Tensor:
        """Write ``src`` (broadcast, cast to this dtype, moved to this device) into this tensor."""
        if isinstance(src, Tensor) and src.device != self.device:
            src = src.to(self.device)
        return self._inplace(C.CopyFrom(), src, "copy_")

    def fill_(self, value: Any, *, _name: str = "fill_") -> Tensor:
        if not self._records_inplace(None):
            self._data.fill(value)
            self._bump()
            return self
        return self._inplace(C.CopyFrom(), value, _name)

    def zero_(self) -> Tensor:
        return self.fill_(0, _name="zero_")

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index: Any, value: Any) -> None:
        value = _lift(value, self)
        if not self._records_inplace(value):
            self._data[_raw_index(index)] = value._data
            self._bump()
            return
        self._inplace(S.SetItem(_raw_index(index)), value, "__setitem__")

    def _records_inplace(self, other: Tensor | None) -> bool:
        """Whether an in-place change must be recorded in the graph."""
        return autograd.is_grad_enabled() and (self.requires_grad or (other is not None and other.requires_grad))

    def _check_writable(self, name: str) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place while gradients are "
                "recorded; wrap the change in `with minitorch.no_grad():` (as optimizers do)"
            )

    def _inplace(self, fn: Function, other: Any, name: str) -> Tensor:
        """Apply ``fn(self, other)`` and write the result into this tensor's memory.

        With no gradient to record, that is all (and the version counter moves).
        Otherwise the op is recorded on a copy of the old value, as if out of place,
        and this tensor becomes its result: its memory is overwritten and its
        ``grad_fn`` is the new op.  A tensor whose memory other tensors share
        (a view, ``.data``, ``detach()``) is refused there, since their graphs
        would not see the change.
        """
        other = _lift(other, self)
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
        old = _wrap(self._data.copy() if 0 in fn.saved_inputs else self._data)
        old._ctx, old.requires_grad = self._ctx, self.requires_grad
        out = apply(fn, old, other)
        self._write(out._data, name)
        if self.retains_grad and self._ctx is not None:
            self._ctx.retained = None
        ctx = out._ctx
        assert ctx is not None  # _records_inplace: apply recorded the op
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

    # ----------------------------------------- comparisons (no gradient)
    def _compare(self, other: Any, op) -> Tensor:
        return _wrap(op(self._data, other._data if isinstance(other, Tensor) else other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a >= b)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        """Index of the first maximum, over everything (flattened) or along ``dim``."""
        return self._arg(self._data.argmax, "argmax", _axis(dim, axis), _keep(keepdim, keepdims))

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool | None = None) -> Tensor:
        return self._arg(self._data.argmin, "argmin", _axis(dim, axis), _keep(keepdim, keepdims))

    def _arg(self, pick, name: str, dim: Any, keepdim: bool) -> Tensor:
        if dim is None:
            index = pick()
            shape = (1,) * self.ndim if keepdim else ()
            return _wrap(get_array_module(self._data).asarray(index, dtype=np.int64).reshape(shape))
        (axis,) = R.normalize_axis(_int_dim(dim, name), self.ndim, name)
        return _wrap(pick(axis=axis, keepdims=keepdim).astype(np.int64, copy=False))

    # ------------------------------------------------------------ reductions
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> Tensor:
        return apply(R.Sum(_axis(dim, axis), _keep(keepdim, keepdims)), self)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> Tensor:
        return apply(R.Mean(_axis(dim, axis), _keep(keepdim, keepdims)), self)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.max:
        """The largest value, or with ``dim`` the named tuple ``(values, indices)`` along it, as in PyTorch.

        ``amax`` reduces several dims at once.  Without ``dim`` tied maxima share
        the gradient; along ``dim`` it goes to the returned index.
        """
        return self._extreme(dim, keepdim, True)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.min:
        """The smallest value, or with ``dim`` the named tuple ``(values, indices)`` along it."""
        return self._extreme(dim, keepdim, False)

    def _extreme(self, dim, keepdim: bool, largest: bool):
        name = "max" if largest else "min"
        if dim is None:
            return apply((R.Max if largest else R.Min)(None, False), self)
        if isinstance(dim, Tensor):
            raise TypeError(f"{name}: the elementwise {name} of two tensors is not supported; "
                            f"dim must be an int, got a Tensor")
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}; a{name} reduces several dims")
        op = R.MaxAlong(_int_dim(dim, name), bool(keepdim), largest)
        values = apply(op, self)
        result = return_types.max if largest else return_types.min
        return result(values, _wrap(op.indices))

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Maximum over one or several dims (all by default); ties share the gradient."""
        return apply(R.Max(dim, keepdim), self)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return apply(R.Min(dim, keepdim), self)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        """The p-norm (2 by default: "fro") over all elements or ``dim``; p may be any number > 0 or inf."""
        if p == "fro" or p is None:
            p = 2
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
            raise ValueError(f"norm: p must be a number > 0 (or inf, or 'fro'), got {p!r}")
        if self._data.dtype.kind != "f":
            raise TypeError(f"norm: expected a floating-point tensor, got dtype {self._data.dtype}")
        return apply(R.Norm(float(p), dim, keepdim), self)

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return apply(S.Reshape(shape), self)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self._data.shape
        nd = len(shape)
        if nd == 0:
            return self.reshape(1)
        start, end = start_dim % nd, end_dim % nd
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        """A view with a new dimension of size 1 at ``dim`` (-ndim-1 <= dim <= ndim)."""
        shape = self._data.shape
        nd = len(shape) + 1
        dim = _int_dim(dim, "unsqueeze")
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
            dims = R.normalize_axis(dim if isinstance(dim, (tuple, list)) else _int_dim(dim, "squeeze"),
                                    len(shape), "squeeze")
            dims = [i for i in dims if shape and shape[i] == 1]
        return self.reshape(tuple(n for i, n in enumerate(shape) if i not in dims))

    def transpose(self, dim0: int = 0, dim1: int = 1) -> Tensor:
        """Swap two dimensions (PyTorch semantics); see :meth:`permute` for the general case."""
        nd = self.ndim
        axes = list(range(nd))
        for name, d in (("dim0", dim0), ("dim1", dim1)):
            if not -max(nd, 1) <= _int_dim(d, "transpose") < max(nd, 1):
                raise ValueError(f"transpose: {name} {d} is out of range for a tensor of {nd} dimensions")
        if nd == 0:
            return self
        dim0, dim1 = dim0 % nd, dim1 % nd
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return apply(S.Transpose(tuple(axes)), self)

    def permute(self, *dims: int) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return apply(S.Transpose(tuple(dims)), self)

    def __getitem__(self, index: Any) -> Tensor:
        return apply(S.GetItem(_raw_index(index)), self)

    # ------------------------------------------------------ elementwise math
    def exp(self) -> Tensor:
        return apply(E.Exp(), self)

    def log(self) -> Tensor:
        return apply(E.Log(), self)

    def relu(self) -> Tensor:
        return apply(E.ReLU(), self)

    def tanh(self) -> Tensor:
        return apply(E.Tanh(), self)

    def sigmoid(self) -> Tensor:
        return apply(E.Sigmoid(), self)


_new = Tensor.__new__


def _wrap(array: Any, version: Version | None = None) -> Tensor:
    """A Tensor around ``array`` without copying or checking it (the engine's constructor)."""
    t = _new(Tensor)
    t._data = array
    t._grad = None
    t._ctx = None
    t.requires_grad = False
    t.retains_grad = False
    t._version = version
    return t


# While minitorch.step_capture records a step, a function that sees every op's input tensors; None otherwise.
capture_hook: Any = None


def apply(fn: Function, *inputs: Tensor) -> Tensor:
    """Run ``fn`` on the inputs' arrays and wrap the result; :func:`autograd.record` links it into the graph."""
    if capture_hook is not None:
        capture_hook(inputs)
    track = autograd.start(fn, inputs)
    data = fn.forward(*[t._data for t in inputs])
    result = _new(Tensor)
    result._data = data
    result._grad = None
    result.retains_grad = False
    result.requires_grad = track
    result._version = inputs[0]._shared_version() if fn.is_view and _same_memory(data, inputs[0]._data) else None
    result._ctx = autograd.record(fn, inputs, result) if track else None
    return result


def _same_memory(a: Any, b: Any) -> bool:
    """Whether ``a`` is a view of ``b``'s memory (both views of one owner)."""
    owner_a = a if a.base is None else a.base
    owner_b = b if b.base is None else b.base
    return owner_a is owner_b


def _lift(value: Any, like: Tensor) -> Tensor:
    """Turn a Python number or array into a constant Tensor beside ``like``.

    Python numbers are "weak", as in NumPy and PyTorch: they take ``like``'s
    dtype, except that a float with an integer tensor gives the default float.
    """
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like._data)
    kind = like._data.dtype.kind
    if isinstance(value, (int, float, bool)):
        if isinstance(value, float) and kind != "f":
            return _wrap(xp.asarray(value, dtype=get_default_dtype()))
        return _wrap(xp.asarray(value, dtype=like._data.dtype))
    if isinstance(value, (tuple, list)) and any(isinstance(v, Tensor) for v in value):
        # e.g. the (values, indices) of x.max(dim) used as if it were the values
        raise TypeError(f"cannot combine a Tensor with a {type(value).__name__} of Tensors; "
                        "for max/min along a dim, take .values")
    arr = xp.asarray(value)
    if arr.dtype.kind in "biuf" and arr.dtype != like._data.dtype and kind == "f":
        arr = arr.astype(like._data.dtype)
    return _wrap(arr)


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _axis(dim, axis):
    return axis if dim is None else dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return keepdim if keepdims is None else keepdims


def _int_dim(dim: Any, op: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    return int(dim)


def _raw_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _host_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy array from Python data: floats take the default dtype, arrays keep theirs."""
    if isinstance(data, Tensor):
        data = to_numpy(data._data)
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, np.ndarray):
        return data.copy()
    arr = np.array(data)
    if arr.dtype.kind == "f" or (arr.dtype == object):
        arr = arr.astype(get_default_dtype())
    return arr


# ------------------------------------------------------------------ factories
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a NumPy array keeps its dtype)."""
    if isinstance(data, Tensor):
        data = data._data
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


def _size(name: str, shape: tuple) -> tuple[int, ...]:
    """The sizes of a factory call (``f(2, 3)`` or ``f((2, 3))``), checked to be ints >= 0."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for i, n in enumerate(shape):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{name}: size must be ints, got {n!r} ({type(n).__name__}) at position {i}")
        if n < 0:
            raise ValueError(f"{name}: size must be >= 0, got {n} at position {i}")
    return tuple(int(n) for n in shape)


def _factory(name: str, fill: Callable[[tuple[int, ...], np.dtype], Any], shape: tuple[Any, ...], dtype: Any,
             requires_grad: bool, device: Any) -> Tensor:
    dt = np.dtype(dtype) if dtype is not None else get_default_dtype()
    arr = to_device(fill(_size(name, shape), dt), check_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _factory("zeros", np.zeros, shape, dtype, requires_grad, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _factory("ones", np.ones, shape, dtype, requires_grad, device)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal samples from the global generator (see :func:`minitorch.manual_seed`)."""
    return _factory("randn", lambda s, dt: _random.generator().standard_normal(s).astype(dt), shape, dtype,
                    requires_grad, device)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _factory("rand", lambda s, dt: _random.generator().random(s).astype(dt), shape, dtype, requires_grad,
                    device)


def randint(low: int, high: int | None = None, size: Any = None, *, dtype: Any = np.int64,
            device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` or ``randint(low, high, size)``)."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size (a tuple) is required, e.g. randint(10, (4,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"randint: {name} must be an int, got {value!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _size("randint", (size,) if isinstance(size, (tuple, list)) else (size,))
    values = _random.generator().integers(low, high, shape).astype(np.dtype(dtype))
    return Tensor(to_device(values, check_device(device)))


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from start (0) up to, not including, end: int64 for integer arguments, else the default float."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {value!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else get_default_dtype()
    values = np.arange(start, end, step, dtype=np.dtype(dtype))
    return Tensor(to_device(values, check_device(device)), requires_grad=requires_grad)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``input``'s shape, and of its dtype and device unless given."""
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("ones_like", input, 1, dtype, device, requires_grad)


def _like(name: str, input: Tensor, value: int, dtype, device, requires_grad: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    xp = get_array_module(input._data)
    arr = xp.full(input.shape, value, dtype=input.dtype if dtype is None else np.dtype(dtype))
    if device is not None:
        arr = to_device(arr, check_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on the same memory as a NumPy array (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor(array)
