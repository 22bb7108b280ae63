"""RAdam with PyTorch's exact update rule, defaults and state."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minitorch.backend import get_array_module
from minitorch.optim import _common
from minitorch.optim.optimizer import Optimizer


class RAdam(Optimizer):
    """RAdam (Liu et al.): Adam whose adaptive step is switched on only once the variance of its estimate
    is tractable, and then scaled by a rectification term (a warm-up without a schedule).

    For each parameter p with gradient g, at step t (PyTorch's rule)::

        g = -g                                            if maximize
        g = g + weight_decay * p                          (L2 penalty), or
        p = p * (1 - lr * weight_decay)                   if decoupled_weight_decay (RAdamW)
        m = beta1 * m + (1 - beta1) * g                   state "exp_avg"
        v = beta2 * v + (1 - beta2) * g * g               state "exp_avg_sq"
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2 ** t / (1 - beta2 ** t)
        m_hat = m / (1 - beta1 ** t)
        p = p - lr * m_hat * r_t * sqrt(1 - beta2 ** t) / (sqrt(v) + eps)     if rho_t > 5, where
            r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
        p = p - lr * m_hat                                otherwise (SGD with momentum)

    A parameter whose ``.grad`` is None is skipped, and its step count stays.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        defaults = dict(
            **_common.adam_defaults(name, lr, betas, eps, weight_decay),
            decoupled_weight_decay=bool(decoupled_weight_decay),
            maximize=bool(maximize),
        )
        super().__init__(params, defaults)

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            _common.init_adam_state(param, state)
        grad = _common.prepare_grad(param, grad, state, group)
        step = state["step"]
        exp_avg, exp_avg_sq = _common.update_moments_(state, grad, beta1, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_direction = exp_avg / bias_correction1 * lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = bias_correction2 ** 0.5 / (xp.sqrt(exp_avg_sq) + eps)
            param -= step_direction * adaptive * rect
        else:
            param -= step_direction
