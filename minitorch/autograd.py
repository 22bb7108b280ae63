"""The autograd engine: the ``Function`` protocol, grad mode and the backward walk.

An op is a :class:`Function` subclass with two methods on raw arrays:

* ``forward(*arrays) -> array`` computes the result and keeps (on ``self``)
  only what ``backward`` will need;
* ``backward(grad) -> tuple`` returns one gradient per input (``None`` where
  the input needs none; ``self.needs_grad[i]`` tells which are wanted).

:func:`minitorch.tensor.apply` runs ``forward`` and wraps the result;
:func:`start` and :func:`record`, here, link it into the graph.  The graph's
nodes are ops, not tensors: an op remembers the ops that
made its inputs (and the leaf tensors that want gradients), so an
intermediate array lives only while someone, usually an op's backward,
still needs it.  :func:`backward` walks that graph once, in reverse
topological order, without recursion, releasing each op's saved arrays as
soon as its backward has run.

In-place changes: a tensor's :class:`Version` counter counts them.  It is
made when first needed (an op keeps the tensor, or another tensor shares its
memory) and shared with the tensors on the same memory.  An op keeps what
backward reads through :meth:`Function.save_for_backward` (Chainer's
``retain_inputs``, PyTorch's ``ctx.save_for_backward``); the engine notes the
counter of every input (and the output) whose memory a saved array is, and
backward refuses to run the op if one has moved, since its saved arrays would
no longer hold the values of the forward.  The check covers exactly what was
saved: arrays an op makes itself need no saving.

Gradients never share memory with one another or with the caller's upstream
gradient: an op may hand the same array to two inputs (``a + b``), so a leaf
adopts an array as its ``.grad`` only once per backward, and copies it after.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from minitorch.backend import as_array, get_array_module, new_array

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode:
    """Context manager (and decorator) that sets grad mode and restores it."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.previous = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous = _grad_enabled
        _grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)  # its name, docstring and __wrapped__ (capture reads the globals fn reads)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad(fn: Callable[..., Any] | None = None) -> Any:
    """Disable graph building: ``with minitorch.no_grad(): ...``, ``@no_grad()`` or ``@no_grad``."""
    return _GradMode(False)(fn) if callable(fn) else _GradMode(False)


def enable_grad(fn: Callable[..., Any] | None = None) -> Any:
    """Re-enable graph building (inside :func:`no_grad`), as a context manager or decorator."""
    return _GradMode(True)(fn) if callable(fn) else _GradMode(True)


def inference_mode(mode: Any = True) -> Any:
    """Like :func:`no_grad` (with ``mode=True``); minitorch has no separate inference tensors."""
    if callable(mode):  # used as a bare decorator
        return _GradMode(False)(mode)
    return _GradMode(not mode)


class set_grad_enabled(_GradMode):
    """Set grad mode now (``set_grad_enabled(False)``), or for a block (``with set_grad_enabled(is_train):``)."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        if not isinstance(mode, bool):  # PyTorch refuses anything else ("no" would be truthy)
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__} {mode!r}")
        super().__init__(mode)
        self.previous = _grad_enabled
        _grad_enabled = self.enabled

    def __enter__(self) -> None:  # the mode is already set
        pass

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        global _grad_enabled
        _grad_enabled = self.previous  # as a decorator it changes nothing until fn runs
        return super().__call__(fn)


class Version:
    """How often a tensor's memory was changed in place.

    Tensors that share memory (views, ``.data``, ``detach()``) share one
    counter; ``shared`` says that some other tensor does (so an in-place
    change that records a gradient would be invisible to the others' graphs).
    """

    __slots__ = ("value", "shared")

    def __init__(self) -> None:
        self.value = 0
        self.shared = False


class Function:
    """Base class of every differentiable op.  See the module docstring."""

    # inputs: per input, the op that produced it (a non-leaf), the tensor itself (a leaf that
    # wants a gradient) or None; retained: a weak reference to an output that retain_grad()ed;
    # versions: (counter, value at forward) of each tensor whose memory forward saved (save_for_backward)
    __slots__ = ("inputs", "needs_grad", "retained", "versions", "saved")
    inputs: tuple[Any, ...]  # Function | Tensor | None each (Tensor lives a layer above)
    needs_grad: tuple[bool, ...]
    retained: Callable[[], Any] | None  # weakref.ref to a Tensor
    versions: list[tuple[Version, int]] | None
    saved: tuple[Any, ...]  # what forward kept for backward through save_for_backward

    is_view = False  # whether the result may share the first input's memory
    # whether backward returns new arrays, one per input, that nothing else holds (so a leaf can
    # adopt them unchecked); False passes g, or views of it, on (Add, Reshape...)
    fresh_grads = False

    def forward(self, *arrays: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad: Any) -> Sequence[Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def save_for_backward(self, *arrays: Any) -> tuple[Any, ...]:
        """Keep ``arrays`` (inputs, views of them, the result; None is skipped) for backward; returns them.

        The way an op keeps an input or its output: the engine notes the version
        of each tensor whose memory a saved array is, so that backward refuses to
        run once one of them was changed in place.
        """
        try:
            self.saved += arrays
        except AttributeError:  # the first call (forward may be called without the engine: in-place, unrecorded)
            self.saved = arrays
        return arrays

    def release(self) -> None:
        """Drop what forward saved; called once backward has used it."""
        self.saved = ()
        for name in _saved_slots(type(self)):
            setattr(self, name, None)  # cheaper than hasattr + delattr: an unset slot raises inside hasattr

    @property
    def name(self) -> str:
        return type(self).__name__


_slot_cache: dict[type, tuple[str, ...]] = {}


def _saved_slots(cls: type) -> tuple[str, ...]:
    """The slots an op class may fill in forward (cached per class)."""
    slots = _slot_cache.get(cls)
    if slots is None:
        names: list[str] = []
        for klass in cls.__mro__:
            if klass not in (Function, object):
                names.extend(klass.__dict__.get("__slots__", ()))
        slots = _slot_cache[cls] = tuple(names)
    return slots


def copy_saved(fn: Function, which: Callable[[Any], bool]) -> None:
    """Replace each array ``fn`` saved for which ``which(array)`` holds by a copy, wherever ``fn`` keeps it
    (an in-place op's result is about to overwrite the memory it saved)."""
    copies = {id(a): a.copy() for a in fn.saved if which(a)}
    fn.saved = tuple(copies.get(id(a), a) for a in fn.saved)
    for name in _saved_slots(type(fn)):
        value = getattr(fn, name, None)
        if id(value) in copies:
            setattr(fn, name, copies[id(value)])


# ------------------------------------------------------------------ recording
def start(fn: Function, inputs: Sequence[Any]) -> bool:
    """Before ``fn.forward``: tell it which inputs want gradients; returns whether the graph records it."""
    needs = tuple([t.requires_grad for t in inputs])
    track = _grad_enabled and True in needs
    fn.needs_grad = needs if track else (False,) * len(inputs)
    fn.saved = ()
    return track


def record(fn: Function, inputs: Sequence[Any], result: Any) -> Function:
    """After ``fn.forward``: link ``fn`` into the graph as the op that made ``result``; returns ``fn``.

    The graph links ops to ops: an input made by an op is remembered by that op, so
    its array is freed as soon as nothing else holds it; only leaves that want a
    gradient are kept.  The version counters of what ``fn`` saved are noted here.
    """
    fn.inputs = tuple([(t._ctx or t) if t.requires_grad else None for t in inputs])
    fn.retained = None
    versions = None
    if fn.saved:  # plain loops: this runs for most ops, and comprehensions cost more here
        versions = []
        tensors = (*inputs, result)
        for array in fn.saved:
            if array is None:
                continue
            for t in tensors:  # most often a tensor's very array: asked first, without reading .base
                if t._data is array:
                    break
            else:  # a view: the tensor whose array has the same owner
                owner = array if array.base is None else array.base
                for t in tensors:
                    data = t._data
                    if owner is data or owner is data.base:
                        break
                else:
                    continue
            counter = t._version
            if counter is None:
                counter = t._version = Version()
            versions.append((counter, counter.value))
    fn.versions = versions or None
    return fn


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _topological_order(root: Function) -> list:
    """The ops reachable from ``root`` through inputs that need a gradient, inputs first."""
    order: list = []
    visited: set = set()
    stack: list = [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if fn in visited:
            continue
        visited.add(fn)
        stack.append((fn, True))
        if fn.inputs is None:
            raise RuntimeError(
                f"backward through {fn.name} a second time: its saved arrays were freed "
                "by the first backward; call backward(retain_graph=True) the first time"
            )
        for parent in fn.inputs:
            if isinstance(parent, Function) and parent not in visited:
                stack.append((parent, False))
    return order


def backward(root, grad: Any, retain_graph: bool, wrap: Callable[[Any], Any]) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``wrap`` makes a gradient Tensor from an array (the engine sits below the Tensor class).
    """
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    data = root._data
    xp = get_array_module(data)
    if grad is None:
        if data.size != 1:
            raise ValueError(
                f"backward: grad can be implicit only for a scalar output, got shape {data.shape}; "
                "pass a gradient of that shape"
            )
        grad = xp.ones_like(data)
    else:
        given = as_array(xp, getattr(grad, "_data", grad))
        if given.shape != data.shape:
            raise ValueError(
                f"backward: gradient shape {given.shape} does not match output shape {data.shape}"
            )
        grad = new_array(xp, data.shape, data.dtype)  # a copy: .grad must never alias the caller's array
        xp.copyto(grad, given, casting="unsafe")
    adopted: set[int] = set()  # memory now owned by a .grad: whoever gets it next takes a copy
    if root._ctx is None:  # a leaf: its gradient is the seed itself
        _accumulate(root, grad, adopted, wrap)
        return

    grads: dict[Function, Any] = {root._ctx: grad}  # gradient of each op's output, keyed by the op
    order = _topological_order(root._ctx)
    while order:
        # Popping drops our reference: once an op's consumers are done with it,
        # it and the arrays it saved are freed, so memory falls as we go.
        fn = order.pop()
        g = grads.pop(fn, None)
        if g is None:  # no path from root reached this op with a gradient
            continue
        if fn.versions is not None:
            for counter, seen in fn.versions:
                if counter.value != seen:
                    _raise_modified(fn, seen, counter.value)
        input_grads = fn.backward(g)
        for parent, pg in zip(fn.inputs, input_grads, strict=False):
            if pg is None or parent is None:
                continue
            if isinstance(parent, Function):
                prev = grads.get(parent)
                grads[parent] = pg if prev is None else prev + pg
            elif parent.requires_grad:
                if (fn.fresh_grads and parent._grad is None and pg.dtype == parent._data.dtype
                        and pg.flags.c_contiguous):
                    parent._grad = wrap(pg)  # the common case, as cheap as it can be
                else:
                    _accumulate(parent, pg, adopted, wrap)
        retained = fn.retained() if fn.retained is not None else None
        if not retain_graph:
            fn.release()
            fn.inputs = fn.versions = None  # frees the graph behind this op; a second backward is refused
        if retained is not None:  # g may also have gone to this op's inputs, or come from one that passes it on
            _accumulate(retained, g.copy(), adopted, wrap)


def _raise_modified(fn: Function, seen: int, now: int) -> None:
    raise RuntimeError(
        f"backward: a tensor needed for the gradient was modified in place (saved by {fn.name} "
        f"at version {seen}, now at version {now}); change a copy (clone()) instead, "
        "or make the change after backward"
    )


def _accumulate(tensor, g: Any, adopted: set[int], wrap: Callable[[Any], Any]) -> None:
    """Add ``g`` into ``tensor.grad``, never letting two gradients share memory.

    A row-major tensor gets a row-major gradient, whatever layout the op handed back (``x @ w.T`` gives ``w`` a
    transposed one), as PyTorch gives a gradient its parameter's layout: ``w.grad.view(-1)`` must work.
    """
    data = tensor._data
    if g.shape != data.shape:  # ops hand back gradients of their input's shape
        raise RuntimeError(f"internal: gradient shape {g.shape} for a tensor of shape {data.shape}")
    # NumPy and CuPy point a view's .base at the array that owns the memory, never at another view
    owner = g if g.base is None else g.base
    if g.dtype != data.dtype:
        g = owner = g.astype(data.dtype)
    elif (id(owner) in adopted or (0 in g.strides and g.size > 1) or not getattr(g.flags, "writeable", True)
          or (data.flags.c_contiguous and not g.flags.c_contiguous)):
        # memory another .grad holds, a broadcast view (sum/mean; read-only in NumPy), or another layout
        g = owner = g.copy()
    current = tensor._grad
    if current is None:
        tensor._grad = wrap(g)
        adopted.add(id(owner))
    else:  # out of place: the old array may also be a gradient still on its way to another input
        current._data = wrap(current._data + g)._data  # wrap: the sum of 0-d arrays is a NumPy scalar
        current._version = None


__all__ = [
    "Function", "Version", "backward", "enable_grad", "inference_mode", "is_grad_enabled", "no_grad",
    "set_grad_enabled", "unbroadcast",
]
