"""The Tensor: an array, its gradient, and the op that produced it.

A Tensor wraps a NumPy or CuPy array, kept in the slot ``_data`` so that the
engine reaches it in one step.  ``.data`` is, as in PyTorch, another Tensor
on the same memory that records no gradient, and ``.grad`` is a Tensor.

Every operator calls :func:`apply`, which runs an op's forward on the raw
arrays and, when a gradient will be needed, remembers the op (``_ctx``) and
its inputs.  That chain of ops is the graph that :meth:`Tensor.backward`
walks.  In-place methods (``add_``, ``x[i] = v``...) write into the tensor's
memory and bump its version counter (see :mod:`minitorch.autograd`).

This module holds the core; the in-place, shape, reduction, math, indexing,
statistics and creation methods are in :mod:`minitorch.tensor_methods`, and ``zeros``, ``randn``... in
:mod:`minitorch.factories`.
"""
from __future__ import annotations

import builtins
import weakref
from collections.abc import Iterator
from typing import Any, overload

import numpy as np

from minitorch import autograd
from minitorch.autograd import Function, Version
from minitorch.backend import (
    _observer,
    as_array,
    cast_array,
    check_device,
    get_array_module,
    get_default_dtype,
    host_array,
    is_device,
    is_device_array,
    to_numpy,
)
from minitorch.ops import arithmetic as A
from minitorch.ops import copy as C
from minitorch.ops import elementwise as E
from minitorch.promotion import category, result_type, scalar_dtype
from minitorch.tensor_methods.creation import CreationMethods
from minitorch.tensor_methods.indexing import IndexingMethods
from minitorch.tensor_methods.inplace import InPlaceMethods
from minitorch.tensor_methods.math import MathMethods
from minitorch.tensor_methods.reduction import ReductionMethods
from minitorch.tensor_methods.shape import ShapeMethods
from minitorch.tensor_methods.statistics import StatisticsMethods


class Tensor(MathMethods, IndexingMethods, CreationMethods, InPlaceMethods, ShapeMethods, ReductionMethods,
             StatisticsMethods):
    """An n-dimensional array that can record the ops applied to it.

    The fields are :class:`~minitorch.tensor_methods.base.TensorBase`'s; the
    in-place, shape and reduction methods come from the mixins of
    :mod:`minitorch.tensor_methods`.
    """

    __slots__ = ()
    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        version = None
        if isinstance(data, Tensor):  # shares the memory, as a view does
            version = data._shared_version()
            data = data._data
        elif not isinstance(data, np.ndarray) and not is_device_array(data):
            data = host_array(data, None)
        self._data = data
        self._grad = None
        self._ctx = None
        self.retains_grad = False
        self.requires_grad = False
        self._version = version
        if requires_grad:
            self.requires_grad_(True)
        seen = _observer.get()
        if seen is not None:
            seen.saw_new_tensor(self)

    # ------------------------------------------- engine hooks of the mixins
    def _op(self, fn: Function, *others: Tensor) -> Tensor:
        return apply(fn, self, *others)

    def _wrap_array(self, array: Any, version: Version | None = None) -> Tensor:
        return _wrap(array, version)

    def _lift_value(self, value: Any) -> Tensor:
        return _lift(value, self)

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
    def is_cuda(self) -> bool:
        return is_device_array(self._data)

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

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

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along the first dimension (views, as ``self[i]``).

        Defined, rather than left to Python's fallback on ``__getitem__``, so that a 0-d tensor (a loss, say)
        is refused as PyTorch refuses it: the fallback would stop at once and yield nothing.
        """
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

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

    # ------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool | None = None) -> None:
        """Accumulate gradients of this tensor into the ``.grad`` of every leaf.

        ``gradient`` is d(loss)/d(self), the upstream gradient (a Tensor or array of this shape); it may be
        left out for a one-element tensor.  The names are PyTorch's, so ``y.backward(gradient=g)`` ports.
        ``retain_graph`` keeps the graph for a second backward (None, the default, frees it).
        """
        autograd.backward(self, gradient, bool(retain_graph), _wrap)

    def detach(self) -> Tensor:
        """The same memory, cut from the graph (and sharing the version counter, as in PyTorch)."""
        return _wrap(self._data, self._shared_version())

    def clone(self) -> Tensor:
        """A copy in new memory; gradients flow back to this tensor."""
        return apply(C.Clone(), self)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in row-major order, else a row-major copy (gradients flow back).

        Every minitorch op accepts any memory layout; ``view`` is the one that needs this one
        (``x.transpose(0, 1).contiguous().view(-1)``).
        """
        return self if self._data.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        """Whether the memory is in row-major order, with no gaps (what ``view`` to any shape of the size needs)."""
        return bool(self._data.flags.c_contiguous)

    # ----------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        rec = _observer.get()
        if rec is not None:  # a step being captured
            rec.to_numpy("Tensor.numpy()")
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
        rec = _observer.get()
        if rec is not None:  # a step being captured
            rec.to_numpy("a NumPy conversion of a tensor (np.asarray, np.array ...)")
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

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.3f}"``), as in PyTorch; others only with ``""``."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> builtins.float:  # plain `float` here is the method Tensor.float
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """This one-element integer (or bool) tensor as a Python int, so it can index a list:
        ``classes[labels[j]]``."""
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index, got dtype "
                            f"{self._data.dtype} and shape {self.shape}")
        return int(self._data.reshape(()).item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------ arithmetic
    # Operands of different dtypes are cast to their common dtype first (see promote).
    def __add__(self, other: Any) -> Tensor:
        return apply(A.Add(), *promote(self, _lift(other, self)))

    def __radd__(self, other: Any) -> Tensor:
        return apply(A.Add(), *promote(_lift(other, self), self))

    def __sub__(self, other: Any) -> Tensor:
        return apply(A.Sub(), *promote(self, _lift(other, self)))

    def __rsub__(self, other: Any) -> Tensor:
        return apply(A.Sub(), *promote(_lift(other, self), self))

    def __mul__(self, other: Any) -> Tensor:
        return apply(A.Mul(), *promote(self, _lift(other, self)))

    def __rmul__(self, other: Any) -> Tensor:
        return apply(A.Mul(), *promote(_lift(other, self), self))

    def __truediv__(self, other: Any) -> Tensor:
        return apply(A.Div(), *promote(self, _lift(other, self, floating=True), floating=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(A.Div(), *promote(_lift(other, self, floating=True), self, floating=True))

    def __matmul__(self, other: Any) -> Tensor:
        return apply(A.MatMul(), self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply(A.MatMul(), _lift(other, self), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            # as a Python number: NumPy would let an np.float64 (a float subclass) make a float32 base float64
            exponent = float(exponent) if isinstance(exponent, float) else int(exponent)
            base = self if self._data.dtype.kind == "f" else _cast(self, result_type(self, exponent))
            return apply(A.PowScalar(exponent), base)
        return _pow(*promote(self, _lift(exponent, self)))

    def __rpow__(self, base: Any) -> Tensor:
        return _pow(*promote(_lift(base, self), self))

    def __neg__(self) -> Tensor:
        return apply(A.Neg(), self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(E.Abs(), self)

    abs = __abs__

    # ----------------------------------------- comparisons (no gradient)
    def _compare(self, other: Any, op) -> Tensor:
        if not isinstance(other, (Tensor, int, float)):  # None, a string, a list...: NumPy's answer
            return _wrap(op(self._data, other))
        a, b = promote(self, _lift(other, self))  # compared in the common dtype, as PyTorch does
        return _wrap(op(a._data, b._data))

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

    # ------------------------------------------------------ elementwise math
    # Float-only math on an integer or bool tensor computes in the default float dtype, as in PyTorch.
    def exp(self) -> Tensor:
        return apply(E.Exp(), _floating(self))

    def log(self) -> Tensor:
        return apply(E.Log(), _floating(self))

    def relu(self) -> Tensor:
        return apply(E.ReLU(), self)

    def tanh(self) -> Tensor:
        return apply(E.Tanh(), _floating(self))

    def sigmoid(self) -> Tensor:
        return apply(E.Sigmoid(), _floating(self))


_new = Tensor.__new__


def _wrap(array: Any, version: Version | None = None) -> Tensor:
    """A Tensor around ``array`` without copying it (the engine's constructor).

    Every array that becomes a tensor passes here, or through :func:`apply`, which
    does the same inline (it runs for every op, where a call is ~0.1 us), so these
    two are where the invariant holds: a Tensor holds an array, a 0-d one for a
    scalar.  NumPy hands back a scalar (``np.float32``), not a 0-d array, from
    arithmetic on 0-d arrays and from full reductions; a scalar has no memory to
    write into (``zero_``, ``+=``) and no device, so it is made a 0-d array here.
    """
    if isinstance(array, np.generic):
        array = np.asarray(array)
    t = _new(Tensor)
    t._data = array
    t._grad = None
    t._ctx = None
    t.requires_grad = False
    t.retains_grad = False
    t._version = version
    seen = _observer.get()
    if seen is not None:
        seen.saw_new_tensor(t)
    return t


def apply(fn: Function, *inputs: Tensor) -> Tensor:
    """Run ``fn`` on the inputs' arrays and wrap the result; :func:`autograd.record` links it into the graph.

    An observer (a step being recorded, see :mod:`minitorch.backend`) sees the input tensors first.
    """
    seen = _observer.get()
    if seen is not None:
        seen.on_apply(inputs)
    track = autograd.start(fn, inputs)
    data = fn.forward(*[t._data for t in inputs])
    if isinstance(data, np.generic):  # _wrap's invariant, kept here inline: apply runs for every op
        data = np.asarray(data)
    result = _new(Tensor)
    result._data = data
    result._grad = None
    result.retains_grad = False
    result._version = inputs[0]._shared_version() if fn.is_view and _same_memory(data, inputs[0]._data) else None
    if seen is not None:
        seen.saw_new_tensor(result)
    if track:
        result.requires_grad = True
        result._ctx = autograd.record(fn, inputs, result)
    else:
        result.requires_grad = False
        result._ctx = None
    return result


def _same_memory(a: Any, b: Any) -> bool:
    """Whether ``a`` is a view of ``b``'s memory (both views of one owner)."""
    owner_a = a if a.base is None else a.base
    owner_b = b if b.base is None else b.base
    return owner_a is owner_b


def _pow(base: Tensor, exponent: Tensor) -> Tensor:
    """``base ** exponent`` of one dtype, in that dtype (NumPy raises bools to int8)."""
    out = apply(A.Pow(), base, exponent)
    return out if out._data.dtype == base._data.dtype else _cast(out, base._data.dtype)


def _lift(value: Any, like: Tensor, floating: bool = False) -> Tensor:
    """Turn a Python number or array into a constant Tensor beside ``like``.

    Python numbers are "weak", as in PyTorch: they take ``like``'s dtype unless
    their category is higher (bool < int < float), and then the dtype they stand
    for (int64, the default float; see :mod:`minitorch.promotion`).  So the 0-d
    tensor made here promotes ``like`` exactly as the number would.  An integer
    out of range of an integer ``like`` wraps around (PyTorch computes in that
    dtype); with ``floating`` (true division) a number beside an integer tensor
    is lifted as the default float, which the division computes in.
    """
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like._data)
    dtype = like._data.dtype
    if isinstance(value, (int, float, bool)):
        number = scalar_dtype(value)
        target = number if category(number) > category(dtype) else dtype
        if floating and target.kind != "f":
            target = get_default_dtype()
        return _wrap(as_array(xp, cast_array(value, target)))
    kind = dtype.kind
    if isinstance(value, (tuple, list)) and any(isinstance(v, Tensor) for v in value):
        # e.g. the (values, indices) of x.max(dim) used as if it were the values
        raise TypeError(f"cannot combine a Tensor with a {type(value).__name__} of Tensors; "
                        "for max/min along a dim, take .values")
    arr = as_array(xp, value)
    if arr.dtype.kind in "biuf" and arr.dtype != like._data.dtype and kind == "f":
        arr = arr.astype(like._data.dtype)
    return _wrap(arr)


def promote(a: Tensor, b: Tensor, floating: bool = False) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` in their common dtype (:func:`~minitorch.promotion.result_type`), cast where needed.

    With ``floating`` (true division) an integer result becomes the default float.
    The cast is an op like any other, so gradients flow back in each input's own
    dtype.  Operands of one float dtype, the usual case, pass untouched.
    """
    da, db = a._data.dtype, b._data.dtype
    if (da is db or da == db) and (da.kind == "f" or not floating):
        return a, b
    dtype = result_type(a, b)
    if floating and dtype.kind != "f":
        dtype = get_default_dtype()
    return _cast(a, dtype), _cast(b, dtype)


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    return t if t._data.dtype == dtype else apply(C.Cast(dtype, t.device.type), t)


def _floating(t: Tensor) -> Tensor:
    """``t``, or an integer or bool tensor's values in the default float dtype (what float-only math takes)."""
    return t if t._data.dtype.kind == "f" else _cast(t, get_default_dtype())
