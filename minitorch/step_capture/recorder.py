"""The Recorder: the observer that writes down every array-level call of one step, in order.

Each call becomes an :class:`Op`: what was called, on which (plain) arrays,
and which arrays it wrote.  Every array a call returns is either a view of
one of its operands (nothing to replay: the view stays valid as long as the
memory under it is refreshed) or new memory, which the recording keeps as a
*buffer* that the replay writes into again.  Keeping every buffer alive for as
long as the recording lives is what makes this work: no two buffers share
memory, so every view made during the recording still points at the right
values on a replay.  (The program then lets buffers whose lifetimes do not
overlap share memory, each view moving with its buffer: :mod:`.memory_plan`.)

The recorder is this thread's observer (:func:`minitorch.backend.observer`)
while the step runs, and is told, by minitorch itself:

* each kernel call, by the kernel dispatch (:mod:`minitorch.kernels`): one op,
  however much the kernel does inside, with the outputs it is handed;
* each array an op creates, by :func:`minitorch.backend.new_array` and
  :func:`~minitorch.backend.as_array`: a buffer, with its starting values;
* the tensors each op runs on (:func:`minitorch.tensor.apply`) and the tensors
  made in the step (their constructors): those from before the step are
  state that a replay depends on (see :mod:`.state`);
* the modules called and the optimizers stepped, through their global pre-hooks.

NumPy itself reports the rest, through :class:`~.traced.TracedArray`: the
ufuncs, functions and methods that ops apply to the step's arrays.  What such
a call did is read off its result, not looked up: an array over its operands'
memory is a view (nothing to replay), any other array is new memory (a
buffer), nothing at all means it wrote its first operand (``copyto``,
``fill``, ``a[i] = v``), and a Python value made from the data (``float``,
``bool``, ``.item()``) cannot be replayed.  Nothing of NumPy's or anyone
else's is replaced.  It refuses (:class:`~.errors.CaptureError`) Python values
made from the data, shapes that depend on the data, and tensors whose graph
began before the step.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minitorch.backend import observed_by
from minitorch.step_capture.errors import CaptureError
from minitorch.step_capture.traced import TracedArray, arrays_in, leaves, plain, plain_all, traced, tree_map


@dataclass
class Op:
    """One recorded call.

    ``kind``: ``"ufunc"`` (``kwargs`` holds ``out=``, so a replay allocates
    nothing), ``"kernel"`` (its outputs among ``args``), ``"call"`` (call, then
    copy each new result into its buffer), ``"init"`` (the starting values of
    an array made in the step), ``"guard"`` (see ``stop_if_not_finite``).
    ``results`` pairs a position in the returned tuple (None: a single array)
    with the buffer that holds that new result; ``writes``: the arrays the call
    writes, as far as the recorder knows.
    """

    kind: str
    name: str
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict = field(default_factory=dict)
    results: list = field(default_factory=list)
    writes: list = field(default_factory=list)

    def moved(self, move: Callable[[np.ndarray], np.ndarray]) -> Op:
        """The same call with every array in it replaced by ``move(array)`` (the same view, elsewhere)."""
        def each(value: Any) -> Any:
            return tree_map(lambda a: move(a) if isinstance(a, np.ndarray) else a, value)
        return Op(self.kind, self.name, self.fn, each(self.args), each(self.kwargs),
                  [(position, move(buf)) for position, buf in self.results], [move(w) for w in self.writes])


# What NumPy cannot tell from a result: calls whose result's shape depends on the values of their input.
DATA_SHAPED = {"numpy.nonzero", "numpy.argwhere", "numpy.flatnonzero", "numpy.unique", "numpy.extract",
               "numpy.compress", "numpy.trim_zeros", "ndarray.nonzero"}
# New arrays shaped like another (ops make theirs with backend.new_array; the optimizers' state, say, uses
# these), and what they fill it with (full_like: its argument).
_LIKE: dict[Any, Any] = {np.empty_like: None, np.zeros_like: 0, np.ones_like: 1, np.full_like: None}


def _any_traced(value: Any) -> bool:
    return any(type(a) is TracedArray for a in leaves(value))


class Recorder:
    """Records one run of a step; see the module docstring."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.ops: list[Op] = []
        self.buffers: list[np.ndarray] = []     # memory allocated during the recording, kept alive with it
        self.empties: list[np.ndarray] = []     # the buffers made without starting values
        self.failure: str | None = None         # why the step cannot be replayed (strict=False)
        self.met: dict[int, Any] = {}           # id -> module called, optimizer stepped, or tensor from before
        self.leaves: list[tuple[Any, np.ndarray]] = []  # (tensor, its own array) traced on first use
        self.made: dict[int, Any] = {}          # id -> tensor constructed during the step
        self.handed: list[weakref.ref] = []     # the traced arrays handed out to the step (see hand_out)
        self.twins: dict[int, TracedArray] = {}  # id(plain array) -> its traced twin
        self.stops: list[int] = []              # indices of the guard ops (stop_if_not_finite)
        self.on_stop: Callable[[Any], None] | None = None  # told the value of each guard as it is recorded

    # ---------------------------------------------------------------- helpers
    def hand_out(self, array: np.ndarray) -> TracedArray:
        """A traced array over ``array``, for the step; the recorder remembers it (weakly) to learn, after the
        step, which of its arrays something still holds (:meth:`held_elsewhere`)."""
        t = traced(array)
        self.handed.append(weakref.ref(t))
        return t

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
        self.refuse(f"capture: {what} turns a value computed in the step into a Python value, so the step's Python "
                    "code depends on the data and a replay cannot follow it; move it out of the step (for instance, "
                    "call .item() on the loss the step returns), or run the step uncaptured")

    def to_numpy(self, what: str) -> None:
        """A tensor's array handed to NumPy code in the step: NumPy reports back only some of what is done with it
        (``np.asarray``, ``np.array``, ``np.vectorize`` ... make plain arrays that the recorder never sees, whose
        values a replay would repeat), so a replay could differ silently."""
        self.refuse(f"capture: {what} in the step hands a tensor's array to NumPy code, which a recording cannot "
                    "follow through every NumPy call (a replay could repeat values computed when it recorded); "
                    "compute with minitorch's operations in the step, or run the step uncaptured")

    def data_shaped(self, what: str) -> None:
        self.refuse(f"capture: {what} gives a result whose shape depends on the data, which a replay cannot "
                    "reproduce; run the step uncaptured")

    def _new_buffer(self, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray):  # a NumPy scalar (a full reduction): kept as a 0-d array
            value = np.array(value)
        self.buffers.append(value)
        return value

    def _adopt(self, result: Any, operands: list, name: str) -> tuple[Any, list]:
        """(what the step gets back, [(position, buffer)] of the new memory in ``result``)."""
        if isinstance(result, np.ndarray):
            result = plain(result)
            if any(np.may_share_memory(result, a) for a in operands):
                return self.hand_out(result), []
            return self.hand_out(self._new_buffer(result)), [(None, result)]
        if isinstance(result, np.generic):
            buf = self._new_buffer(result)
            return self.hand_out(buf), [(None, buf)]
        if isinstance(result, tuple) and any(isinstance(r, (np.ndarray, np.generic)) for r in result):
            values: list[Any] = []
            slots: list[tuple[int, np.ndarray]] = []
            for i, r in enumerate(result):
                v, s = self._adopt(r, operands, name)
                values.append(v)
                slots.extend((i, buf) for _, buf in s)
            return (type(result)(*values) if hasattr(result, "_fields") else tuple(values)), slots
        if result is not None:
            self.python_value(f"{name}()")
        return result, []

    # ------------------------------------------------------- what TracedArray hands over
    def ufunc(self, ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
        args, kw = plain_all(inputs), plain_all(kwargs)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
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
        values = tuple(self.hand_out(b) for b in buffers)
        return values if several else values[0]

    def call(self, name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """A NumPy function or ndarray method (``name``: ``numpy.concatenate``, ``ndarray.reshape``): run on the
        plain arrays, and recorded unless it only made views (see the module docstring)."""
        if fn in _LIKE:
            fill = args[1] if fn is np.full_like and len(args) > 1 else kwargs.get("fill_value", _LIKE[fn])
            if not _any_traced(fill):
                return self.created(fn(*plain_all(args), **plain_all(kwargs)), fill)
        if name == "ndarray.__getitem__":
            return self._getitem(plain(args[0]), args[1])
        if name in DATA_SHAPED or (name == "numpy.where" and len(args) + len(kwargs) == 1) or (
                name == "ndarray.compress" and _any_traced(args[1:2])):
            self.data_shaped(name)
        pargs, pkw = plain_all(args), plain_all(kwargs)
        with observed_by(None):
            result = fn(*pargs, **pkw)
        operands = list(arrays_in((pargs, pkw)))
        writes = list(arrays_in(pkw.get("out")))
        if result is None and operands:  # NumPy's calls that return nothing write their first operand
            writes.append(operands[0])
        value, results = self._adopt(result, operands, name)
        if results or writes:
            self.ops.append(Op("call", name, fn, pargs, pkw, results, writes))
        return value

    def _getitem(self, p: np.ndarray, index: Any) -> Any:
        pidx = plain_all(index)
        if not _any_traced(index):  # basic indexing (a view) or a gather by constant indices
            result = p[pidx]
            if not isinstance(result, np.ndarray):  # one element: a 0-d view, not a NumPy scalar
                result = p[(pidx if isinstance(pidx, tuple) else (pidx,)) + (Ellipsis,)]
            if np.may_share_memory(result, p):
                return self.hand_out(result)
        else:
            parts = index if type(index) is tuple else (index,)
            if any(type(i) is TracedArray and i.dtype == np.bool_ for i in parts):
                self.data_shaped("indexing with a boolean mask computed in the step")
            result = np.array(p[pidx], copy=True)  # a gather, into a buffer of its own even where NumPy made a view
        buf = self._new_buffer(result)
        self.ops.append(Op("call", "ndarray.__getitem__", np.ndarray.__getitem__, (p, pidx), {}, [(None, buf)]))
        return self.hand_out(buf)

    # ------------------------------------------------------- what minitorch tells
    def created(self, array: np.ndarray, fill: Any) -> Any:
        """A new array made in the step (``new_array``, ``zeros_like`` ...): a buffer that starts as ``fill``
        (None: nothing to restore, the step writes it before reading it)."""
        if not isinstance(array, np.ndarray):
            self.refuse(f"capture: a {type(array).__module__}.{type(array).__name__} array (a GPU array?) made in "
                        "the step; capture records NumPy (CPU) steps only")
            return array
        self.buffers.append(array)
        if fill is None:
            self.empties.append(array)
        else:
            self.ops.append(Op("init", "fill", np.copyto, (array, fill), writes=[array]))
        return self.hand_out(array)

    def as_array(self, xp: Any, value: Any, dtype: Any) -> Any:
        """``backend.as_array``: a conversion of the step's arrays is a recorded call; anything else a constant."""
        if next(arrays_in(value), None) is not None:  # read on every replay: a view, or a recorded conversion
            return self.call("numpy.asarray", np.asarray, (value,), {"dtype": dtype})
        array = np.asarray(value, dtype=dtype)
        return self.created(array, array.copy())

    def kernel(self, kernel: Any, impl: Callable, args: tuple) -> Any:
        """A kernel call (:class:`minitorch.kernels.Kernel`): run into new buffers, recorded as one op that a
        replay runs again into the same ones."""
        pargs = plain_all(args)
        outs: list[Any] = []

        def new(shape: tuple, dtype: Any) -> np.ndarray:
            outs.append(self._new_buffer(np.empty(shape, dtype=dtype)))
            return outs[-1]

        with observed_by(None):
            result = kernel.run(impl, pargs, np, new)
        call = (*pargs, *(result if type(result) is tuple else () if result is None else (result,)))
        writes = outs + [pargs[i] for i in kernel.writes if isinstance(pargs[i], np.ndarray)]
        direct = impl.replay(*call) if hasattr(impl, "replay") else None  # the backend's quicker form, if any
        fn, call = direct if direct is not None else (impl, call)
        self.ops.append(Op("kernel", kernel.name, fn, call, {}, [], writes))
        return tree_map(lambda r: r if r is None else self.hand_out(r), result)

    def on_apply(self, inputs: tuple) -> None:
        """Every tensor an op runs on gets a traced array, so that work on it is recorded from then on."""
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
                self.met.setdefault(id(t), t)

    def saw_new_tensor(self, tensor: Any) -> None:
        self.made[id(tensor)] = tensor

    def held_elsewhere(self) -> list[np.ndarray]:
        """The arrays handed out to the step that something still holds once the recorder lets go of the tensors
        the step made (a tensor or array kept in an attribute that the state does not reach, say); call it
        after the step, when no frame of the step holds them any more."""
        self.made.clear()
        return [a for ref in self.handed if (a := ref()) is not None]

    def saw(self, root: Any) -> None:
        """A module called or an optimizer stepped (their global pre-hooks): state a replay depends on."""
        self.met.setdefault(id(root), root)

    def guard_finite(self, array: TracedArray) -> None:
        """Replays check here that ``array`` is finite, and stop the step where it is not."""
        self.ops.append(Op("guard", "stop_if_not_finite", all_finite, (plain(array), len(self.stops))))
        self.stops.append(len(self.ops) - 1)


def all_finite(array: Any) -> bool:
    """Whether ``array`` holds no NaN and no infinity; one float (a loss) as a Python float, where
    ``np.isfinite(a).all()`` took 1.4 us against 0.05 (every training step asks it once)."""
    if type(array) is np.ndarray and array.size == 1 and array.dtype.kind == "f" and array.itemsize <= 8:
        return math.isfinite(array.item())  # exact: float16, 32 and 64 widen to a Python float
    return bool(np.isfinite(array).all())
