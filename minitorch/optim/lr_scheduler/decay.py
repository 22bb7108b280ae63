"""Schedules that multiply the rate by a factor at given epochs: StepLR, MultiStepLR, ExponentialLR,
ConstantLR, LinearLR, PolynomialLR, and the user-defined LambdaLR and MultiplicativeLR.

Each ``get_lr`` is PyTorch's chainable rule (the factor applied to the group's
current rate); ``_get_closed_form_lr`` is the same schedule as a formula in the
epoch, for ``step(epoch)``.
"""
from __future__ import annotations

import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

from minitorch.optim.lr_scheduler.base import LRScheduler, check_count, check_number, check_optimizer
from minitorch.optim.optimizer import Optimizer
from minitorch.tensor import Tensor


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: ``initial_lr * gamma ** (epoch // step_size)``
    when nothing else changes the rate."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = check_count(step_size, "step_size", "StepLR")
        self.gamma = check_number(gamma, "gamma", "StepLR", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone epoch (by gamma ** k for a milestone listed k times)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        for m in milestones:
            check_count(m, "each milestone", "MultiStepLR", low=0)
        self.milestones = Counter(milestones)
        self.gamma = check_number(gamma, "gamma", "MultiStepLR", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(Counter(self.milestones).elements())  # a loaded state holds a plain dict
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number(gamma, "gamma", "ExponentialLR", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Run at ``factor`` times the lr for the first ``total_iters`` epochs, then at the full lr."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        self.factor = check_number(factor, "factor", "ConstantLR", low=0.0, high=1.0)
        self.total_iters = check_count(total_iters, "total_iters", "ConstantLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Move the lr's factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs
    (a warm-up with the defaults), then keep it."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = check_number(start_factor, "start_factor", "LinearLR", low=0.0, high=1.0,
                                         low_open=True)
        self.end_factor = check_number(end_factor, "end_factor", "LinearLR", low=0.0, high=1.0)
        self.total_iters = check_count(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        start, end = self.start_factor, self.end_factor
        ratio = 1.0 + (end - start) / (self.total_iters * start + (self.last_epoch - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        start, end = self.start_factor, self.end_factor
        return [base * (start + (end - start) * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over ``total_iters`` epochs as ``(1 - epoch / total_iters) ** power``, then keep it."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = check_count(total_iters, "total_iters", "PolynomialLR")
        self.power = check_number(power, "power", "PolynomialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        n, t = self.last_epoch, self.total_iters
        factor = ((1.0 - n / t) / (1.0 - (n - 1) / t)) ** self.power
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class _UserFactor(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one factor function per group, called with the epoch.

    ``state_dict`` keeps the state of callable objects but not of plain
    functions and lambdas (they cannot be saved), as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        check_optimizer(optimizer, owner)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"{owner}: expected {len(optimizer.param_groups)} lr_lambdas (one per group), "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{owner}: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def _factors(self) -> list[float]:
        """Each group's factor at this epoch, checked to be a number (a string would fail later, deep inside
        the optimizer's step, or silently repeat a list)."""
        factors: list[float] = []
        for i, fn in enumerate(self.lr_lambdas):
            factor = fn(self.last_epoch)
            if (isinstance(factor, Tensor) and factor.numel() == 1) or (isinstance(factor, np.ndarray)
                                                                          and factor.size == 1):
                factor = factor.item()  # a one-element Tensor or array
            if not isinstance(factor, Real):
                raise TypeError(f"{type(self).__name__}: lr_lambda (group {i}) returned {type(factor).__name__} "
                                f"{factor!r} at epoch {self.last_epoch}; it must return a number")
            factors.append(float(factor) if not isinstance(factor, int) else factor)
        return factors

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)  # the caller's dict is left as it was
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        self.__dict__.update(state)
        for fn, attributes in zip(self.lr_lambdas, saved, strict=True):
            if attributes is not None:
                fn.__dict__.update(attributes)


class LambdaLR(_UserFactor):
    """lr = initial_lr * lr_lambda(epoch), with one function for all groups or one per group.

    Not chainable (as in PyTorch): each step sets the rate from ``initial_lr``.
    """

    def get_lr(self) -> list[float]:
        return [base * factor for base, factor in zip(self.base_lrs, self._factors(), strict=True)]


class MultiplicativeLR(_UserFactor):
    """Multiply the current lr by lr_lambda(epoch) every epoch (not on the constructor's step)."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * factor for lr, factor in zip(self._current_lrs(), self._factors(), strict=True)]
