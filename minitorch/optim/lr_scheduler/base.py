"""LRScheduler: the base of every schedule, with PyTorch's stepping rules.

A schedule rewrites each ``group["lr"]`` once per :meth:`LRScheduler.step`.
Most schedules are *chainable*: :meth:`~LRScheduler.get_lr` computes the next
rate from the group's *current* rate (multiply by gamma at a milestone, one
step along the cosine), not from a formula in the epoch.  So a change made to
``group["lr"]`` by other code carries forward, two schedules on one optimizer
compose (each applies its factor in turn), and the floats are PyTorch's to
the last bit.  ``_get_closed_form_lr`` is the formula in the epoch, used only
by the deprecated ``step(epoch)``, as in PyTorch.

The constructor makes the initial step (``last_epoch`` -1 -> 0) with
``_is_initial`` set; most schedules leave the rates as they are on it.
"""
from __future__ import annotations

import math
import warnings
from numbers import Real
from typing import Any

from minitorch.optim.optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. "
    "Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from "
    "None, the closed form is used instead of the new chainable form, where available."
)


class LRScheduler:
    """Base: remembers each group's initial lr (``base_lrs``) and sets ``lr = get_lr()`` on every ``step()``.

    Subclasses implement :meth:`get_lr` (the chainable rule) and, where a
    formula in the epoch exists, ``_get_closed_form_lr``.
    """

    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{type(self).__name__}: last_epoch must be an integer >= -1, got {last_epoch!r}")
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr'; resuming with "
                                   f"last_epoch={last_epoch} needs the optimizer's state loaded first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and make the constructor's step (most schedules keep the rates on it)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The next learning rates, one per group, computed from the current ones (the chainable form)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch; call it after ``optimizer.step()``.

        ``step(epoch)`` (deprecated in PyTorch, with its warning) jumps to
        ``epoch`` through the closed form where the schedule has one.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (whose own state_dict holds the learning rates, ``initial_lr`` too)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s values; load the optimizer's state as well, since the chainable
        rules continue from the rates it holds."""
        self.__dict__.update(state_dict)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


def check_optimizer(optimizer: Any, owner: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer")


def check_number(value: Any, name: str, owner: str, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> Any:
    """A finite real in [low, high] (``(low, high]`` with ``low_open``), or one error line naming it."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value) if not isinstance(value, int) else value
    too_low = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        raise ValueError(f"{owner}: invalid {name} {value!r}; it must be finite" +
                         (f", {' and '.join(bounds)}" if bounds else ""))
    return value


def check_count(value: Any, name: str, owner: str, low: int = 1) -> int:
    """An integer >= low (step sizes, periods, iteration counts), or one error line naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be {'positive' if low == 1 else f'>= {low}'}, got {value}")
    return value


def per_group(value: Any, name: str, optimizer: Optimizer, owner: str) -> list[Any]:
    """One value per parameter group: a list of that length, or a single value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{owner}: expected {len(optimizer.param_groups)} values of {name} (one per group), "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)
