"""Stochastic gradient descent with PyTorch's exact update rule."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from minitorch.backend import get_array_module, observer
from minitorch.kernels import sgd_update
from minitorch.optim.optimizer import Optimizer


class SGD(Optimizer):
    """SGD with momentum, dampening, weight decay and Nesterov momentum.

    For each parameter p with gradient g (PyTorch's rule)::

        g = -g                                      if maximize
        g = g + weight_decay * p
        buf = g                                     (first step)
        buf = momentum * buf + (1 - dampening) * g  (later steps)
        g = g + momentum * buf  if nesterov else buf
        p = p - lr * g

    Speed: a group whose parameters share a dtype and device is laid out as
    one flat array, its parameters' arrays views into it (and likewise the
    momentum).  Many small parameters (a conv net's) are then updated in one
    call, after gathering their gradients into one flat array; a few large
    ones (an MLP's weight matrices) each in a call of their own, where they
    lie, reading their gradients in place: gathering a 1.5 MB gradient costs
    more than the update itself.  A step being captured always gathers: its
    program computes each gradient straight into the flat array, so there
    the gather copies nothing (:mod:`minitorch.step_capture.relocation`).
    The update is elementwise, so both ways give the same bits.

    Like PyTorch's in-place update, a step moves every parameter's version
    counter, so a backward through a graph built before the step is refused.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,  # PyTorch's default since 2.0
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=bool(maximize))
        super().__init__(params, defaults)
        self._flat: list[_FlatGroup | None] = [None] * len(self.param_groups)

    def add_param_group(self, group: dict[str, Any]) -> None:
        super().add_param_group(group)
        group = self.param_groups[-1]
        try:
            for name in ("lr", "momentum", "dampening", "weight_decay"):
                self.check_hyperparameter(name, group[name])
            if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
                raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        except (TypeError, ValueError):
            self.param_groups.pop()  # a refused group leaves the optimizer as it was
            raise
        if hasattr(self, "_flat"):
            self._flat.append(None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._evaluate(closure)
        for index, group in enumerate(self.param_groups):
            flat = self._flat[index]
            if flat is None or not flat.still_valid():
                flat = self._flat[index] = _FlatGroup.build(group["params"], self.state)
            if flat is not None and flat.all_have_grads() and flat.momentum_ready(group, self.state):
                flat.step(group, self.state)
            else:
                self._step_each(group)
        return loss

    def _step_each(self, group: dict[str, Any]) -> None:
        """The same rule, one parameter at a time (mixed dtypes, missing grads)."""
        momentum = group["momentum"]
        for p in group["params"]:
            if p._grad is None:
                continue
            xp = get_array_module(p._data)
            if not p._data.flags.c_contiguous:   # the kernel updates a flat view of the array
                p._data = xp.ascontiguousarray(p._data)
            buf = self.state.setdefault(id(p), {}).get("momentum_buffer") if momentum else None
            first = bool(momentum) and buf is None
            if first:
                buf = self.state[id(p)]["momentum_buffer"] = xp.empty_like(p._data)
            grad = p._grad._data.reshape(-1)
            sgd_update(p._data.reshape(-1), -grad if group.get("maximize") else grad,
                       None if buf is None else buf.reshape(-1), group["lr"], momentum, group["dampening"],
                       group["weight_decay"], group["nesterov"], first)
            p._bump()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._flat = [None] * len(self.param_groups)  # momentum buffers are re-gathered on the next step


# Parameters of at least this many elements on average are updated one call each, in place; smaller ones are
# gathered.  Measured on the CPU: gathering 16k float32 gradients takes about as long as one more kernel call
# (1.8 against 1.4 us), 368k of them 87 us (BoringNet's first weight, beyond the L2 cache).
GATHER_BELOW = 8192


class _FlatGroup:
    """One parameter group laid out contiguously: params and momentum as flat arrays, updated in one call over a
    gathered flat gradient (``grad``), or, unless ``gathers`` or a step is captured, one call per parameter
    over its own part."""

    def __init__(self, params: list, data, views: list, bounds: list[tuple[int, int]], momentum) -> None:
        self.params, self.data, self.views, self.momentum = params, data, views, momentum
        self.bounds = bounds  # each parameter's part of the flat arrays
        self.gathers = data.size < GATHER_BELOW * len(params)  # else only while a step is captured
        # zeros, not empty: a group built while a step records, whose gathered path that step does not take
        # (a parameter without a gradient), holds an array that a recording must be able to tell apart from
        # one written where it cannot see
        self.grad = get_array_module(data).zeros_like(data)

    @staticmethod
    def build(params: list, state: dict[int, dict[str, Any]]) -> _FlatGroup | None:
        if not params:
            return None
        first = params[0]._data
        xp = get_array_module(first)
        if any(get_array_module(p._data) is not xp or p._data.dtype != first.dtype for p in params):
            return None
        data = xp.concatenate([p._data.reshape(-1) for p in params])
        views, bounds, offset = [], [], 0
        for p in params:
            n = p._data.size
            p._data = data[offset:offset + n].reshape(p._data.shape)
            views.append(p._data)
            bounds.append((offset, offset + n))
            offset += n
        momentum = None
        buffers: list[Any] = [state.get(id(p), {}).get("momentum_buffer") for p in params]
        if all(b is not None for b in buffers):  # carry over existing momentum
            momentum = xp.concatenate([b.reshape(-1) for b in buffers])
            _share_momentum(params, views, bounds, momentum, state)
        return _FlatGroup(params, data, views, bounds, momentum)

    def still_valid(self) -> bool:
        """False once someone replaced a parameter's array (``Module.to``, ``load``...)."""
        for p, v in zip(self.params, self.views, strict=True):  # plain loops: asked on every step
            if p._data is not v:
                return False
        return True

    def all_have_grads(self) -> bool:
        for p in self.params:
            if p._grad is None:
                return False
        return True

    def momentum_ready(self, group: dict[str, Any], state: dict[int, dict[str, Any]]) -> bool:
        """Whether the flat momentum can serve this step.

        A parameter that had no gradient on an earlier step was updated alone and has a
        buffer of its own, or none yet.  Once all of them have one, those buffers are
        gathered into the flat array; while only some do, the step goes parameter by
        parameter (a flat "first step" would restart every buffer).
        """
        if not group["momentum"] or self.momentum is not None:
            return True
        buffers: list[Any] = [state.get(id(p), {}).get("momentum_buffer") for p in self.params]
        if all(b is None for b in buffers):
            return True
        if any(b is None for b in buffers):
            return False
        xp = get_array_module(self.data)
        self.momentum = xp.concatenate([b.reshape(-1) for b in buffers])
        _share_momentum(self.params, self.views, self.bounds, self.momentum, state)
        return True

    def step(self, group: dict[str, Any], state: dict[int, dict[str, Any]]) -> None:
        xp = get_array_module(self.data)
        for p in self.params:  # the arrays change in place below
            p._bump()
        momentum = group["momentum"]
        first = momentum != 0 and self.momentum is None
        if first:
            self.momentum = xp.empty_like(self.data)
            _share_momentum(self.params, self.views, self.bounds, self.momentum, state)
        rule = (group["lr"], momentum, group["dampening"], group["weight_decay"], group["nesterov"], first)
        maximize = group.get("maximize")
        if self.gathers or observer() is not None:  # gathered: one call over the flat arrays
            g = self.grad
            xp.concatenate([p._grad._data.reshape(-1) for p in self.params], out=g)
            if maximize:  # ascend: the rule applied to -g, as PyTorch's
                xp.negative(g, out=g)
            sgd_update(self.data, g, self.momentum, *rule)
            return
        buf = self.momentum
        for p, (lo, hi) in zip(self.params, self.bounds, strict=True):
            grad = p._grad._data.reshape(-1)
            sgd_update(self.data[lo:hi], -grad if maximize else grad, None if buf is None else buf[lo:hi], *rule)


def _share_momentum(params: list, views: list, bounds: list[tuple[int, int]], momentum,
                    state: dict[int, dict[str, Any]]) -> None:
    """Expose the flat momentum as per-parameter views in ``state`` (for state_dict)."""
    for p, v, (lo, hi) in zip(params, views, bounds, strict=True):
        state.setdefault(id(p), {})["momentum_buffer"] = momentum[lo:hi].reshape(v.shape)
