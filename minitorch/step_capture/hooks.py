"""Everything a recording installs for the duration of one step, in one place, and takes away afterwards.

* ``minitorch.kernels.kernel_hook`` and ``minitorch.tensor.capture_hook``:
  the two hooks in minitorch itself (kernel calls; tensors an op runs on);
* stand-ins for NumPy's array-creating functions (``np.zeros``,
  ``np.asarray`` ...), which C code calls without NumPy's dispatch
  protocols: arrays made in the step become buffers of the recording;
* ``Module.__call__``, every module class's ``forward`` and the optimizers'
  ``step``/``zero_grad``, to learn which modules and optimizers the step uses
  (their state is what a replay must check, see :mod:`.state`), and
  ``Tensor.__init__`` and ``minitorch.tensor._wrap``, to tell tensors made in
  the step from those it found;
* refusals: minitorch's random generator, and numba functions called with
  traced arrays anywhere but through the kernel dispatch.

Each stand-in defers to the original whenever no recorder is active (or the
recorder is inside a call of its own), so other code is unaffected.  A lock in
:mod:`.captured` keeps recordings from overlapping.
"""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minitorch.step_capture import traced as _traced
from minitorch.step_capture.recorder import Recorder, _arrays_in, _contains_traced
from minitorch.step_capture.traced import active_recorder, plain_all


# ------------------------------------------------------------------ NumPy stand-ins
def _from_data(rec: Recorder, orig: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    """asarray, array, ascontiguousarray ...: from an array, a recorded call (often a view, then nothing
    is recorded); from Python values, a constant buffer."""
    pargs, pkw = plain_all(args), plain_all(kwargs)
    if next(_arrays_in((args, kwargs)), None) is not None:
        return rec._run("call", f"numpy.{name}", orig, pargs, pkw, [], pure=True)
    with rec._quiet:
        result = orig(*pargs, **pkw)
    return rec.created(result, ("copy", np.ndarray.copy(result)))


def _refuse_traced_shape(rec: Recorder, name: str, args: tuple, kwargs: dict) -> None:
    if _contains_traced((args, kwargs)):
        rec.data_shaped(f"numpy.{name} with a shape computed in the step")


def _filled(value: Any) -> Callable:
    def create(rec: Recorder, orig: Callable, name: str, args: tuple, kwargs: dict) -> Any:
        _refuse_traced_shape(rec, name, args, kwargs)
        with rec._quiet:
            return rec.created(orig(*args, **kwargs), ("fill", value))
    return create


def _empty(rec: Recorder, orig: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    _refuse_traced_shape(rec, name, args, kwargs)
    with rec._quiet:
        return rec.created(orig(*args, **kwargs), None)


def _full(rec: Recorder, orig: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    fill = args[1] if len(args) > 1 else kwargs.get("fill_value")
    shape_args = (args[:1] + args[2:], {k: v for k, v in kwargs.items() if k != "fill_value"})
    _refuse_traced_shape(rec, name, *shape_args)
    if _contains_traced(fill):
        return rec._run("call", "numpy.full", orig, plain_all(args), plain_all(kwargs), [])
    with rec._quiet:
        return rec.created(orig(*args, **kwargs), ("fill", fill))


def _constant(rec: Recorder, orig: Callable, name: str, args: tuple, kwargs: dict) -> Any:
    _refuse_traced_shape(rec, name, args, kwargs)
    with rec._quiet:
        result = orig(*args, **kwargs)
    return rec.created(result, ("copy", np.ndarray.copy(result)))


_NUMPY_STAND_INS: dict[str, Callable] = {
    "asarray": _from_data, "asanyarray": _from_data, "array": _from_data, "ascontiguousarray": _from_data,
    "asfortranarray": _from_data, "zeros": _filled(0), "ones": _filled(1), "empty": _empty, "full": _full,
    "arange": _constant, "eye": _constant, "identity": _constant, "linspace": _constant,
}


def _stand_in(name: str, orig: Callable, handler: Callable) -> Callable:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        rec = active_recorder()
        if rec is None:
            return orig(*args, **kwargs)
        return handler(rec, orig, name, args, kwargs)

    stand_in.__name__, stand_in.__doc__ = name, orig.__doc__
    stand_in.__wrapped__ = orig  # type: ignore[attr-defined]
    return stand_in


def _patch(owner: Any, name: str, value: Any, undo: list) -> None:
    """Set ``owner.name``; ``undo`` gets what restores it (or removes it, when it was inherited)."""
    own = owner.__dict__ if isinstance(owner, type) else vars(owner)
    if name in own:
        original = own[name]
        undo.append(lambda: setattr(owner, name, original))
    else:
        undo.append(lambda: delattr(owner, name))
    setattr(owner, name, value)


# ------------------------------------------------------------------ refusals
def _refusing_random(original: Callable) -> Callable:
    def generator() -> Any:
        rec = active_recorder()
        if rec is not None:
            rec.refuse("capture: the step draws random numbers (minitorch.random); a replay would repeat the "
                       "recorded ones. Draw them outside the step and pass them in, or run the step uncaptured")
        return original()
    return generator


def _guard_numba(undo: list) -> None:
    from numba.core.dispatcher import Dispatcher

    base_call = Dispatcher.__call__

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec = active_recorder()
        if rec is not None and _contains_traced((args, kwargs)):
            rec.refuse(f"capture: the numba function {self.py_func.__qualname__} was called with arrays of the "
                       "step outside minitorch.kernels, so the recorder cannot see what it does; call it "
                       "through the kernel dispatch (minitorch/kernels/__init__.py)")
            args, kwargs = plain_all(args), plain_all(kwargs)
        return base_call(self, *args, **kwargs)

    _patch(Dispatcher, "__call__", __call__, undo)


# ------------------------------------------------------------------ discovery
def _watch(cls: type, name: str, note: Callable[[Recorder, Any], None], undo: list) -> None:
    original = cls.__dict__[name]

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec = _traced._active
        if rec is not None:
            note(rec, self)
        return original(self, *args, **kwargs)

    watched.__name__, watched.__doc__, watched.__wrapped__ = name, original.__doc__, original  # type: ignore[attr-defined]
    _patch(cls, name, watched, undo)


def _watching_wrap(original: Callable) -> Callable:
    """minitorch.tensor._wrap, the engine's constructor of tensors (constants, gradients), seen by the recorder."""
    def _wrap(*args: Any, **kwargs: Any) -> Any:
        tensor = original(*args, **kwargs)
        rec = _traced._active
        if rec is not None:
            rec.saw_new_tensor(tensor)
        return tensor
    return _wrap


def _subclasses(cls: type) -> list[type]:
    found, todo = [], [cls]
    while todo:
        c = todo.pop()
        found.append(c)
        todo.extend(c.__subclasses__())
    return found


@contextlib.contextmanager
def installed(rec: Recorder) -> Iterator[None]:
    """All of the above, for one recording."""
    import minitorch.kernels as kernels
    import minitorch.random as mt_random
    mt_tensor = importlib.import_module("minitorch.tensor")  # the attribute minitorch.tensor is the function
    from minitorch.nn.modules.module import Module
    from minitorch.optim.optimizer import Optimizer

    undo: list[Callable[[], None]] = []
    try:
        for name, handler in _NUMPY_STAND_INS.items():
            _patch(np, name, _stand_in(name, getattr(np, name), handler), undo)
        _patch(mt_random, "generator", _refusing_random(mt_random.generator), undo)
        _guard_numba(undo)
        _watch(Module, "__call__", Recorder.saw_module, undo)
        for cls in _subclasses(Module):  # forward too, for a step that calls model.forward(x) directly
            if "forward" in cls.__dict__:
                _watch(cls, "forward", Recorder.saw_module, undo)
        _watch(mt_tensor.Tensor, "__init__", Recorder.saw_new_tensor, undo)
        _patch(mt_tensor, "_wrap", _watching_wrap(mt_tensor._wrap), undo)
        for cls in _subclasses(Optimizer):
            for name in ("step", "zero_grad"):
                if name in cls.__dict__:
                    _watch(cls, name, Recorder.saw_optimizer, undo)
        _patch(mt_tensor, "capture_hook", rec.on_apply, undo)
        _patch(kernels, "kernel_hook", rec.kernels, undo)
        yield
    finally:
        for restore in reversed(undo):
            restore()
