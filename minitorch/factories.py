"""Factories: new tensors from data (``tensor``, ``from_numpy``), of a shape (``zeros``, ``randn``, ``arange``...)
or like another (``zeros_like``), as PyTorch's ``torch.zeros`` and the rest."""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minitorch import random as _random
from minitorch.backend import check_device, get_array_module, get_default_dtype, host_array, to_device
from minitorch.promotion import promote_types, scalar_dtype
from minitorch.tensor import Tensor


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Without ``dtype``, PyTorch's inference: a NumPy array or scalar keeps its dtype
    (``tensor(arr.mean())`` is float64), Python floats take the default dtype, and
    a list takes the common dtype of its elements (see :func:`_own_float_dtype`).
    """
    if isinstance(data, Tensor):
        data = data._data
    elif data is None:  # NumPy would make it a NaN (PyTorch: "Could not infer dtype of NoneType")
        raise TypeError("tensor: data is None; expected a number, a (nested) list of numbers or an array")
    xp = get_array_module(data)
    if xp is not np:  # already a device array
        arr = data.astype(dtype) if dtype is not None else data.copy()
    else:
        if dtype is None and not isinstance(data, np.ndarray):
            dtype = _own_float_dtype(data)
        try:
            arr = host_array(data, dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {exc}") from exc
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: unsupported dtype {arr.dtype} for data of type {type(data).__name__}")
    if device is not None or xp is np:
        arr = to_device(arr, check_device(device))
    return Tensor(arr, requires_grad=requires_grad)


def _own_float_dtype(data: Any) -> np.dtype | None:
    """The dtype of ``tensor(data)`` where ``data`` holds floats with a dtype of their own (NumPy scalars such
    as ``arr.mean()``, arrays, Tensors), else None.

    PyTorch joins the dtypes of the elements by its promotion rule, where such an
    element counts as its own dtype and a Python number as the one it stands for:
    ``[np.float64(.1), .2]`` is float64, ``[np.float32(.1), .2]`` float32.  Without
    them the answer is :func:`host_array`'s (floats take the default dtype), so
    None is returned and nothing else changes.
    """
    own: set[np.dtype] = set()  # the dtypes of elements that carry one
    numbers: set[np.dtype] = set()  # those the Python numbers stand for
    todo = [data]
    while todo:
        items = todo.pop()
        if not isinstance(items, (list, tuple)):
            items = (items,)
        # by the elements' types, not element by element: a list of a million floats is one set(map(...))
        for kind in set(map(type, items)):
            if issubclass(kind, (list, tuple)):
                todo.extend(x for x in items if type(x) is kind)
            elif issubclass(kind, np.generic):  # before the numbers: np.float64 is a subclass of float
                own.add(np.dtype(kind))
            elif hasattr(kind, "dtype"):  # arrays and Tensors: each its own
                own.update(np.dtype(x.dtype) for x in items if type(x) is kind)
            elif issubclass(kind, (bool, int, float)):
                numbers.add(scalar_dtype(next(x for x in items if type(x) is kind)))
    if not any(d.kind == "f" for d in own):
        return None
    return functools.reduce(promote_types, own | numbers)


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
    elif np.dtype(dtype).kind in "iu":
        return Tensor(to_device(_integer_arange(start, end, step, np.dtype(dtype)), check_device(device)),
                      requires_grad=requires_grad)
    values = np.arange(start, end, step, dtype=np.dtype(dtype))
    return Tensor(to_device(values, check_device(device)), requires_grad=requires_grad)


def _integer_arange(start: Any, end: Any, step: Any, dtype: np.dtype) -> np.ndarray:
    """PyTorch's arange for an integer dtype: the values count from start by step, both truncated to integers;
    their number is computed from the truncated arguments for int64, from the given ones for other dtypes."""
    first, last, stride = int(start), int(end), int(step)
    if stride == 0:
        raise ValueError("arange: step must be nonzero (it truncates to 0 for an integer dtype)")
    if dtype == np.int64:
        span = last - first + stride - (1 if stride > 0 else -1)
        count = abs(span) // abs(stride) * (1 if (span >= 0) == (stride > 0) else -1)  # C's truncating division
    else:
        count = math.ceil((float(end) - float(start)) / float(step))
    return (first + np.arange(max(count, 0), dtype=np.int64) * stride).astype(dtype)


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
