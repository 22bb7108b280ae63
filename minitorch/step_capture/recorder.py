"""The Recorder: runs one step on traced arrays and writes down every array-level call, in order.

Each call becomes an :class:`Op`: what was called, on which (plain) arrays,
and which arrays it wrote.  Every array the call returned is either a view of
one of its operands (nothing to replay: the view stays valid as long as the
memory under it is refreshed) or new memory, which the recording keeps as a
*buffer* that the replay writes into again.  Keeping every buffer alive for as
long as the recording lives is what makes this work: no two buffers share
memory, so every view made during the recording still points at the right
values on a replay.

What the recorder sees, and how:

* ufuncs and NumPy functions on traced arrays, through :mod:`.traced`;
* the compiled kernels, through ``minitorch.kernels.kernel_hook`` (a kernel is
  opaque: one op, however much it does inside, so a kernel whose path depends
  on the data, as max pooling's NaN fallback does, replays correctly);
* arrays created inside the step (``np.zeros``, ``np.asarray(0.5)``,
  ``np.ones_like`` ...), through stand-ins for those NumPy functions installed
  while recording: they become buffers whose initial values are replayed
  when a later op writes into them;
* which modules are called, which optimizers step, and which tensors from
  before the step it computes with (``minitorch.tensor.capture_hook``, and
  ``Tensor.__init__`` to tell them from tensors made in the step): the state
  a replay depends on (see :mod:`.state`).

It refuses (:class:`~minitorch.step_capture.CaptureError`): Python values made from
the data (``float``, ``bool``, ``.item()``), shapes that depend on the data
(``nonzero``, boolean masks), random numbers, numba functions called outside
the kernel dispatch, and tensors whose graph began before the step.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorch.step_capture import traced as _traced
from minitorch.step_capture.errors import CaptureError
from minitorch.step_capture.traced import (
    MUTATING_METHODS,
    PYTHON_VALUE_METHODS,
    VIEW_OR_COPY_METHODS,
    TracedArray,
    plain,
    plain_all,
    traced,
)

# The creation functions, bound before any stand-in replaces them, for the recorder's own use.
_array = np.array
_empty = np.empty


@dataclass
class Op:
    """One recorded call.

    ``kind``: ``"ufunc"`` (``kwargs`` holds ``out=``, so a replay allocates
    nothing), ``"call"`` and ``"kernel"`` (call, then copy each new result
    into its buffer).  ``results`` pairs a position in the returned tuple (or
    None for a single array) with the buffer that holds that new result; ``"init"`` (the initial values
    of an array created in the step), ``"guard"`` (see :func:`stop_if_not_finite`).
    ``writes``: the arrays the call writes, as far as the recorder knows.
    """

    kind: str
    name: str
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict = field(default_factory=dict)
    results: list = field(default_factory=list)
    writes: list = field(default_factory=list)


# NumPy functions whose result is a view (or the input itself) and that write nothing: skipped when they
# return views.  Any function not listed is recorded, even when it returns only views.
PURE_FUNCTIONS = {
    np.reshape, np.transpose, np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims, np.broadcast_to,
    np.broadcast_arrays, np.ravel, np.atleast_1d, np.atleast_2d, np.atleast_3d, np.diagonal, np.real, np.imag,
    np.split, np.array_split, np.flip, np.shape, np.ndim, np.size, np.result_type, np.may_share_memory,
    np.shares_memory, np.iscomplexobj, np.isrealobj, np.copy,
}
# Functions that return facts about shapes, dtypes or memory, never about values.
STATIC_FUNCTIONS = {np.shape, np.ndim, np.size, np.result_type, np.may_share_memory, np.shares_memory,
                    np.iscomplexobj, np.isrealobj}
# Functions whose result's shape depends on the values of their input.
DATA_SHAPED_FUNCTIONS = {np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.extract, np.compress,
                         np.trim_zeros}
# Functions that write into their first argument.
MUTATING_FUNCTIONS = {np.copyto, np.place, np.put, np.putmask, np.put_along_axis, np.fill_diagonal}
# Functions that take ``out=``: a new result is written there on a replay, with no allocation.
OUT_FUNCTIONS = {np.concatenate, np.dot, np.einsum, np.take, np.cumsum, np.cumprod}
_FILLED_LIKE: dict[Any, int] = {np.zeros_like: 0, np.ones_like: 1}

# The arguments (by position) each kernel of minitorch.kernels writes, beyond its results: none, but for
# sgd_update and batch_norm_running_stats.  A kernel not listed (a new one) is taken to write every array it is given.
KERNEL_WRITES: dict[str, tuple[int, ...]] = {name: () for name in (
    "conv_output_size", "im2col", "col2im", "conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad",
    "max_pool_forward", "max_pool_backward", "batch_norm_forward", "batch_norm_backward",
    "cross_entropy_forward", "cross_entropy_backward", "relu_forward", "relu_backward", "zero_padded",
    "linear_forward", "linear_weight_grad",
)}
KERNEL_WRITES["sgd_update"] = (0, 2)  # data, momentum_buffer
KERNEL_WRITES["batch_norm_running_stats"] = (0, 1)  # running_mean, running_var


def _arrays_in(value: Any) -> Iterator[np.ndarray]:
    t = type(value)
    if isinstance(value, np.ndarray):
        yield value
    elif t is tuple or t is list:
        for v in value:
            yield from _arrays_in(v)
    elif t is dict:
        for v in value.values():
            yield from _arrays_in(v)


def _contains_traced(value: Any) -> bool:
    t = type(value)
    if t is TracedArray:
        return True
    if t is tuple or t is list:
        return any(_contains_traced(v) for v in value)
    if t is dict:
        return any(_contains_traced(v) for v in value.values())
    return False


def _shares_memory_with(array: np.ndarray, operands: list) -> bool:
    return any(np.may_share_memory(array, a) for a in operands)


class _Suspended:
    """While inside: the recorder's own calls, and the code of a call it is recording, go unrecorded."""

    __slots__ = ("rec",)

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def __enter__(self) -> None:
        self.rec.suspended += 1

    def __exit__(self, *exc: Any) -> None:
        self.rec.suspended -= 1


class Recorder:
    """Records one run of a step; see the module docstring."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.ops: list[Op] = []
        self.buffers: list[np.ndarray] = []     # memory allocated during the recording, kept alive with it
        self.suspended = 0
        self.failure: str | None = None         # why the step cannot be replayed (strict=False)
        self.modules: dict[int, Any] = {}       # id -> module called during the step
        self.optimizers: dict[int, Any] = {}    # id -> optimizer used during the step
        self.leaves: list[tuple[Any, np.ndarray]] = []  # (tensor, its own array) traced on first use
        self.made: dict[int, Any] = {}          # id -> tensor constructed during the step
        self.outside: dict[int, Any] = {}       # id -> leaf tensor from before the step, met by an op
        self.twins: dict[int, TracedArray] = {}          # id(plain array) -> its traced twin
        self.stops: list[int] = []              # indices of the guard ops (stop_if_not_finite)
        self.on_stop: Callable[[Any], None] | None = None  # told the value of each guard as it is recorded
        self._quiet = _Suspended(self)
        self._kernel_views: dict[int, Any] = {}

    # ---------------------------------------------------------------- helpers
    def twin(self, array: np.ndarray) -> TracedArray:
        """The traced twin of a plain array, the same object every time it is asked for."""
        t = self.twins.get(id(array))
        if t is None:
            t = self.twins[id(array)] = traced(array)
        return t

    def refuse(self, message: str) -> None:
        """The step did something a replay cannot reproduce: raise, or (strict=False) note it and go on."""
        if self.strict:
            raise CaptureError(message)
        if self.failure is None:
            self.failure = message

    def python_value(self, what: str) -> None:
        self.refuse(
            f"capture: {what} turns a value computed in the step into a Python value, so the step's Python "
            "code depends on the data and a replay cannot follow it; move it out of the step (for instance, "
            "call .item() on the loss the step returns), or run the step uncaptured"
        )

    def data_shaped(self, what: str) -> None:
        self.refuse(f"capture: {what} gives a result whose shape depends on the data, which a replay cannot "
                    "reproduce; run the step uncaptured")

    def _new_buffer(self, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray):  # a NumPy scalar (a full reduction): kept as a 0-d array
            value = _array(value)
        self.buffers.append(value)
        return value

    def _adopt(self, result: Any, operands: list, name: str, static: bool) -> tuple[Any, list]:
        """(what the step gets back, [(position, buffer)] of the new memory in ``result``)."""
        if isinstance(result, np.ndarray):
            result = plain(result)
            if _shares_memory_with(result, operands):
                return traced(result), []
            return traced(self._new_buffer(result)), [(None, result)]
        if isinstance(result, tuple) and any(isinstance(r, (np.ndarray, np.generic)) for r in result):
            values: list[Any] = []
            slots: list[tuple[int, np.ndarray]] = []
            for i, r in enumerate(result):
                v, s = self._adopt(r, operands, name, static)
                values.append(v)
                slots.extend((i, buf) for _, buf in s)
            return (type(result)(*values) if hasattr(result, "_fields") else tuple(values)), slots
        if isinstance(result, np.generic):
            buf = self._new_buffer(result)
            return traced(buf), [(None, buf)]
        if result is not None and not static:
            self.python_value(f"{name}()")
        return result, []

    def _run(self, kind: str, name: str, fn: Callable, args: tuple, kwargs: dict, writes: list,
             pure: bool = False, static: bool = False) -> Any:
        """Call ``fn`` on the plain arrays, adopt its results, and record it unless it was a pure view."""
        with self._quiet:
            result = fn(*args, **kwargs)
        operands = list(_arrays_in((args, kwargs)))
        value, results = self._adopt(result, operands, name, static)
        if results or writes or not pure:
            self.ops.append(Op(kind, name, fn, args, kwargs, results, writes))
        return value

    # ------------------------------------------------------- what TracedArray hands over
    def ufunc(self, ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
        args, kw = plain_all(inputs), plain_all(kwargs)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        with self._quiet:
            result = fn(*args, **kw)
        if method == "at":  # unbuffered in-place: writes its first operand
            self.ops.append(Op("ufunc", name, fn, args, kw, writes=[args[0]]))
            return None
        out = kwargs.get("out")
        if out is not None:
            if any(o is None for o in out):
                self.refuse(f"capture: {name} with some but not all of its outputs given (out=) is not supported")
            self.ops.append(Op("ufunc", name, fn, args, kw, writes=list(kw["out"])))
            return out[0] if len(out) == 1 else out
        several = method == "__call__" and ufunc.nout > 1
        buffers = tuple(self._new_buffer(r) for r in (result if several else (result,)))
        kw = dict(kw)
        kw["out"] = buffers if method == "__call__" else buffers[0]
        results = [(i if several else None, b) for i, b in enumerate(buffers)]
        self.ops.append(Op("ufunc", name, fn, args, kw, results, writes=list(buffers)))
        values = tuple(traced(b) for b in buffers)
        return values if several else values[0]

    def function(self, func: Callable, args: tuple, kwargs: dict) -> Any:
        name = getattr(func, "__name__", repr(func))
        if func in DATA_SHAPED_FUNCTIONS or (func is np.where and len(args) + len(kwargs) == 1):
            self.data_shaped(f"numpy.{name}")
        pargs, pkw = plain_all(args), plain_all(kwargs)
        if func is np.empty_like:
            with self._quiet:
                return self.created(func(*pargs, **pkw), None)
        if func in _FILLED_LIKE or (func is np.full_like and not _contains_traced(args[1:])):
            value = _FILLED_LIKE.get(func, pargs[1] if len(pargs) > 1 else pkw.get("fill_value"))
            with self._quiet:
                return self.created(func(*pargs, **pkw), ("fill", value))
        writes = []
        if func in MUTATING_FUNCTIONS:
            writes.append(pargs[0])
        if pkw.get("out") is not None:
            writes.extend(_arrays_in(pkw["out"]))
        elif func in OUT_FUNCTIONS:  # a new result goes straight into its buffer on a replay
            with self._quiet:
                result = func(*pargs, **pkw)
            if isinstance(result, np.ndarray) and not _shares_memory_with(result, list(_arrays_in((pargs, pkw)))):
                buf = self._new_buffer(result)
                self.ops.append(Op("call", f"numpy.{name}", func, pargs, {**pkw, "out": buf}, writes=[buf]))
                return traced(buf)
        return self._run("call", f"numpy.{name}", func, pargs, pkw, writes,
                         pure=func in PURE_FUNCTIONS and not writes, static=func in STATIC_FUNCTIONS)

    def method(self, name: str, unbound: Callable, array: TracedArray, args: tuple, kwargs: dict) -> Any:
        p = plain(array)
        if name in PYTHON_VALUE_METHODS:
            self.python_value(f"ndarray.{name}")
            with self._quiet:
                return unbound(p, *plain_all(args), **plain_all(kwargs))
        if name == "__getitem__":
            return self._getitem(p, args[0])
        if name == "nonzero" or (name == "compress" and _contains_traced(args[:1])):
            self.data_shaped(f"ndarray.{name}")
        pargs, pkw = plain_all(args), plain_all(kwargs)
        writes = [p] if name in MUTATING_METHODS else []
        return self._run("call", f"ndarray.{name}", unbound, (p,) + pargs, pkw, writes,
                         pure=name in VIEW_OR_COPY_METHODS)

    def _getitem(self, p: np.ndarray, index: Any) -> Any:
        pidx = plain_all(index)
        if not _contains_traced(index):  # basic indexing (a view) or a gather by constant indices
            with self._quiet:
                result = p[pidx]
            if not isinstance(result, np.ndarray):  # one element: a 0-d view, not a NumPy scalar
                with self._quiet:
                    result = p[(pidx if isinstance(pidx, tuple) else (pidx,)) + (Ellipsis,)]
            if np.may_share_memory(result, p):
                return traced(result)
            buf = self._new_buffer(result)
            self.ops.append(Op("call", "ndarray.__getitem__", np.ndarray.__getitem__, (p, pidx), {}, [(None, buf)]))
            return traced(buf)
        for i in (index if isinstance(index, tuple) else (index,)):
            if type(i) is TracedArray and i.dtype == np.bool_:
                self.data_shaped("indexing with a boolean mask computed in the step")
        # indices computed in the step: a gather, into a buffer of its own even where NumPy made a view
        with self._quiet:
            result = p[pidx]
            buf = self._new_buffer(_array(result, copy=True))
        self.ops.append(Op("call", "ndarray.__getitem__", np.ndarray.__getitem__, (p, pidx), {}, [(None, buf)]))
        return traced(buf)

    # ------------------------------------------------------- arrays created in the step
    def created(self, array: np.ndarray, init: tuple | None) -> TracedArray:
        """A new array made in the step: a buffer; ``init`` (("fill", v) or ("copy", values)) is its start."""
        self.buffers.append(array)
        if init is not None:
            self.ops.append(Op("init", init[0], np.copyto, (array, init[1]), writes=[array]))
        return traced(array)

    # ------------------------------------------------------------- kernels
    def kernels(self, module: Any) -> Any:
        """``module`` (minitorch.kernels.cpu, ...) with each function's calls recorded as one op."""
        view = self._kernel_views.get(id(module))
        if view is None:
            view = self._kernel_views[id(module)] = _RecordedKernels(self, module)
        return view

    def kernel(self, name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        if self.suspended:
            return fn(*args, **kwargs)
        pargs, pkw = plain_all(args), plain_all(kwargs)
        short = name.rsplit(".", 1)[-1]
        if short in KERNEL_WRITES:
            writes = [pargs[i] for i in KERNEL_WRITES[short] if i < len(pargs) and isinstance(pargs[i], np.ndarray)]
        else:
            writes = list(_arrays_in((pargs, pkw)))
        return self._run("kernel", name, fn, pargs, pkw, writes)

    # ------------------------------------------------------------- tensors and modules
    def on_apply(self, inputs: tuple) -> None:
        """Every tensor an op runs on gets a traced array, so that work on it is recorded from then on."""
        if self.suspended:
            return
        for t in inputs:
            data = t._data
            if type(data) is TracedArray:
                continue
            if type(data) is not np.ndarray:
                raise CaptureError(f"capture: a tensor of type {type(data).__module__}.{type(data).__name__} "
                                   "(a GPU array?) in the step; capture records NumPy (CPU) steps only")
            if t._ctx is not None:
                raise CaptureError("capture: the step computes with a tensor whose graph was built before the step "
                                   "began; a replay could not run that graph's backward")
            t._data = self.twin(data)
            self.leaves.append((t, data))
            if id(t) not in self.made:  # made before the step (a free parameter, say): state to guard
                self.outside.setdefault(id(t), t)

    def saw_new_tensor(self, tensor: Any) -> None:
        self.made[id(tensor)] = tensor

    def saw_module(self, module: Any) -> None:
        self.modules.setdefault(id(module), module)

    def saw_optimizer(self, optimizer: Any) -> None:
        self.optimizers.setdefault(id(optimizer), optimizer)

    def guard_finite(self, array: TracedArray) -> None:
        """Replays check here that ``array`` is finite, and stop the step where it is not."""
        self.ops.append(Op("guard", "stop_if_not_finite", _all_finite, (plain(array), len(self.stops))))
        self.stops.append(len(self.ops) - 1)

    # ------------------------------------------------------------- activation
    @contextlib.contextmanager
    def active(self) -> Iterator[Recorder]:
        """Install the recorder (and the stand-ins and hooks it needs) for the duration of a step."""
        from minitorch.step_capture import hooks

        if _traced._active is not None:
            raise CaptureError("capture: a captured step was called while another step is being recorded")
        with hooks.installed(self):
            _traced._active = self
            try:
                yield self
            finally:
                _traced._active = None


def _all_finite(array: np.ndarray) -> bool:
    return bool(np.isfinite(array).all())


class _RecordedKernels:
    """A kernel module seen through a recorder: each call of one of its functions is recorded as one op."""

    def __init__(self, recorder: Recorder, module: Any) -> None:
        self._recorder = recorder
        self._module = module
        self._prefix = module.__name__.rsplit(".", 1)[-1]

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._module, name)
        if not callable(fn) or isinstance(fn, type):
            return fn
        rec, full = self._recorder, f"{self._prefix}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            return rec.kernel(full, fn, args, kwargs)

        setattr(self, name, call)
        return call
