"""Array modules and devices, and the one way minitorch's ops make new arrays.

minitorch never branches on the device inside an op: every op asks
:func:`get_array_module` for the module (``numpy`` or ``cupy``) that owns its
inputs and calls the same functions on it.  CuPy is imported only when a
``"cuda"`` array is first asked for, so a CPU-only machine never needs it.

Ops and the engine create arrays through :func:`new_array` and
:func:`as_array` (never ``xp.zeros``/``xp.asarray`` themselves), which tell
the thread's *observer*, if any: :func:`minitorch.capture`'s recorder
(see :mod:`minitorch.step_capture.recorder` for what an observer is told).
The observer lives in a :class:`contextvars.ContextVar`, so recording a step
in one thread neither sees nor changes what another thread does.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import numpy as np

_cupy: ModuleType | None = None
_default_dtype = np.dtype(np.float32)
_DEVICES = ("cpu", "cuda")


class DeviceError(RuntimeError):
    """Raised when a device is asked for that this machine cannot provide."""


def _load_cupy() -> ModuleType:
    """Import CuPy once, with an error that says what is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:
            raise DeviceError(
                "device 'cuda' needs CuPy: install it with `pip install -e \".[gpu]\"` "
                "(see the README for choosing the wheel for your CUDA version)"
            ) from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise DeviceError(f"device 'cuda': CuPy is installed but no GPU is usable ({exc})") from exc
        if count == 0:
            raise DeviceError("device 'cuda': CuPy is installed but no GPU was found")
        _cupy = cupy
    return _cupy


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        _load_cupy()
        return True
    except DeviceError:
        return False


class device:
    """A device, as ``torch.device``: ``device("cuda")``, ``device("cuda:0")``, ``device("cuda", 0)``.

    It compares equal to another device or to a string naming the same one
    (``t.device == "cpu"``), and can be passed wherever a device name can.
    """

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002 - torch's name
        if isinstance(type, device):
            index = type.index if index is None else index
            type = type.type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a name such as 'cpu' or 'cuda:0', got {type!r}")
        name, _, number = type.partition(":")
        if name not in _DEVICES:
            raise ValueError(f"unknown device {type!r}: expected one of {_DEVICES}")
        if number:
            if index is not None or not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0 or name == "cpu" and index != 0):
            raise ValueError(f"device: invalid index {index!r} for device type {name!r}")
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("device is immutable")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")
CUDA = device("cuda")


def is_device(value: Any) -> bool:
    """A device object or a string naming one (as opposed to a dtype)."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in _DEVICES)


def check_device(device: str | device | None) -> str:
    """Normalise a device name ("cpu", "cuda", "cuda:0") or object to "cpu"/"cuda", and validate it."""
    if device is None:
        return default_device()
    if not isinstance(device, str):
        device = str(device)
    name = device.split(":", 1)[0]
    if name not in _DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {_DEVICES}")
    if name == "cuda":
        _load_cupy()
    return name


def default_device() -> str:
    """The device new tensors go to: ``$MINITORCH_DEVICE`` or "cpu"."""
    return os.environ.get("MINITORCH_DEVICE", "cpu").split(":", 1)[0] or "cpu"


def is_device_array(array: Any) -> bool:
    """True for a CuPy array (checked without importing CuPy)."""
    return type(array).__module__.partition(".")[0] == "cupy"


def get_array_module(array: Any) -> ModuleType:
    """numpy for host arrays and scalars, cupy for device arrays."""
    if isinstance(array, np.ndarray):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return _load_cupy() if is_device_array(array) else np


def device_of(array: Any) -> str:
    """The device name ("cpu" or "cuda") holding ``array``."""
    return "cpu" if isinstance(array, np.ndarray) else ("cuda" if is_device_array(array) else "cpu")


def device_object_of(array: Any) -> device:
    """The :class:`device` holding ``array`` (one of two shared objects: no allocation)."""
    return CPU if isinstance(array, np.ndarray) or not is_device_array(array) else CUDA


def to_device(array: Any, device: str | device) -> Any:
    """Move an array to ``device`` (a no-op when it is already there)."""
    device = check_device(device)
    if device == "cpu":
        if isinstance(array, np.ndarray):  # itself (an ndarray subclass stays one)
            return array
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return np.asarray(array)
    return _load_cupy().asarray(array)


def to_numpy(array: Any) -> np.ndarray:
    """A host (NumPy) copy of ``array``, or the array itself when it is already one."""
    return to_device(array, "cpu")


# ----------------------------------------------------------------- observing and creating arrays
_observer: ContextVar[Any] = ContextVar("minitorch_observer", default=None)


def observer() -> Any:
    """The object told about the ops, kernels and arrays this thread runs and makes (a recorder), or None."""
    return _observer.get()


@contextlib.contextmanager
def observed_by(value: Any) -> Iterator[None]:
    """Make ``value`` this thread's observer for the block (None: nobody is told)."""
    token = _observer.set(value)
    try:
        yield
    finally:
        _observer.reset(token)


def new_array(xp: ModuleType, shape: Any, dtype: Any, fill: Any = None) -> Any:
    """A new array of ``xp`` (numpy or cupy): uninitialised, or every element ``fill``.

    The way ops and the engine create arrays (``xp.empty``, ``xp.zeros``,
    ``xp.full``), so that a recorder knows the memory is the step's own and
    what it starts as.
    """
    if fill is None:
        array = xp.empty(shape, dtype=dtype)
    elif fill == 0:
        array = xp.zeros(shape, dtype=dtype)
    else:
        array = xp.full(shape, fill, dtype=dtype)
    seen = _observer.get()
    return array if seen is None else seen.created(array, fill)


def as_array(xp: ModuleType, value: Any, dtype: Any = None) -> Any:
    """``xp.asarray(value, dtype)`` for ops: a constant from Python data (or a fixed array such as
    ``xp.arange(n)``), or an array of the step converted; a recorder sees which."""
    seen = _observer.get()
    return xp.asarray(value, dtype=dtype) if seen is None else seen.as_array(xp, value, dtype)



def may_share_memory(a: Any, b: Any) -> bool:
    """``xp.may_share_memory`` for ops: a fact about memory, not about values, so no observer is told."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):  # plain views: a recorder's arrays are subclasses
        a, b = a.view(np.ndarray), b.view(np.ndarray)
    return bool(get_array_module(a).may_share_memory(a, b))

# ----------------------------------------------------------------- dtypes
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of new float tensors and parameters (float32 or float64)."""
    global _default_dtype
    _default_dtype = as_float_dtype(dtype, "set_default_dtype")


def as_float_dtype(dtype: Any, where: str) -> np.dtype:
    """Validate a floating dtype, naming the caller when it is not one we support."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{where}: {dtype!r} is not a dtype") from exc
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{where}: dtype {dt} is not supported; use float32 or float64")
    return dt


def cast_array(data: Any, dtype: Any) -> np.ndarray:
    """``data`` (numbers, nested lists, arrays) as a new NumPy array of ``dtype``.

    An integer out of the dtype's range wraps around, as a C cast does and PyTorch gives
    (``tensor([-1], dtype=uint8)`` is 255); NumPy 2 refuses such Python integers.
    """
    dt = np.dtype(dtype)
    try:
        return np.array(data, dtype=dt)
    except OverflowError:
        return np.array(data).astype(dt)


def host_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy array from Python data: floats take the default dtype, arrays keep theirs."""
    if dtype is not None:
        return cast_array(data, dtype)
    if isinstance(data, np.ndarray):
        return data.copy()
    arr = np.array(data)
    if arr.dtype == object and any(x is None for x in arr.flat):  # the cast below would make None a NaN
        raise TypeError("could not infer dtype of None")
    if arr.dtype.kind == "f" or (arr.dtype == object):
        arr = arr.astype(get_default_dtype())
    return arr
