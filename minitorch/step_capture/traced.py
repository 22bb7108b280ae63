"""TracedArray: an ndarray that reports what is done to it while a step is being recorded.

During recording every array of the step (its inputs, the model's and the
optimizer's arrays, and everything computed from them) is a ``TracedArray``:
an ndarray subclass that shares memory with a plain array, its *twin*.  NumPy
hands the subclass's operations to it: ufuncs through ``__array_ufunc__``,
most functions through ``__array_function__``; the methods that NumPy runs in
C without either protocol (``copy``, ``astype``, indexing ...) are overridden
below.  Each is passed to the active :class:`~.recorder.Recorder`, which runs
it on the twins and notes the call.  A traced array that outlives its
recording behaves as a plain ndarray.

This module also holds the one walker of the tuples, lists and dicts that
calls take and steps return (:func:`tree_map`, :func:`leaves`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minitorch.backend import observer as active_recorder  # this thread's recorder, or None


def tree_map(fn: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with ``fn`` applied to each leaf of its (nested) tuples, lists and dicts."""
    t = type(value)
    if t is tuple or t is list:
        return t(tree_map(fn, v) for v in value)
    if t is dict:
        return {k: tree_map(fn, v) for k, v in value.items()}
    return fn(value)


def leaves(value: Any) -> Iterator[Any]:
    """The leaves of ``value``'s (nested) tuples, lists and dicts, in order."""
    t = type(value)
    if t is tuple or t is list or t is dict:
        for v in (value.values() if t is dict else value):
            yield from leaves(v)
    else:
        yield value


def arrays_in(value: Any) -> Iterator[np.ndarray]:
    """The arrays among ``value``'s leaves."""
    return (a for a in leaves(value) if isinstance(a, np.ndarray))


def plain(x: Any) -> Any:
    """The plain ndarray twin of a traced array (anything else unchanged)."""
    if type(x) is TracedArray:
        twin = x.__dict__.get("_twin")
        if twin is None:  # a view NumPy made of a traced array (``a.T``): its twin is a plain view of it
            twin = x._twin = np.ndarray.view(x, np.ndarray)
        return twin
    return x


def plain_all(value: Any) -> Any:
    return tree_map(plain, value)


def traced(array: np.ndarray) -> TracedArray:
    """A traced array over ``array``'s memory, with ``array`` as its twin."""
    t = np.ndarray.view(array, TracedArray)
    t._twin = array
    return t


class TracedArray(np.ndarray):
    """See the module docstring.  Operations go to the active recorder, or run plainly without one."""

    _twin: np.ndarray  # the plain array over the same memory (set by ``traced``, or made by ``plain``)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        rec = active_recorder()
        if rec is None:
            return getattr(ufunc, method)(*plain_all(inputs), **plain_all(kwargs))
        return rec.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        rec = active_recorder()
        if rec is None:
            return func(*plain_all(args), **plain_all(kwargs))
        return rec.call(f"numpy.{getattr(func, '__name__', repr(func))}", func, args, kwargs)

    def __iter__(self):
        # ndarray's own iterator would hand out NumPy scalars, which escape the recording
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return repr(plain(self))

    __str__ = __repr__


# The ndarray methods that NumPy runs in C without either protocol.  What each did is read off its result
# (see Recorder.call).  Those left out (sum, max, clip, the operators ...) are built on ufuncs.
METHODS = (
    "__getitem__", "__setitem__", "reshape", "ravel", "flatten", "transpose", "swapaxes", "squeeze", "diagonal",
    "copy", "__copy__", "__deepcopy__", "astype", "conj", "conjugate", "repeat", "take", "choose", "compress",
    "dot", "argmax", "argmin", "argsort", "argpartition", "searchsorted", "nonzero", "fill", "sort", "partition",
    "put", "resize", "setfield", "getfield", "item", "tolist", "tobytes", "tofile", "dump", "dumps", "__float__",
    "__int__", "__bool__", "__index__", "__complex__", "__contains__", "__format__", "__dlpack__", "__reduce__",
    "__reduce_ex__",
)


def _method(name: str):
    unbound = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        rec = active_recorder()
        if rec is None:
            return unbound(plain(self), *plain_all(args), **plain_all(kwargs))
        return rec.call(f"ndarray.{name}", unbound, (self, *args), kwargs)

    method.__name__ = name
    method.__doc__ = unbound.__doc__
    return method


for _name in METHODS:
    setattr(TracedArray, _name, _method(_name))


def _escaping_property(name: str) -> property:
    """``a.flat`` and ``a.ctypes``: ways to reach the memory that no recorder can follow."""
    original = getattr(np.ndarray, name)

    def get(self):
        rec = active_recorder()
        if rec is not None:
            rec.python_value(f"ndarray.{name}")
        return original.__get__(plain(self))

    return property(get)


for _name in ("flat", "ctypes"):
    setattr(TracedArray, _name, _escaping_property(_name))

# ndarray.data is a memoryview, which would carry the memory out of the recording untraced; code
# written for tensors and arrays alike (``getattr(x, "data", x)``) wants the array, so it gets that.
TracedArray.data = property(lambda self: self)  # type: ignore[assignment]
