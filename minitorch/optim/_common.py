"""Shared by the optimizers: hyper-parameter checks (a bad value fails at construction, naming itself), lerp,
and the steps the adaptive optimizers have in common (gradient preparation, the Adam-family moments and state)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch.backend import get_array_module


def number(value: Any, name: str, owner: str, low: float = 0.0, high: float | None = None) -> float:
    """A finite real in [low, high) (or [low, inf) without ``high``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    upper = f" and < {high}" if high is not None else ""
    if not math.isfinite(value) or value < low or (high is not None and value >= high):
        raise ValueError(f"{owner}: invalid {name} {value!r}; it must be finite, >= {low:g}{upper}")
    return float(value)


def betas(value: Any, owner: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {value!r}")
    return (number(value[0], "betas[0]", owner, high=1.0), number(value[1], "betas[1]", owner, high=1.0))


def lerp_(start: Any, end: Any, weight: float) -> None:
    """start += weight * (end - start), in place, rounded as PyTorch's ``lerp_`` rounds
    (from the nearer end, so that weight 1 gives ``end`` exactly)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        xp = get_array_module(start)
        xp.subtract(end, (end - start) * (1 - weight), out=start)


def prepare_grad(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
    """The steps every adaptive optimizer here takes before its own rule, in PyTorch's order: negate the
    gradient if ``maximize``, count the step, then apply weight decay, either decoupled (``p *= 1 - lr * wd``,
    when the group has ``decoupled_weight_decay`` set) or as an L2 penalty (``g + wd * p``).

    ``param`` is updated in place; the (possibly new) gradient is returned, never written into the caller's.
    """
    if group["maximize"]:
        grad = -grad
    state["step"] += 1
    weight_decay = group["weight_decay"]
    if weight_decay:
        if group.get("decoupled_weight_decay", False):
            param *= 1 - group["lr"] * weight_decay
        else:
            grad = grad + weight_decay * param
    return grad


def square_average_(average: Any, grad: Any, decay: float) -> None:
    """average = decay * average + (1 - decay) * grad * grad, in place (Adam's ``exp_avg_sq``, RMSprop's
    ``square_avg``), rounded as PyTorch's ``mul_`` then ``addcmul_``."""
    average *= decay
    average += (1 - decay) * grad * grad


def adam_defaults(owner: str, lr: Any, betas_: Any, eps: Any, weight_decay: Any) -> dict[str, Any]:
    """The checked hyper-parameters the Adam family (Adam, NAdam, RAdam) shares."""
    return dict(
        lr=number(lr, "lr", owner),
        betas=betas(betas_, owner),
        eps=number(eps, "eps", owner),
        weight_decay=number(weight_decay, "weight_decay", owner),
    )


def init_adam_state(param: Any, state: dict[str, Any], amsgrad: bool = False, **scalars: float) -> None:
    """A fresh Adam-family state: ``step`` 0, any extra scalar entries (NAdam's ``mu_product``), the two
    moments ``exp_avg`` and ``exp_avg_sq`` as zeros like ``param``, and ``max_exp_avg_sq`` if amsgrad."""
    xp = get_array_module(param)
    state["step"] = 0
    state.update(scalars)
    state["exp_avg"] = xp.zeros_like(param)
    state["exp_avg_sq"] = xp.zeros_like(param)
    if amsgrad:
        state["max_exp_avg_sq"] = xp.zeros_like(param)


def update_moments_(state: dict[str, Any], grad: Any, beta1: float, beta2: float) -> tuple[Any, Any]:
    """Advance the Adam-family moments in place and return them: ``exp_avg`` (m = beta1 m + (1 - beta1) g)
    and ``exp_avg_sq`` (v = beta2 v + (1 - beta2) g * g)."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    lerp_(exp_avg, grad, 1 - beta1)
    square_average_(exp_avg_sq, grad, beta2)
    return exp_avg, exp_avg_sq
