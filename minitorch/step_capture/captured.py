"""``capture(fn)``: the callable that records a step once and replays it afterwards.

A call looks up the recordings made for its *signature* (the shapes and
dtypes of its array arguments, its other arguments, grad mode, the default
dtype) and replays the first whose :class:`~.state.Guard` finds the state
unchanged.  Otherwise it records: the call runs eagerly on traced arrays
(:mod:`.recorder`), and the result is kept as a :class:`Recording`.

The first call of all, and any call that meets a module, optimizer or tensor
from outside the step that the recorder has not seen before, only
*discovers*: it runs and records, learns the step's roots, and keeps nothing,
because the new objects' arrays were not traced from the start of the step.
A training step therefore records on its second call (the first optimizer
step also creates its state) and replays from its third.

Every call returns what the eager step would have: a replay's result is the
recording's output tensors, refilled.  Replays are not thread-safe: a
captured step is meant to be called from one thread at a time.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minitorch import autograd
from minitorch.backend import get_default_dtype, is_device_array, observed_by, observer
from minitorch.nn.modules.module import register_module_forward_pre_hook
from minitorch.optim.optimizer import register_optimizer_step_pre_hook
from minitorch.step_capture import cuda_graph
from minitorch.step_capture.errors import CaptureError, StepStopped
from minitorch.step_capture.program import Program, Stop, build
from minitorch.step_capture.recorder import Recorder, all_finite
from minitorch.step_capture.state import (
    Guard,
    Rebinding,
    Snapshot,
    arrays_read,
    exact,
    random_states,
    reads_of,
    trace_arrays,
    untrace,
    walk,
)
from minitorch.step_capture.traced import TracedArray, leaves, plain, traced, tree_map
from minitorch.tensor import Tensor


def _saw(root: Any, *args: Any) -> None:
    rec = observer()
    if rec is not None:
        rec.saw(root)


@contextlib.contextmanager
def _roots_told() -> Iterator[None]:
    """A step's modules and optimizers are state its replays depend on: while it records, their hooks tell
    the recorder (this thread's observer) which ones ran.  Hooked only then, so eager steps pay nothing."""
    handles = register_module_forward_pre_hook(_saw), register_optimizer_step_pre_hook(_saw)
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()

# Recordings in a row for one signature, none replayed, before capture gives up on it and runs it eagerly.
MAX_RECORDINGS_WITHOUT_REPLAY = 4


class Recording:
    """One recorded step: the state it needs, its input buffers, its program, what it gives back.

    An input is copied into its buffer, unless the program reads the buffer only as plain arguments of
    its steps and nothing else keeps it (the output, the state): then the steps are handed views of the
    caller's array instead, which saves the copy (a large batch's images are megabytes).
    """

    def __init__(self, guard: Guard, inputs: list, grad_copies: list, program: Program, rebinding: Rebinding,
                 output: Any, stops: list) -> None:
        self.guard = guard
        self.grad_copies = grad_copies  # [(tensor, gradient array the program reads)]
        self.program = cuda_graph.for_device(program)  # a GPU program replays as CUDA graphs
        self.rebinding = rebinding
        self.output = output
        self.stops = stops              # per stop_if_not_finite guard: (rebinding, output) where it stops
        kept = [output, rebinding.sets, [out for _, out in stops], [s.sets for s, _ in stops]]
        # the memory of what a replay hands back (its outputs, the .grad it rebinds): a caller that passes it in
        # again (an RNN's state, say) gets it copied into the input's buffer, since the program rewrites it
        self._handed_back = {id(b) for v in leaves(kept) if isinstance(a := getattr(v, "_data", v), np.ndarray)
                             for b in (a, a.base) if b is not None}
        self.inputs = []                # [(argument position, buffer, uses of it or None: copy it in)]
        for position, buf in inputs:
            uses = None
            if buf.flags.c_contiguous and buf.size and not any(_holds(v, buf) for v in kept):
                uses = self.program.uses_of(buf)
            self.inputs.append((position, buf, uses))
        self._bound: list[Any] = [None] * len(self.inputs)  # the caller's array each input's uses view

    def replay(self, flat_args: list) -> Any:
        for i, (position, buf, uses) in enumerate(self.inputs):
            arg = flat_args[position]
            array = arg._data if isinstance(arg, Tensor) else arg
            flags = array.flags  # one flags object (each .flags makes a new one)
            if uses is not None and flags.c_contiguous and flags.writeable and flags.aligned \
                    and id(array) not in self._handed_back and id(array.base) not in self._handed_back:
                if array is not self._bound[i]:
                    for use in uses:
                        use.bind(array)
                    self._bound[i] = array
                continue
            if self._bound[i] is not None:
                for use in uses:  # type: ignore[union-attr]
                    use.unbind()
                self._bound[i] = None
            np.copyto(buf, array)
        for tensor, grad in self.grad_copies:  # the step adds to .grad: bring in whichever array holds it now
            current = tensor._grad._data
            if current is not grad:
                np.copyto(grad, current)
        try:
            self.program.run()
        except Stop as stop:
            rebinding, output = self.stops[stop.index]
            rebinding.apply()
            return output
        self.rebinding.apply()
        return self.output


class Captured:
    """A step function with its recordings; see :func:`capture`.

    ``counts`` says how its calls went: recorded (and kept), replayed, run
    eagerly (a signature given up on), discovered (recorded and dropped).
    """

    def __init__(self, fn: Callable[..., Any], strict: bool = True, max_recordings: int = 6) -> None:
        functools.update_wrapper(self, fn, updated=())  # not __dict__: fn may be a Module
        self.fn = fn
        self.strict = strict
        self.max_recordings = max_recordings
        self.recordings: OrderedDict[tuple, list[Recording]] = OrderedDict()
        self.eager: dict[tuple, str] = {}   # signatures that run uncaptured, and why
        self.counts = {"recorded": 0, "replayed": 0, "eager": 0, "discovered": 0}
        self._roots: list[weakref.ref] = []
        self._misses: dict[tuple, int] = {}
        self._last_change: dict[tuple, str] = {}

    # ------------------------------------------------------------------ calls
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if observer() is not None:  # a replay would run unseen by the recording around it
            raise CaptureError("capture: a captured step was called inside another step being recorded")
        flat, key = _signature(args, kwargs)
        recordings = self.recordings.get(key)
        if recordings:
            for i, recording in enumerate(recordings):
                change = recording.guard.changed()
                if change is None:
                    if i:  # the one that fits goes first next time
                        recordings.insert(0, recordings.pop(i))
                    if len(self.recordings) > 1:  # most recently used last (the oldest is dropped first)
                        self.recordings.move_to_end(key)
                    self._misses[key] = 0
                    self.counts["replayed"] += 1
                    return recording.replay(flat)
                self._last_change[key] = change
        if key in self.eager:
            self.counts["eager"] += 1
            return run_stoppable(self.fn, *args, **kwargs)
        return self._record(key, flat, args, kwargs)

    def reset(self) -> None:
        """Forget every recording (the next call records anew)."""
        self.recordings.clear()
        self.eager.clear()
        self._misses.clear()

    # -------------------------------------------------------------- recording
    def _record(self, key: tuple, flat: list, args: tuple, kwargs: dict) -> Any:
        if not self.strict and any(is_device_array(getattr(a, "_data", a)) for a in flat):  # run it, as promised
            self._run_eagerly_from_now_on(key, "capture: a GPU (CuPy) argument; capture records NumPy (CPU) "
                                               "steps only")
            return run_stoppable(self.fn, *args, **kwargs)
        known = [r for r in (ref() for ref in self._roots) if r is not None]
        reads, read_roots = reads_of(self.fn, known)
        roots = known + [r for r in read_roots if all(r is not o for o in known)]
        before = walk(roots)
        guard = Guard(before, reads)
        rec = Recorder(self.strict)
        inputs, targs, tkwargs = _traced_arguments(flat, args, kwargs)
        entry_grads = [(t, grad._data) for t in before.tensors if (grad := t.grad) is not None]
        stop_points: list[tuple[Snapshot, Any]] = []
        rec.on_stop = lambda value: stop_points.append((walk(roots), value))
        state = trace_arrays(before, rec.twin) + trace_arrays(arrays_read(reads), rec.twin)
        readable = reads + [(f"argument {i}", a, None) for i, a in enumerate(flat)
                             if type(a) not in (Tensor, np.ndarray)]
        rng_before = random_states(readable, before)
        stopped = False
        try:
            with observed_by(rec), _roots_told():
                try:
                    result = self.fn(*targs, **tkwargs)
                except StepStopped as stop:
                    result, stopped = stop.value, True
        finally:
            found = [o for o in rec.met.values() if id(o) not in before.seen]
            untrace(walk(roots + found + [t for t, _ in rec.leaves], refuse_tuples=False))
            untrace(arrays_read(reads))
            after = walk(roots, refuse_tuples=False)
        drawn = [name for name, now in random_states(readable, before).items() if rng_before.get(name) != now]
        if drawn:
            rec.refuse(f"capture: the step draws random numbers from {drawn[0]}; a replay would repeat the recorded "
                       "ones. Draw them outside the step and pass them in, or run the step uncaptured")
        output = _freeze(result)
        result = None  # the tensors the step made are now held only by what outlives it (see _finish)
        if rec.failure is not None:
            self._run_eagerly_from_now_on(key, rec.failure)
            return output
        if found or (not any(self.counts.values()) and guard.changed() is not None):  # new roots (their arrays
            # were not traced from the start of the step), or a first call of all that changed the state it depends
            # on (an optimizer's first step creates its state): record again next time
            self._roots.extend(weakref.ref(o) for o in found)
            self.counts["discovered"] += 1
            return output
        if stopped:  # the program stops short of the step's end: not a step to replay
            return output
        try:
            recording = self._finish(rec, roots, guard, before, after, state, inputs, entry_grads, stop_points,
                                     output)
        except CaptureError as error:  # found while building the program: as rec.refuse would have it
            if self.strict:
                raise
            self._run_eagerly_from_now_on(key, str(error))
            return output
        self._keep(key, recording)
        return output

    def _finish(self, rec: Recorder, roots: list, guard: Guard, before: Snapshot, after: Snapshot, state: list,
                inputs: list, entry_grads: list, stop_points: list, output: Any) -> Recording:
        originals = [original for _, original in rec.leaves]
        kept = [a for snap in [after, *(s for s, _ in stop_points)] for _, a in snap.arrays()]  # outlive a replay
        kept += [a for v in leaves([output, [value for _, value in stop_points], rec.held_elsewhere()])
                 if isinstance(a := getattr(v, "_data", v), np.ndarray)]
        program, grads_read, relocate = build(rec, state + originals, [buf for _, buf in inputs],
                                              [g for _, g in entry_grads], kept)
        moved = False
        for slot, array in after.arrays():  # the state now holds the arrays where the program writes them
            where = relocate(array)
            if where is not array:
                slot.set(where)
                moved = True
        if moved:
            after = walk(roots, refuse_tuples=False)
        _relocate_tensors(output, relocate)
        stops = []
        for snap, value in stop_points:
            stops.append((Rebinding(before, snap, relocate), _relocate_tensors(_freeze(value), relocate)))
        return Recording(guard, inputs, [entry_grads[i] for i in grads_read], program,
                         Rebinding(before, after, relocate), output, stops)

    def _keep(self, key: tuple, recording: Recording) -> None:
        self.counts["recorded"] += 1
        self.recordings.setdefault(key, []).insert(0, recording)
        self.recordings.move_to_end(key)
        while sum(len(v) for v in self.recordings.values()) > self.max_recordings:
            oldest_key = next(iter(self.recordings))
            oldest = self.recordings[oldest_key]
            oldest.pop()
            if not oldest:
                del self.recordings[oldest_key]
        self._missed(key, f"between calls {self._last_change.get(key, 'the state it depends on changed')}")

    def _missed(self, key: tuple, why: str) -> None:
        """One more recording in a row for ``key`` without a replay; at MAX_RECORDINGS_WITHOUT_REPLAY it runs
        eagerly from then on."""
        misses = self._misses[key] = self._misses.get(key, 0) + 1
        if misses >= MAX_RECORDINGS_WITHOUT_REPLAY:
            self._run_eagerly_from_now_on(key, f"capture: recorded {misses} times in a row without a replay, "
                                               f"because {why}")

    def _run_eagerly_from_now_on(self, key: tuple, reason: str) -> None:
        self.eager[key] = reason
        self.recordings.pop(key, None)
        warnings.warn(f"{reason}; calls of {getattr(self.fn, '__name__', 'the step')} with these arguments "
                      "now run uncaptured", RuntimeWarning, stacklevel=3)


def capture(fn: Callable[..., Any] | None = None, *, strict: bool = True, max_recordings: int = 6) -> Any:
    """Record ``fn`` (a training or evaluation step) once per signature, and replay it afterwards.

    ``step = capture(train_step)``; ``loss = step(x, y)``.  The first calls
    run eagerly and record every array operation of the step (forward,
    backward, optimizer); later calls with arguments of the same shapes and
    dtypes replay the operations on the new arguments, into preallocated
    arrays: no tensors, no graph, no module calls.  A change of anything the
    step's Python code decided on (training mode, learning rate, parameters,
    modules, grad mode, shapes) makes the next call record anew; a last
    partial batch is just another signature.

    Replays compute exactly what the eager step computes, with the same
    functions in the same order (bit-identical results).  The tensors a replay
    returns are the recording's own, refilled by every call: valid until the
    next call (copy them, or take ``.item()``, to keep them); they carry no
    graph, so a step's ``backward`` belongs inside it.  Gradients (``.grad``)
    are likewise tensors of the recording, rebound after each call.

    The contract: a replay never silently differs from the eager step.  What
    a replay cannot reproduce is guarded (a change records anew: modules,
    parameters, buffers, optimizer hyper-parameters and state, shapes,
    dtypes, grad mode, the default dtype, the globals and closure variables
    read by the step, by what it decorates and by its model's ``forward``
    methods, the attributes of the object whose method it is; NumPy arrays
    among those variables are traced as state) or refused while recording
    with :class:`CaptureError`, naming it: Python values taken from the data
    (``.item()``, ``float()``, ``if loss > 1``), shapes that depend on the
    data, random numbers drawn in the step (minitorch's, NumPy's, Python's),
    a tensor handed to NumPy code (``.numpy()``), arrays written where the
    recorder cannot see.  Other objects are compared by identity only (see
    the README's contract).  With ``strict=False`` such a step instead runs
    uncaptured, with a warning.
    Recording replaces nothing outside minitorch and is per thread.  NumPy
    (CPU) arrays only.  Up to ``max_recordings`` recordings are kept.
    """
    if fn is None:
        return lambda f: Captured(f, strict, max_recordings)
    return Captured(fn, strict, max_recordings)


def stop_if_not_finite(value: Tensor) -> None:
    """End the step here, returning ``value``, if it holds a NaN or an infinity.

    The one data-dependent branch a captured step may take: recorded as a
    check, so that a replay stops at the same point (the work before it done,
    none after it) and returns ``value``, as the eager step would.  Call it in
    a step run through :func:`capture` or :func:`run_stoppable`.
    """
    data = value._data if isinstance(value, Tensor) else value
    if not all_finite(plain(data)):
        raise StepStopped(value)
    rec = observer()
    if rec is not None:
        rec.guard_finite(data)
        if rec.on_stop is not None:
            rec.on_stop(value)


def run_stoppable(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, where :func:`stop_if_not_finite` ends it early with its value."""
    try:
        return fn(*args, **kwargs)
    except StepStopped as stop:
        return stop.value


# ------------------------------------------------------------------ helpers
def _signature(args: tuple, kwargs: dict) -> tuple[list, tuple]:
    """(arguments in order, the key that decides which recordings may replay them)."""
    if kwargs:
        names = tuple(sorted(kwargs))
        flat = [*args, *(kwargs[k] for k in names)]
    else:  # the common case, without sorting or a comprehension
        names, flat = (), list(args)
    parts: list[Any] = [names]
    for a in flat:
        if isinstance(a, Tensor):
            d = a._data
            parts.append((Tensor, type(d), d.shape, d.dtype, a.requires_grad))
        elif isinstance(a, np.ndarray):
            parts.append((np.ndarray, a.shape, a.dtype))
        else:
            try:
                hash(a)
            except TypeError:
                raise TypeError(f"capture: an argument of type {type(a).__name__} is neither an array nor hashable; "
                                "pass tensors, arrays, or hashable Python values") from None
            if type(a) is tuple and any(isinstance(v, (Tensor, np.ndarray)) for v in leaves(a)):
                raise TypeError("capture: a tuple argument holding tensors (a batch as one tuple?); pass the "
                                "tensors as arguments of their own, step(x, y), so that a new batch of the same "
                                "shapes replays the recording")
            parts.append(exact(a))
    return flat, (tuple(parts), autograd.is_grad_enabled(), get_default_dtype())


def _traced_arguments(flat: list, args: tuple, kwargs: dict) -> tuple[list, tuple, dict]:
    """Input buffers (copies of the arrays among the arguments) and the arguments to record with."""
    inputs, values = [], []
    for position, a in enumerate(flat):
        array = a._data if isinstance(a, Tensor) else a
        if not isinstance(array, np.ndarray):
            if is_device_array(array):
                raise CaptureError("capture: a GPU (CuPy) argument; capture records NumPy (CPU) steps only")
            values.append(a)
            continue
        if isinstance(a, Tensor) and a.requires_grad:
            raise CaptureError(f"capture: argument {position} requires grad; a captured step's inputs are copied "
                               "into buffers of the recording, so their gradients could not reach the caller")
        buf = np.empty_like(array)
        np.copyto(buf, array)
        inputs.append((position, buf))
        values.append(Tensor(traced(buf)) if isinstance(a, Tensor) else traced(buf))
    n = len(args)
    return inputs, tuple(values[:n]), dict(zip(sorted(kwargs), values[n:], strict=True))


def _holds(value: Any, buf: np.ndarray) -> bool:
    """Whether ``value`` (a result, a state value) holds an array over ``buf``'s memory."""
    return any(np.may_share_memory(getattr(v, "_data", v), buf) for v in leaves(value)
               if isinstance(getattr(v, "_data", v), np.ndarray))


def _relocate_tensors(value: Any, relocate: Callable[[Any], Any]) -> Any:
    """Point the output tensors at the memory their arrays were moved to (same values); returns ``value``."""
    for t in leaves(value):
        if isinstance(t, Tensor):
            t._data = relocate(t._data)
    return value


def _freeze(value: Any) -> Any:
    """The step's result with plain arrays: each tensor computed in the step becomes an output tensor."""
    return tree_map(lambda v: Tensor(plain(v._data)) if isinstance(v, Tensor) and type(v._data) is TracedArray
                    else plain(v), value)


def training_step(model: Any, loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: Any,
                  capture: bool = True, strict: bool = False) -> Callable[[Tensor, Tensor], Tensor]:
    """``step(inputs, targets) -> loss``: forward, loss, backward and ``optimizer.step()`` on one batch.

    When the loss is NaN or infinite the step stops before the backward pass
    (parameters untouched) and returns the loss, so the caller can record the
    divergence, exactly as a loop that checks ``loss.item()`` before stepping.

    With ``capture`` (the default) the step is recorded and replayed (see
    :func:`minitorch.capture`); the loss it returns is then refilled by the
    next call, so take ``.item()`` before calling again.  ``strict=False``:
    a step the recorder cannot replay (say, a loss that checks its targets'
    values in Python) runs uncaptured, with a warning, instead of raising.
    """
    def step(inputs: Tensor, targets: Tensor) -> Tensor:
        loss = loss_fn(model(inputs), targets)
        stop_if_not_finite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    if capture:
        return Captured(step, strict=strict)
    return functools.partial(run_stoppable, step)
