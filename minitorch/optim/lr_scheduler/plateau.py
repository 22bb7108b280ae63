"""ReduceLROnPlateau: cut the lr by ``factor`` when a metric (a validation loss) stops improving."""
from __future__ import annotations

import math
from typing import Any

from minitorch.optim.lr_scheduler.base import LRScheduler, check_count, check_number, check_optimizer, per_group
from minitorch.optim.optimizer import Optimizer


class ReduceLROnPlateau(LRScheduler):
    """After more than ``patience`` epochs without improvement of ``metrics`` (given to :meth:`step`),
    multiply each group's lr by ``factor`` (not below ``min_lr``; a change smaller than ``eps`` is skipped),
    then wait ``cooldown`` epochs before counting again.

    An improvement beats the best value by ``threshold``: relatively (``best * (1 - threshold)`` in ``min``
    mode) or absolutely (``best - threshold``).  PyTorch's rules and state.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        check_optimizer(optimizer, owner)
        self.factor = check_number(factor, "factor", owner, low=0.0)
        if self.factor >= 1.0:
            raise ValueError(f"{owner}: factor must be < 1.0, got {factor}")
        self.optimizer = optimizer
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = [check_number(v, "min_lr", owner, low=0.0)
                        for v in per_group(min_lr, "min_lr", optimizer, owner)]
        self.patience = check_count(patience, "patience", owner, low=0)
        self.cooldown = check_count(cooldown, "cooldown", owner, low=0)
        self.eps = check_number(eps, "eps", owner, low=0.0)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode, check_number(threshold, "threshold", owner, low=0.0), threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's ``metrics`` (a number or one-element Tensor) and cut the lr if it plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got {type(metrics).__name__} "
                            f"{metrics!r}") from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown are not counted
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(self.optimizer.param_groups)} "
                                   f"parameter groups but min_lr lists {len(self.min_lrs)}; set min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
