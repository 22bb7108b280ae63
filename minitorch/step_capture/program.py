"""A recording made replayable: checked once, then a flat list of calls into preallocated buffers.

:func:`build` turns the recorder's ops into *steps*, ``(function, args,
kwargs)`` triples that :meth:`Program.run` calls in order; nothing else runs on
a replay.  On the way it

* checks where each op writes: into the state (parameters, buffers, optimizer
  state), into memory the recording allocated, or else nowhere the recorder
  knows of, which it refuses (a replay would not restore that memory's
  starting values), as it refuses a step that writes into its own inputs;
* drops the initial values of arrays that nothing writes after they are made
  (constants keep the values they were recorded with), and the ufuncs and
  copies computed from constants alone;
* has the gradients SGD concatenates computed in place (:mod:`.relocation`);
* lets buffers whose lifetimes do not overlap share memory (:mod:`.memory_plan`);
* gives each op its cheapest faithful form: a ufunc gets its buffer as
  ``out=``, a copy becomes ``np.copyto``, a kernel runs its implementation
  into the outputs it wrote when recorded; anything else is called as
  recorded and its new results copied into their buffers.

The same functions run on the same values in the same order as in the eager
step, so a replay gives bit-identical results.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.array_utils import byte_bounds

from minitorch.step_capture.errors import CaptureError
from minitorch.step_capture.memory_plan import share_storage
from minitorch.step_capture.recorder import Op, Recorder, all_finite
from minitorch.step_capture.relocation import Relocate, relocate_into_concatenations
from minitorch.step_capture.traced import arrays_in


class Stop(Exception):
    """A guard failed on a replay: the step ends at its ``index``-th guard."""

    def __init__(self, index: int) -> None:
        self.index = index


class Program:
    """The steps of one recording, run in order."""

    def __init__(self, steps: list[tuple[Callable[..., Any], tuple | list, dict]], names: list[str]) -> None:
        self.steps = steps
        self.names = names  # what each step replays, for debugging and tests

    def run(self) -> None:
        for fn, args, kwargs in self.steps:
            fn(*args, **kwargs)

    def __len__(self) -> int:
        return len(self.steps)

    def uses_of(self, buf: np.ndarray) -> list[InputUse] | None:
        """Where the steps read ``buf`` (an input buffer), so that a replay can pass the caller's array there.

        None when some step holds it where it cannot be replaced (inside a nested argument).  The steps
        that read it get their arguments as lists, into which :meth:`InputUse.bind` puts new views.
        """
        uses: list[InputUse] = []
        for i, (fn, args, kwargs) in enumerate(self.steps):
            if any(_overlaps(a, buf) for a in arrays_in(kwargs)):
                return None
            positions = []
            for j, a in enumerate(args):
                if isinstance(a, np.ndarray):
                    if _overlaps(a, buf):
                        positions.append(j)
                elif any(_overlaps(b, buf) for b in arrays_in(a)):
                    return None
            if positions:
                arguments = list(args)
                self.steps[i] = (fn, arguments, kwargs)  # a list: InputUse.bind replaces its items
                uses.extend(InputUse(arguments, j, buf) for j in positions)
        return uses


class InputUse:
    """One argument of a step that is a view of an input buffer, and how to make it a view of another array."""

    __slots__ = ("args", "index", "original", "shape", "strides", "offset", "form")

    def __init__(self, args: list, index: int, buf: np.ndarray) -> None:
        view = args[index]
        self.args, self.index, self.original = args, index, view
        self.shape, self.strides = view.shape, view.strides
        self.offset = view.__array_interface__["data"][0] - buf.__array_interface__["data"][0]
        # the cheapest way to make it (a replay binds every use of every new batch): the array itself, a
        # reshape of it (what Flatten made), or the general view
        if self.offset == 0 and view.dtype == buf.dtype and view.size == buf.size and view.flags.c_contiguous:
            self.form = "whole" if view.shape == buf.shape else "reshape"
        else:
            self.form = "view"

    def bind(self, array: np.ndarray) -> None:
        """The same view, of ``array`` (C-contiguous, of the buffer's shape and dtype)."""
        form = self.form
        if form == "whole":
            self.args[self.index] = array
        elif form == "reshape":
            self.args[self.index] = array.reshape(self.shape)
        else:
            self.args[self.index] = np.ndarray(self.shape, self.original.dtype, array, self.offset, self.strides)

    def unbind(self) -> None:
        self.args[self.index] = self.original


class _Owners:
    """Which memory a written array lies in: the state, the step's inputs, or the recording's buffers."""

    def __init__(self, groups: dict[str, list[np.ndarray]]) -> None:
        self.spans = [(*byte_bounds(a), kind, a) for kind, arrays in groups.items() for a in arrays if a.size]

    def owner(self, array: np.ndarray) -> tuple[str, np.ndarray] | None:
        lo, hi = byte_bounds(array)
        for start, end, kind, a in self.spans:
            if start <= lo and hi <= end:
                return kind, a
        return None


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a.size and b.size) and np.may_share_memory(a, b)


def build(rec: Recorder, state: list[np.ndarray], inputs: list[np.ndarray], entry_grads: list[np.ndarray],
          kept: list[np.ndarray]) -> tuple[Program, list[int], Relocate]:
    """The program of a finished recording, the indices of the ``entry_grads`` it reads, and where arrays
    that the program now computes elsewhere went (see :mod:`.relocation`).  ``kept``: the arrays that
    outlive a replay (the state after it, what it returns), which keep their own memory (:mod:`.memory_plan`)."""
    owners = _Owners({"state": state, "input": inputs, "buffer": rec.buffers})
    for op in rec.ops:
        for w in op.writes:
            if not w.size:
                continue
            found = owners.owner(w)
            if found is None:
                raise CaptureError(
                    f"capture: {op.name} writes into an array the recorder did not see made and that no "
                    "module, optimizer or tensor of the step holds (a NumPy array from outside the step?); "
                    "a replay could not restore its values. Keep such arrays in a module (register_buffer)"
                )
            if found[0] == "input":
                raise CaptureError(f"capture: {op.name} writes into an input of the step, which a replay would not "
                                   "do to the caller's array; copy the input in the step and change the copy")
    for buf in rec.empties:  # made without values: a replay reads garbage unless a recorded op writes it
        if buf.size and not any(_overlaps(w, buf) for op in rec.ops for w in op.writes):
            raise CaptureError(_UNSEEN)
    ops, constants = _drop_unwritten_inits(rec.ops)
    ops = _fold_constants(ops, constants)
    ops, relocate = relocate_into_concatenations(ops, rec.buffers)
    ops = share_storage(ops, rec.buffers, kept)
    grads_read = [i for i, g in enumerate(entry_grads)
                  if any(_overlaps(a, g) for op in ops for a in arrays_in((op.args, op.kwargs)))]
    steps = [_step(op) for op in ops]
    return Program(steps, [op.name for op in ops]), grads_read, relocate


def _drop_unwritten_inits(ops: list[Op]) -> tuple[list[Op], list[np.ndarray]]:
    """An array made in the step and never written afterwards is a constant: it keeps its recorded values.

    Returns the ops left and those constants.  A constant whose values are no longer its starting ones
    was written by something the recorder did not see (a numba function called outside
    ``minitorch.kernels``, say): a replay would not write it again, so that is refused.
    """
    kept, constants = [], []
    for i, op in enumerate(ops):
        if op.kind == "init":
            buf = op.args[0]
            if not any(_overlaps(w, buf) for later in ops[i + 1:] for w in later.writes):
                start = np.broadcast_to(op.args[1], buf.shape)  # a fill value (zeros_like's 0) or an array
                if not np.array_equal(buf, start, equal_nan=buf.dtype.kind in "fc"):
                    raise CaptureError(_UNSEEN)
                constants.append(buf)
                continue
        kept.append(op)
    return kept, constants


_UNSEEN = ("capture: an array made in the step was written by something the recorder did not see (a numba function "
           "called with the step's arrays outside minitorch.kernels?); a replay would not write it again. Call "
           "compiled code through a kernel of minitorch.kernels")


def _fold_constants(ops: list[Op], constants: list[np.ndarray]) -> list[Op]:
    """Drop the ufuncs and copies whose operands are all constants: their results are constants too.

    (The seed of backward, ``ones / n``, and what is made of it, for instance.)
    """
    spans = [byte_bounds(c) for c in constants if c.size]

    def constant(a: np.ndarray) -> bool:
        if not a.size:
            return True
        lo, hi = byte_bounds(a)
        return any(start <= lo and hi <= end for start, end in spans)

    kept = []
    for i, op in enumerate(ops):
        buffers = [buf for _, buf in op.results]
        foldable = (op.kind == "ufunc" or (op.kind == "call" and op.name in _COPIES)) and buffers and (
            all(any(w is b for b in buffers) for w in op.writes)
            and all(constant(a) for a in arrays_in((op.args, {k: v for k, v in op.kwargs.items() if k != "out"})))
            and not any(_overlaps(w, b) for j, other in enumerate(ops) if j != i for w in other.writes for b in buffers)
        )
        if foldable:
            spans.extend(byte_bounds(b) for b in buffers if b.size)
            continue
        kept.append(op)
    return kept


def _guard(array: np.ndarray, index: int) -> None:
    if not all_finite(array):
        raise Stop(index)


def _call_and_copy(fn: Callable, args: tuple, kwargs: dict, results: list, name: str) -> None:
    out = fn(*args, **kwargs)
    for position, buf in results:
        value = out if position is None else out[position]
        if np.shape(value) != buf.shape:
            raise CaptureError(f"capture: on a replay, {name} gave a result of shape {np.shape(value)} where the "
                               f"recording had {buf.shape}: its shape depends on the data")
        np.copyto(buf, value)


# Calls whose new result is a copy of their first argument, as they are replayed: np.copyto into the buffer.
_COPIES = {"ndarray.copy", "ndarray.__copy__", "ndarray.__deepcopy__", "ndarray.astype", "numpy.copy",
           "numpy.array", "numpy.asarray", "numpy.asanyarray", "numpy.ascontiguousarray", "numpy.asfortranarray"}
_NO_POSITIONAL_OUT = {np.maximum, np.minimum}  # NumPy 2.4 deprecates a third positional argument for these
_REDUCE_KEYWORDS = {"axis", "dtype", "out", "keepdims", "where"}
_C_ORDER_COPIES = {"ndarray.reshape", "ndarray.ravel", "ndarray.flatten"}  # copies in C order when not a view


def _step(op: Op) -> tuple[Callable[..., Any], Any, dict]:
    if op.kind == "ufunc":
        kw = op.kwargs
        if len(kw) == 1 and "out" in kw and isinstance(op.fn, np.ufunc) and op.fn not in _NO_POSITIONAL_OUT:
            # positional out: the quickest call
            out = kw["out"]
            return op.fn, op.args + (out if isinstance(out, tuple) else (out,)), {}
        if getattr(op.fn, "__name__", "") == "reduce" and len(op.args) == 1 and set(kw) <= _REDUCE_KEYWORDS \
                and kw.get("where", True) is True:  # reduce(array, axis, dtype, out, keepdims)
            return op.fn, (op.args[0], kw.get("axis", 0), kw.get("dtype"), kw.get("out"), kw.get("keepdims", False)), {}
        return op.fn, op.args, kw
    if op.kind == "init":
        return np.copyto, op.args, {}
    if op.kind == "guard":
        return _guard, op.args, {}
    if not op.results:
        return op.fn, op.args, op.kwargs
    copy = _as_copy(op)
    if copy is not None:
        return copy
    return _call_and_copy, (op.fn, op.args, op.kwargs, op.results, op.name), {}


def _as_copy(op: Op) -> tuple[Callable[..., Any], Any, dict] | None:
    if len(op.results) != 1 or not op.args or not isinstance(op.args[0], np.ndarray):
        return None
    src, buf = op.args[0], op.results[0][1]
    if op.name in _COPIES and src.shape == buf.shape:
        return np.copyto, (buf, src), {"casting": "unsafe"}
    if (op.name in _C_ORDER_COPIES and "order" not in op.kwargs and src.size == buf.size
            and buf.flags.c_contiguous):
        return np.copyto, (buf.reshape(src.shape), src), {}
    return None
