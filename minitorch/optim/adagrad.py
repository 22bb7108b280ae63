"""Adagrad with PyTorch's exact update rule, defaults and state."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minitorch.backend import get_array_module
from minitorch.nn.parameter import data_array
from minitorch.optim import _common
from minitorch.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): each coordinate's step shrinks with the sum of its squared gradients.

    For each parameter p with gradient g, at step t (PyTorch's rule)::

        g = -g                                            if maximize
        g = g + weight_decay * p
        s = s + g * g                                     state "sum", starting at initial_accumulator_value
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    As in PyTorch, the constructor creates every parameter's state (``step`` 0 and ``sum``), so a state
    dict taken before the first step already holds it.  A parameter whose ``.grad`` is None is skipped.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        defaults = dict(
            lr=_common.number(lr, "lr", name),
            lr_decay=_common.number(lr_decay, "lr_decay", name),
            eps=_common.number(eps, "eps", name),
            weight_decay=_common.number(weight_decay, "weight_decay", name),
            initial_accumulator_value=_common.number(initial_accumulator_value, "initial_accumulator_value", name),
            maximize=bool(maximize),
        )
        super().__init__(params, defaults)
        for p in self._all_params():
            _init_state(data_array(p), self.state.setdefault(id(p), {}), initial_accumulator_value)

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        if not state:  # a parameter of a group added after construction
            _init_state(param, state, group["initial_accumulator_value"])
        grad = _common.prepare_grad(param, grad, state, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += grad * grad
        std = xp.sqrt(state_sum)
        std += group["eps"]
        param -= clr * (grad / std)


def _init_state(param: Any, state: dict[str, Any], initial_accumulator_value: float) -> None:
    state["step"] = 0
    state["sum"] = get_array_module(param).full_like(param, initial_accumulator_value)
