"""Methods that make tensors like this one or change its values wholesale: ``new_zeros``, ``new_tensor``,
``normal_``, ``uniform_``; dtype conversions (``int()``, ``half()``, ``bool()``, ``type()``); and the tests
``isnan``, ``isinf``, ``isfinite``, ``equal``, ``allclose``, ``isclose`` (no gradient).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minitorch import random as _random
from minitorch.backend import cast_array, get_array_module, host_array, to_device
from minitorch.ops import copy as C
from minitorch.tensor_methods.base import TensorBase
from minitorch.tensor_methods.inplace_result import InPlaceResultMethods

if TYPE_CHECKING:
    from minitorch.tensor import Tensor

# PyTorch's legacy type names (``x.type()``), by dtype
TYPE_NAMES = {
    np.dtype(np.float32): "torch.FloatTensor", np.dtype(np.float64): "torch.DoubleTensor",
    np.dtype(np.float16): "torch.HalfTensor", np.dtype(np.int64): "torch.LongTensor",
    np.dtype(np.int32): "torch.IntTensor", np.dtype(np.int16): "torch.ShortTensor",
    np.dtype(np.int8): "torch.CharTensor", np.dtype(np.uint8): "torch.ByteTensor",
    np.dtype(np.bool_): "torch.BoolTensor",
}
_BY_TYPE_NAME = {name: dtype for dtype, name in TYPE_NAMES.items()}


def _shape(args: tuple, op: str) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for i, n in enumerate(args):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise TypeError(f"{op}: size must be ints >= 0, got {n!r} at position {i}")
    return tuple(int(n) for n in args)


class CreationMethods(InPlaceResultMethods):
    __slots__ = ()

    # ------------------------------------------------------------ new tensors alike
    def _new(self, op: str, shape: tuple[int, ...], value: Any, dtype: Any, device: Any,
             requires_grad: bool) -> Tensor:
        dt = self.dtype if dtype is None else np.dtype(dtype)
        arr = np.full(shape, cast_array(value, dt))
        out = self._wrap_array(to_device(arr, self.device if device is None else device))
        return out.requires_grad_(True) if requires_grad else out

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """Zeros of ``size``, with this tensor's dtype and device unless given."""
        return self._new("new_zeros", _shape(size, "new_zeros"), 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("new_ones", _shape(size, "new_ones"), 1, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """Like :meth:`new_zeros` (minitorch's "uninitialised" memory is zeros)."""
        return self._new("new_empty", _shape(size, "new_empty"), 0, dtype, device, requires_grad)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return self._new("new_full", _shape((size,), "new_full"), fill_value, dtype, device, requires_grad)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A new tensor (a copy) of ``data``, with this tensor's dtype and device unless given."""
        raw = data._data if isinstance(data, TensorBase) else data
        arr = host_array(to_device(raw, "cpu") if isinstance(data, TensorBase) else raw,
                         self.dtype if dtype is None else dtype)
        out = self._wrap_array(to_device(np.array(arr), self.device if device is None else device))
        return out.requires_grad_(True) if requires_grad else out

    # ----------------------------------------------------------- random fills
    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill with samples of N(mean, std**2) from minitorch's generator (see ``manual_seed``)."""
        if std < 0:
            raise ValueError(f"normal_: std must be >= 0, got {std}")
        return self._fill_random("normal_", _random.generator().normal(mean, std, self.shape))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """Fill with samples uniform in [a, b) from minitorch's generator."""
        if a > b:
            raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
        return self._fill_random("uniform_", _random.generator().uniform(a, b, self.shape))

    def _fill_random(self, name: str, values: np.ndarray) -> Tensor:
        if self.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point tensor, got dtype {self.dtype}")
        arr = to_device(np.asarray(values, dtype=self.dtype), self.device)
        self._inplace(C.CopyFrom(), self._wrap_array(arr), name)
        return self._as_tensor

    # ---------------------------------------------------------- tests (no gradient)
    def isnan(self) -> Tensor:
        return self._test(lambda xp, a: xp.isnan(a))

    def isinf(self) -> Tensor:
        return self._test(lambda xp, a: xp.isinf(a))

    def isfinite(self) -> Tensor:
        return self._test(lambda xp, a: xp.isfinite(a))

    def _test(self, fn: Any) -> Tensor:
        xp = get_array_module(self._data)
        a = self._data
        if a.dtype.kind != "f":  # integers are always finite, never NaN
            return self._wrap_array(fn(xp, a.astype(np.float64)) if a.size else xp.zeros(a.shape, dtype=bool))
        return self._wrap_array(xp.asarray(fn(xp, a)))

    def equal(self, other: Any) -> bool:
        """Whether ``other`` has the same shape and the same values (a Python bool)."""
        if not isinstance(other, TensorBase):
            raise TypeError(f"equal: other must be a Tensor, got {type(other).__name__}")
        if self.shape != other.shape:
            return False
        xp = get_array_module(self._data)
        return bool(xp.array_equal(self._data, other._data))

    def isclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
        """Elementwise |self - other| <= atol + rtol * |other| (a bool tensor)."""
        other_data = other._data if isinstance(other, TensorBase) else other
        xp = get_array_module(self._data)
        return self._wrap_array(xp.asarray(xp.isclose(self._data, other_data, rtol=rtol, atol=atol,
                                                      equal_nan=equal_nan)))

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        """Whether :meth:`isclose` holds everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan)._data.all())

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    # ------------------------------------------------------------------ dtypes
    # (last in the class: these names shadow the builtins int, bool and type in the class body)
    def int(self) -> Tensor:
        return self._as_tensor.to(np.int32)

    def short(self) -> Tensor:
        return self._as_tensor.to(np.int16)

    def char(self) -> Tensor:
        return self._as_tensor.to(np.int8)

    def byte(self) -> Tensor:
        return self._as_tensor.to(np.uint8)

    def half(self) -> Tensor:
        return self._as_tensor.to(np.float16)

    def bool(self) -> Tensor:
        return self._as_tensor.to(np.bool_)

    def type(self, dtype: Any = None) -> Any:
        """With no argument, PyTorch's type name (``'torch.FloatTensor'``); else this tensor as ``dtype``
        (a dtype or such a name)."""
        if dtype is None:
            name = TYPE_NAMES.get(self.dtype, f"minitorch.{self.dtype}")
            return name.replace("torch.", "torch.cuda.") if self.device == "cuda" else name
        if isinstance(dtype, str):
            key = dtype.replace("torch.cuda.", "torch.")
            if key not in _BY_TYPE_NAME:
                raise ValueError(f"type: unknown type name {dtype!r}; expected one of {sorted(_BY_TYPE_NAME)}")
            dtype = _BY_TYPE_NAME[key]
        return self._as_tensor.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self._as_tensor.to(other.dtype)
