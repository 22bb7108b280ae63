"""Optimizer: parameter groups, per-parameter state, and their state dict."""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

from minitorch.autograd import enable_grad
from minitorch.backend import to_device
from minitorch.nn.parameter import data_array, grad_array
from minitorch.optim._common import number
from minitorch.tensor import Tensor
from minitorch.utils.hooks import GlobalHooks, RemovableHandle

# Called before every optimizer's step as hook(optimizer, args, kwargs); see register_optimizer_step_pre_hook.
_global_step_pre_hooks = GlobalHooks()


def register_optimizer_step_pre_hook(hook: Callable[[Any, tuple, dict], None]) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's ``step`` (PyTorch's function of this name);
    returns a handle whose ``remove()`` unregisters it.  minitorch.capture learns from it which optimizers a
    step uses."""
    return _global_step_pre_hooks.add(hook)


def _with_step_hooks(step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(step)
    def hooked_step(self: Any, *args: Any, **kwargs: Any) -> Any:
        for hook in _global_step_pre_hooks.all:
            hook(self, args, kwargs)
        return step(self, *args, **kwargs)

    hooked_step.__hooked__ = True  # type: ignore[attr-defined]
    return hooked_step


class Optimizer:
    """Holds ``param_groups`` (dicts of params and hyper-parameters) and ``state`` per parameter.

    A training loop may change a group's hyper-parameters (``group["lr"]``)
    between steps; :meth:`step` reads them every time.  Every class's own
    ``step`` runs the step pre-hooks first (its definition is wrapped once,
    when the class is made: :func:`register_optimizer_step_pre_hook`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "__hooked__", False):
            cls.step = _with_step_hooks(step)  # type: ignore[method-assign]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(param)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, (Tensor, dict)):  # list() would iterate a tensor's rows, a dict's keys
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts (parameter "
                            f"groups), got a {type(params).__name__}; wrap it in a list")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group: a dict with ``"params"`` and any hyper-parameters that differ from the defaults.

        The group's own hyper-parameters are checked as the constructor checks the
        defaults (a number must be finite and >= 0), so ``{"params": ..., "lr": -1}``
        is refused here rather than training backwards.
        """
        owner = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{owner}: a parameter group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{owner}: parameter group {len(self.param_groups)} has no 'params'; a group is a dict "
                             f"like {{'params': model.parameters(), 'lr': 0.1}}, got keys {sorted(group)}")
        group = dict(group)
        for key, value in group.items():
            default = self.defaults.get(key)
            if isinstance(default, Real) and not isinstance(default, bool):
                self.check_hyperparameter(key, value)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can only optimise leaf tensors")
        self._check_not_in_other_groups(group["params"])
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def _check_not_in_other_groups(self, params: list[Tensor]) -> None:
        """Refuse a new group that shares a parameter with a group already here (as PyTorch does): step would
        update that parameter once per group, with each group's hyper-parameters, without a word.  A parameter
        listed twice in the new group is refused too (PyTorch warns that this will become an error): some
        optimizers would step it twice, others once."""
        group_of = {id(p): i for i, group in enumerate(self.param_groups) for p in group["params"]}
        position: dict[int, int] = {}
        for k, p in enumerate(params):
            if id(p) in group_of:
                raise ValueError(
                    f"{type(self).__name__}: some parameters appear in more than one parameter group: parameter "
                    f"{k} of group {len(self.param_groups)} (shape {p.shape}) is already in group {group_of[id(p)]}"
                )
            if id(p) in position:
                raise ValueError(
                    f"{type(self).__name__}: parameter group {len(self.param_groups)} lists a parameter twice, at "
                    f"positions {position[id(p)]} and {k} (shape {p.shape})"
                )
            position[id(p)] = k

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p._grad is None:
                    p._grad = None
                else:
                    p._grad.zero_()

    def check_hyperparameter(self, name: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
        """A hyper-parameter that must be a finite number in [low, high) (``lr``, ``momentum``...), or an error
        naming it: :func:`minitorch.optim._common.number`, the one check every optimizer uses."""
        return number(value, name, type(self).__name__, low, high)

    @_with_step_hooks
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient, each through ``_update`` (PyTorch's rule of the
        subclass, in place on the arrays); returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                grad = grad_array(p)
                if grad is not None:
                    self._update(data_array(p), grad, self.state.setdefault(id(p), {}), group)
        return loss

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        """The loss ``closure()`` returns, computed with gradients on (as PyTorch's ``step(closure)``), or None."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def _all_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and per-parameter state, with parameters named by their index."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[pid]: dict(s) for pid, s in self.state.items() if pid in index}
        return {"state": state, "param_groups": groups}

    # Keys the learning-rate schedulers add to parameter groups (a state dict saved with one holds them)
    _SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"})

    def _check_same_kind(self, groups: list | tuple, name: str) -> None:
        """Refuse another optimizer's state dict (Adam's into SGD): its groups hold hyper-parameters this one
        does not have and lack some it does.  Either alone is allowed: a checkpoint from before a
        hyper-parameter was added lacks it (this optimizer's value stays), and a key of the user's own in a
        group is carried over, as in PyTorch (which accepts both, and another optimizer's state too, failing
        only at the next step or not at all)."""
        for i, (saved, own) in enumerate(zip(groups, self.param_groups, strict=True)):
            foreign = sorted(set(saved) - set(own) - self._SCHEDULER_KEYS)
            lacking = sorted(set(self.defaults) - set(saved))
            if foreign and lacking:
                raise ValueError(f"{name}: saved group {i} has hyper-parameters {foreign} that "
                                 f"{type(self).__name__} does not, and lacks its {lacking}; is the state dict "
                                 "from another optimizer?")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave, after checking that it fits these parameters.

        Parameters are matched by position, as in PyTorch; a state dict from a model
        with other parameter counts or shapes is refused here, and nothing changes.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups', as state_dict() gives")
        groups = state_dict["param_groups"]
        if not isinstance(groups, (list, tuple)) or len(groups) != len(self.param_groups) or any(
            not isinstance(g, dict) or len(g.get("params", ())) != len(own["params"])
            for g, own in zip(groups, self.param_groups, strict=False)
        ):
            saved = [len(g.get("params", ())) if isinstance(g, dict) else "?" for g in groups] \
                if isinstance(groups, (list, tuple)) else groups
            raise ValueError(
                f"{name}: the saved groups {saved} do not match this optimizer's "
                f"{[len(g['params']) for g in self.param_groups]} parameters per group"
            )
        self._check_same_kind(groups, name)
        positions = {}  # saved parameter index -> this optimizer's parameter
        for g, own in zip(groups, self.param_groups, strict=False):
            for index, p in zip(g["params"], own["params"], strict=False):
                positions[index] = p
        new_state: dict[int, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            if key not in positions or not isinstance(values, dict):
                raise ValueError(f"{name}: state for parameter {key!r}, which no saved group lists")
            p = positions[key]
            entry = {}
            for item, value in values.items():
                value = value._data if isinstance(value, Tensor) else value
                if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                    if tuple(value.shape) != p.shape:
                        raise ValueError(
                            f"{name}: state {item!r} of parameter {key} has shape {tuple(value.shape)}, but the "
                            f"parameter has shape {p.shape}; is the state dict from another model?"
                        )
                    value = to_device(value, p.device).astype(p.dtype, copy=True)
                entry[item] = value
            new_state[id(p)] = entry
        for own, saved in zip(self.param_groups, groups, strict=False):
            for k, v in saved.items():
                if k != "params":
                    own[k] = copy.deepcopy(v)
        self.state = new_state
