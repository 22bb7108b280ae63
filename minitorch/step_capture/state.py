"""The Python state a captured step depends on: walking it, guarding it, tracing its arrays.

A recording bakes in every Python decision the step made: which modules ran in
training mode, the learning rate, which arrays the parameters hold, whether a
gradient was there to accumulate into.  So it may be replayed only while that
state is as it was when recording began.  The state is what is reachable from
the step's *roots* (the modules it called, the optimizers it used, the leaf
tensors it computed with) through module and optimizer attributes, dicts,
lists, tensors and minitorch's own objects (``SGD``'s flat groups).

:func:`walk` takes a :class:`Snapshot` of it: every *slot* (a dict entry, a
list element, a tensor's array ``_data``, its ``.grad`` tensor and that
tensor's array) and its value.  From a snapshot:

* :class:`Guard` checks, before each replay, that every slot still holds the
  same object (numbers and strings: an equal value), with two exceptions:
  gradients may be other tensors (each replay rebinds them), but must be
  present or absent as they were; version counters are not checked (a replay
  advances them as the recorded step did);
* :func:`trace_arrays` puts traced twins in the array slots for the recording,
  so that whatever the step does to them (``num_batches_tracked += 1``, the
  optimizer's arithmetic) is recorded; :func:`untrace` puts plain arrays back;
* :class:`Rebinding` is the difference between the state before and after the
  recorded step (new ``.grad`` tensors, above all; and how far the tensors'
  version counters advanced), which a replay re-applies.

Beyond the roots, :func:`reads_of` finds the globals and closure cells the
step function's code reads (and that of the functions it wraps and of its
model's own ``forward`` methods): each is guarded too (a number, string or
bool by value, anything else by identity); the modules, optimizers, tensors,
minitorch objects, dicts and lists among them, and the object whose method
the step is, are roots; and the NumPy arrays among them are traced as state
(:func:`arrays_read`).  :func:`random_states` says which random generators a
step drew from, which a replay could not (it would repeat the same numbers).
"""
from __future__ import annotations

import dis
import functools
import math
import operator
import pickle
import random
import types
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from minitorch.nn.modules.module import Module
from minitorch.optim.optimizer import Optimizer
from minitorch.step_capture.errors import CaptureError
from minitorch.step_capture.traced import TracedArray, plain
from minitorch.tensor import Tensor

_SCALARS = (bool, int, float, complex, str, bytes, type(None), np.dtype, np.generic, range, slice)
_is = operator.is_
_data = operator.attrgetter("_data")
_grad = operator.attrgetter("_grad")
_requires = operator.attrgetter("requires_grad")
_ctx = operator.attrgetter("_ctx")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, _SCALARS) or (type(value) is tuple and all(_is_scalar(v) for v in value))


def exact(value: Any) -> Any:
    """A key that two values share only where a step could not tell them apart: Python's ``==`` would make
    ``1 == 1.0``, ``0.0 == -0.0`` and ``(1, 2) == (1.0, 2.0)``, so every number's type and a zero's sign count."""
    if type(value) is tuple:
        return tuple, tuple(exact(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return type(value), value, math.copysign(1.0, value)
    return type(value), value


def _same(a: Any, b: Any) -> bool:
    """The guard's equality: the same object, or equal numbers, strings and tuples of them (:func:`exact`)."""
    return a is b or (_is_scalar(a) and exact(a) == exact(b))


def _is_minitorch_object(value: Any) -> bool:
    return type(value).__module__.startswith("minitorch.") and not isinstance(value, type)


class Slot:
    """A place that holds a value: ``holder[key]`` (dicts, lists) or ``holder.key`` (tensors, slotted objects)."""

    __slots__ = ("holder", "key", "attr")

    def __init__(self, holder: Any, key: Any, attr: bool) -> None:
        self.holder, self.key, self.attr = holder, key, attr

    def get(self) -> Any:
        return getattr(self.holder, self.key) if self.attr else self.holder[self.key]

    def set(self, value: Any) -> None:
        if self.attr:
            setattr(self.holder, self.key, value)
        elif type(self.holder) is list and self.key == len(self.holder):
            self.holder.append(value)
        else:
            self.holder[self.key] = value

    def ident(self) -> tuple[int, Any]:
        return id(self.holder), self.key

    def getter(self) -> Callable[[], Any]:
        """``get`` as one C-level call, for the guard's checks before every replay (a global no longer there
        reads as None; a closure cell emptied since raises ValueError, as ``get`` does)."""
        if self.attr:
            return functools.partial(getattr, self.holder, self.key)
        return functools.partial(self.holder.get, self.key)


class GradData(Slot):
    """A tensor's gradient's array, reached through the tensor: a replay rebinds the array of whichever tensor
    holds the gradient by then (the caller may have put another there, ``p.grad = p.grad * 0.5``)."""

    __slots__ = ()

    def get(self) -> Any:
        return self.holder._grad._data

    def set(self, value: Any) -> None:
        self.holder._grad._data = value


# One global or closure variable a step reads: (its name in messages, its value when recording began, its Slot).
Read = tuple[str, Any, Slot | None]


def arrays_read(reads: list[Read]) -> Snapshot:
    """The NumPy arrays among the globals and closure variables a step reads, as state: traced while it records
    (what it computes from them, ``float(SCALE)`` say, is then recorded or refused), read on every replay."""
    snap = Snapshot()
    for _, _, slot in reads:
        if slot is None:
            continue
        try:
            value = slot.get()
        except (KeyError, ValueError):  # deleted since (a global, a closure cell)
            continue
        if isinstance(value, np.ndarray):
            snap.slots.append(slot)
            snap.values.append(value)
    return snap


class Snapshot:
    """What one walk found: slots with their values, the containers to guard, the tensors."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.values: list[Any] = []
        self.dicts: list[dict] = []
        self.lists: list[list] = []
        self.objects: list[tuple[Any, tuple[str, ...]]] = []  # minitorch objects with __slots__
        self.tensors: list[Tensor] = []
        self.seen: set[int] = set()
        self.labels: dict[int, str] = {}  # id(attribute dict) -> its object's class name, for messages
        self.versions: dict[int, tuple[Any, int]] = {}  # id -> (a tensor's version counter, its value then)

    def arrays(self) -> Iterable[tuple[Slot, np.ndarray]]:
        for slot, value in zip(self.slots, self.values, strict=True):
            if isinstance(value, np.ndarray):
                yield slot, value


def walk(roots: Iterable[Any], refuse_tuples: bool = True) -> Snapshot:
    """Everything reachable from ``roots`` (see the module docstring), each container once.

    Arrays in tuples cannot be swapped for traced ones: CaptureError, unless ``refuse_tuples`` is False
    (after a step, when nothing must stop the state from being restored).
    """
    snap = Snapshot()
    todo = list(roots)[::-1]

    def slot(holder: Any, key: Any, attr: bool, value: Any, descend: bool = True) -> None:
        snap.slots.append(Slot(holder, key, attr))
        snap.values.append(value)
        if not descend:
            return
        if isinstance(value, (Tensor, dict, list, Module, Optimizer)) or (
            _is_minitorch_object(value) and not isinstance(value, np.ndarray)
        ):
            todo.append(value)
        elif refuse_tuples and type(value) is tuple and any(isinstance(v, (np.ndarray, Tensor)) for v in value):
            raise CaptureError(f"capture: a tuple holding arrays in {type(holder).__name__}[{key!r}]; the recorder "
                               "can trace arrays held in modules, tensors, dicts and lists, not in tuples")

    while todo:
        obj = todo.pop()
        if id(obj) in snap.seen:
            continue
        snap.seen.add(id(obj))
        if isinstance(obj, Tensor):
            snap.tensors.append(obj)
            slot(obj, "_data", True, obj._data)
            grad, version = obj._grad, obj._version
            slot(obj, "_grad", True, grad, descend=False)  # guarded present-or-absent, not as a tensor
            if grad is not None:
                snap.seen.add(id(grad))
                snap.slots.append(GradData(obj, "_grad._data", True))
                snap.values.append(grad._data)
            slot(obj, "_version", True, version, descend=False)
            if version is not None:
                snap.versions[id(version)] = (version, version.value)
        elif isinstance(obj, dict):
            snap.dicts.append(obj)
            for key, value in list(obj.items()):
                slot(obj, key, False, value)
        elif type(obj) is list:
            snap.lists.append(obj)
            for i, value in enumerate(list(obj)):
                slot(obj, i, False, value)
        elif hasattr(obj, "__dict__"):  # modules, optimizers, minitorch's own objects: their attributes
            attributes = vars(obj)
            snap.labels[id(attributes)] = type(obj).__name__
            todo.append(attributes)
        else:
            names = tuple(n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ()) if hasattr(obj, n))
            snap.objects.append((obj, names))
            for n in names:
                slot(obj, n, True, getattr(obj, n))
    return snap


def reads_of(fn: Any, known: Iterable[Any] = ()) -> tuple[list[Read], list[Any]]:
    """The globals and closure cells ``fn``'s code reads, as ``[(name, value now, slot)]``, and the roots
    among their values: modules, optimizers, tensors, minitorch's other objects (an LR scheduler), dicts and
    lists; and the object whose method ``fn`` is.

    Read through in turn: functions of the step's own module that it reads (helpers, lambdas), the function a
    decorator wraps (``__wrapped__``), and the ``forward`` of every module inside the modules among those
    values, ``fn``'s object and ``known`` (roots found before) whose class is not minitorch's own (a model's
    forward may read a global too).
    """
    roots: list[Any] = []
    while isinstance(fn, (types.MethodType, functools.partial)):
        if isinstance(fn, types.MethodType):
            roots.append(fn.__self__)
            fn = fn.__func__
        else:
            roots.extend(fn.args)
            fn = fn.func
    reads: list[Read] = []
    todo = [fn] if isinstance(fn, types.FunctionType) else []
    todo += _forwards([*known, *roots])  # roots: the object whose method fn is, a partial's arguments
    done: set[int] = set()
    while todo:
        f = todo.pop()
        if id(f) in done:
            continue
        done.add(id(f))
        names: set[str] = set()
        codes = [f.__code__]
        while codes:
            c = codes.pop()
            names.update(i.argval for i in dis.get_instructions(c) if i.opname in _GLOBAL_LOADS)
            codes.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        space = f.__globals__
        found: list[Read] = [(f"global {n!r}", space[n], Slot(space, n, False)) for n in sorted(names) if n in space]
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or (), strict=True):
            try:
                value = cell.cell_contents
            except ValueError:  # not assigned yet
                continue
            found.append((f"closure variable {name!r}", value, Slot(cell, "cell_contents", True)))
        reads.extend(found)
        todo.extend(v for _, v, _ in found if isinstance(v, types.FunctionType) and v.__globals__ is space)
        todo.extend(_forwards(v for _, v, _ in found))
        if isinstance(wrapped := getattr(f, "__wrapped__", None), types.FunctionType):
            todo.append(wrapped)
    roots = [r for r in roots if hasattr(r, "__dict__") and not isinstance(r, (type, types.ModuleType))]
    roots.extend(v for _, v, _ in reads if isinstance(v, (Module, Optimizer, Tensor, dict, list))
                 or (_is_minitorch_object(v) and not type(v).__module__.startswith(__package__)))  # not a Captured
    return reads, roots


_GLOBAL_LOADS = {"LOAD_GLOBAL", "LOAD_NAME"}  # what a function's code reads from its module


def _forwards(values: Iterable[Any]) -> list[types.FunctionType]:
    """The ``forward`` functions of the modules inside the modules among ``values``, minitorch's own left out."""
    return [f for r in values if isinstance(r, Module) for m in r.modules()
            if isinstance(f := getattr(type(m), "forward", None), types.FunctionType)
            and not type(m).__module__.startswith("minitorch.")]


def random_states(reads: list, snap: Snapshot) -> dict[str, bytes]:
    """The state of every random generator a step could draw from, by what to call it in a message."""
    from minitorch import random as mt_random

    found: dict[str, Any] = {
        "numpy.random (NumPy's global generator)": np.random.get_state,
        "Python's random module": random.getstate,
        "minitorch.random (randn, rand, dropout ...)": mt_random.get_rng_state,
    }
    named = [(name, value) for name, value, _ in reads]
    named += [(f"{type(s.holder).__name__}[{s.key!r}]", v) for s, v in zip(snap.slots, snap.values, strict=True)]
    for name, value in named:
        if isinstance(value, np.random.Generator):
            found[f"the numpy.random.Generator in {name}"] = functools.partial(getattr, value.bit_generator, "state")
        elif isinstance(value, (np.random.RandomState, random.Random)):
            found[f"the {type(value).__module__}.{type(value).__name__} in {name}"] = (
                value.get_state if isinstance(value, np.random.RandomState) else value.getstate)
    return {name: pickle.dumps(state()) for name, state in found.items()}


class Guard:
    """Checks that the state is as it was at the snapshot (see the module docstring).

    The common case, nothing changed, is a handful of C-level passes over
    flat lists of every container's keys and values, compared by identity;
    only a mismatch looks closer (an equal number in a new object is fine).
    """

    def __init__(self, snap: Snapshot, reads: list | None = None) -> None:
        # the step function's globals and closure cells (reads_of), each as (name, getter, value)
        self.reads = [(name, slot.getter(), value) for name, value, slot in reads or ()]
        # strong references to every value: an object the guard compares by identity can then not be
        # freed and its id reused by a newcomer
        self.dicts, self.lists, self.labels = snap.dicts, snap.lists, snap.labels
        self._remember_containers()
        self.objects = [(o, names, [getattr(o, n) for n in names]) for o, names in snap.objects]
        ts = self.tensors = snap.tensors
        self.datas = list(map(_data, ts))
        self.no_grads = [g is None for g in map(_grad, ts)]
        self.requires = list(map(_requires, ts))
        self.ctxs = list(map(_ctx, ts))

    def _remember_containers(self) -> None:
        self.dict_sizes = list(map(len, self.dicts))
        self.keys = list(chain.from_iterable(self.dicts))
        self.plain_keys = all(type(k) is str or type(k) is int for k in self.keys)
        self.values = list(chain.from_iterable(map(dict.values, self.dicts)))
        self.list_sizes = list(map(len, self.lists))
        self.items = list(chain.from_iterable(self.lists))
        self.old = {id(c): (list(c), list(c.values()) if isinstance(c, dict) else None)
                    for c in (*self.dicts, *self.lists)}

    def changed(self) -> str | None:
        """None when a replay may run; otherwise what changed, in words."""
        for name, get, value in self.reads:
            now = get()
            if now is not value and not _same(now, value):  # the same object: no call to ask
                return f"the step's {name} changed"
        dicts, lists = self.dicts, self.lists
        if (list(map(len, dicts)) != self.dict_sizes or list(map(len, lists)) != self.list_sizes
                or (list(chain.from_iterable(dicts)) != self.keys if self.plain_keys  # str, int: == is safe
                    else not all(map(_is, chain.from_iterable(dicts), self.keys)))
                or not all(map(_is, chain.from_iterable(map(dict.values, dicts)), self.values))
                or not all(map(_is, chain.from_iterable(lists), self.items))):
            what = self._what_changed()
            if what:
                return what
            self._remember_containers()  # only equal numbers in new objects: compare fast next time
        for o, names, values in self.objects:
            for n, v in zip(names, values, strict=True):
                if not _same(getattr(o, n, None), v):
                    return f"{type(o).__name__}.{n} changed"
        ts = self.tensors
        if not all(map(_is, map(_data, ts), self.datas)):
            return "a tensor's array was replaced"
        if [g is None for g in map(_grad, ts)] != self.no_grads:
            return "a gradient appeared or was cleared (.grad)"
        if list(map(_requires, ts)) != self.requires:
            return "requires_grad changed"
        if not all(map(_is, map(_ctx, ts), self.ctxs)):
            return "a tensor's grad_fn changed"
        return None

    def _what_changed(self) -> str | None:
        for d in self.dicts:
            keys, values = self.old[id(d)]
            what = _compare(list(d), keys, list(d.values()), values or [])
            if what:
                owner = self.labels.get(id(d))
                return f"{what} in the attributes of {owner}" if owner else f"{what} in a dict"
        for lst in self.lists:
            items, _ = self.old[id(lst)]
            what = _compare(list(range(len(lst))), list(range(len(items))), list(lst), items)
            if what:
                return f"{what} in a list"
        return None


def _compare(keys: list, old_keys: list, values: list, old_values: list) -> str | None:
    if keys != old_keys:
        return f"keys {sorted(map(str, set(keys) ^ set(old_keys)))} added or removed"
    for k, v, old in zip(keys, values, old_values, strict=True):
        if not _same(v, old):
            return f"{k!r} changed"
    return None


def trace_arrays(snap: Snapshot, twin: Any) -> list[np.ndarray]:
    """Put each slot's array's traced twin (``twin(array)``) in its place; returns the plain arrays."""
    originals = []
    for slot, value in snap.arrays():
        if type(value) is TracedArray:
            continue
        if type(value) is not np.ndarray:
            raise CaptureError(f"capture: {type(value).__module__}.{type(value).__name__} in the step's state "
                               "(a GPU array?); capture records NumPy (CPU) steps only")
        slot.set(twin(value))
        originals.append(value)
    return originals


def untrace(snap: Snapshot) -> None:
    """Put plain arrays back wherever the walk found traced ones."""
    for slot, value in snap.arrays():
        if type(value) is TracedArray:
            slot.set(plain(value))


class Rebinding:
    """The slots whose value the recorded step changed, and their new values, re-applied after a replay."""

    def __init__(self, before: Snapshot, after: Snapshot, relocate: Callable[[Any], Any] = lambda v: v) -> None:
        old = {s.ident(): v for s, v in zip(before.slots, before.values, strict=True)}
        self.sets: list[tuple[Slot, Any]] = []
        for slot, value in zip(after.slots, after.values, strict=True):
            value = plain(value)
            key = slot.ident()
            # changed slots, new entries in old containers, and every slot of an object the step made (the
            # replay reuses that object: say a .grad tensor, whose array another recording may have moved)
            if key not in old or old[key] is not value:
                self.sets.append((slot, relocate(value) if isinstance(value, np.ndarray) else value))
        after_keys = {s.ident() for s in after.slots}
        self.deletes = [s for s in before.slots if s.ident() not in after_keys and isinstance(s.holder, dict)
                        and id(s.holder) in after.seen]
        # the common case, .grad of tensors, as two parallel lists for a quick loop
        self.grads = [(s.holder, v) for s, v in self.sets if s.attr and s.key == "_grad"]
        self.others = [(s, v) for s, v in self.sets if not (s.attr and s.key == "_grad")]
        # version counters: each replay advances them as far as the recorded step did
        self.versions = []
        for vid, (counter, value) in after.versions.items():
            start = before.versions[vid][1] if vid in before.versions else 0
            if value != start:
                self.versions.append((counter, value - start))

    def apply(self) -> None:
        for tensor, grad in self.grads:
            tensor._grad = grad
        for slot, value in self.others:
            slot.set(value)
        for counter, advance in self.versions:
            counter.value += advance
        for slot in self.deletes:
            slot.holder.pop(slot.key, None)
