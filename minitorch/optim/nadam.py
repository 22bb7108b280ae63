"""NAdam with PyTorch's exact update rule, defaults and state."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minitorch.backend import get_array_module
from minitorch.optim import _common
from minitorch.optim.optimizer import Optimizer


class NAdam(Optimizer):
    """NAdam (Dozat): Adam with Nesterov momentum, and a momentum that warms up over the first steps.

    For each parameter p with gradient g, at step t (PyTorch's rule)::

        g = -g                                            if maximize
        g = g + weight_decay * p                          (L2 penalty), or
        p = p * (1 - lr * weight_decay)                   if decoupled_weight_decay (NAdamW)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))         (and mu_{t+1} likewise)
        P_t = P_{t-1} * mu_t                              state "mu_product", starting at 1
        m = beta1 * m + (1 - beta1) * g                   state "exp_avg"
        v = beta2 * v + (1 - beta2) * g * g               state "exp_avg_sq"
        d = sqrt(v / (1 - beta2 ** t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    A parameter whose ``.grad`` is None is skipped, and its step count stays.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        defaults = dict(
            **_common.adam_defaults(name, lr, betas, eps, weight_decay),
            momentum_decay=_common.number(momentum_decay, "momentum_decay", name),
            decoupled_weight_decay=bool(decoupled_weight_decay),
            maximize=bool(maximize),
        )
        super().__init__(params, defaults)

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        if not state:
            _common.init_adam_state(param, state, mu_product=1.0)
        grad = _common.prepare_grad(param, grad, state, group)
        step = state["step"]
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = _common.update_moments_(state, grad, beta1, beta2)
        denom = xp.sqrt(exp_avg_sq / bias_correction2)
        denom += eps
        param -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
