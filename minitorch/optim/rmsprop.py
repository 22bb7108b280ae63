"""RMSprop with PyTorch's exact update rule, defaults and state."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minitorch.backend import get_array_module
from minitorch.optim import _common
from minitorch.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running root mean square of recent gradients.

    For each parameter p with gradient g (PyTorch's rule)::

        g = -g                                            if maximize
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g               state "square_avg"
        a = alpha * a + (1 - alpha) * g                   if centered (state "grad_avg")
        s = sqrt(v - a * a) if centered else sqrt(v),  then s = s + eps
        b = momentum * b + g / s;  p = p - lr * b         if momentum > 0 (state "momentum_buffer")
        p = p - lr * g / s                                otherwise

    A parameter whose ``.grad`` is None is skipped.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        defaults = dict(
            lr=_common.number(lr, "lr", name),
            momentum=_common.number(momentum, "momentum", name),
            alpha=_common.number(alpha, "alpha", name),
            eps=_common.number(eps, "eps", name),
            centered=bool(centered),
            weight_decay=_common.number(weight_decay, "weight_decay", name),
            maximize=bool(maximize),
        )
        super().__init__(params, defaults)

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        grad = _common.prepare_grad(param, grad, state, group)
        square_avg = state["square_avg"]
        _common.square_average_(square_avg, grad, alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _common.lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * (grad / avg)
