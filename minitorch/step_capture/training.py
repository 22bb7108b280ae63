"""A training step for loops such as hw5's: one optimizer step on a batch, captured or not."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from minitorch.step_capture.captured import Captured, run_stoppable, stop_if_not_finite
from minitorch.tensor import Tensor


def training_step(model: Any, loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: Any,
                  capture: bool = True, strict: bool = False) -> Callable[[Tensor, Tensor], Tensor]:
    """``step(inputs, targets) -> loss``: forward, loss, backward and ``optimizer.step()`` on one batch.

    When the loss is NaN or infinite the step stops before the backward pass
    (parameters untouched) and returns the loss, so the caller can record the
    divergence, exactly as a loop that checks ``loss.item()`` before stepping.

    With ``capture`` (the default) the step is recorded and replayed (see
    :func:`minitorch.capture`); the loss it returns is then refilled by the
    next call, so take ``.item()`` before calling again.  ``strict=False``:
    a step the recorder cannot replay (say, a loss that checks its targets'
    values in Python) runs uncaptured, with a warning, instead of raising.
    """
    def step(inputs: Tensor, targets: Tensor) -> Tensor:
        loss = loss_fn(model(inputs), targets)
        stop_if_not_finite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    if capture:
        return Captured(step, strict=strict)
    return functools.partial(run_stoppable, step)
