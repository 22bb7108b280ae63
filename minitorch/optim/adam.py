"""Adam and AdamW with PyTorch's exact update rules, defaults and state."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minitorch.backend import get_array_module
from minitorch.optim import _common
from minitorch.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma and Ba): per-parameter steps scaled by running moments of the gradient.

    For each parameter p with gradient g, at step t (PyTorch's rule)::

        g = -g                                           if maximize
        g = g + weight_decay * p                         (L2 penalty), or
        p = p * (1 - lr * weight_decay)                  if decoupled_weight_decay (AdamW)
        m = beta1 * m + (1 - beta1) * g                  first moment  (state "exp_avg")
        v = beta2 * v + (1 - beta2) * g * g              second moment (state "exp_avg_sq")
        v_max = max(v_max, v)                            if amsgrad    (state "max_exp_avg_sq")
        p = p - lr / (1 - beta1**t) * m / (sqrt(v or v_max) / sqrt(1 - beta2**t) + eps)

    A parameter whose ``.grad`` is None is skipped, and its step count stays.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        name = type(self).__name__
        defaults = dict(
            **_common.adam_defaults(name, lr, betas, eps, weight_decay),
            amsgrad=bool(amsgrad),
            maximize=bool(maximize),
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, defaults)

    @staticmethod
    def _update(param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, (beta1, beta2), eps, amsgrad = group["lr"], group["betas"], group["eps"], group["amsgrad"]
        if not state:
            _common.init_adam_state(param, state, amsgrad)
        grad = _common.prepare_grad(param, grad, state, group)
        step = state["step"]
        exp_avg, exp_avg_sq = _common.update_moments_(state, grad, beta1, beta2)
        if amsgrad:
            xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        denom = xp.sqrt(exp_avg_sq) / (1 - beta2 ** step) ** 0.5 + eps
        param -= (lr / (1 - beta1 ** step)) * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``p *= 1 - lr * weight_decay``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient.  Default weight_decay 1e-2."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
