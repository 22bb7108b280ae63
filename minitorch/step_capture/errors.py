"""The exceptions of :mod:`minitorch.step_capture`."""
from __future__ import annotations

from typing import Any


class CaptureError(RuntimeError):
    """A step does something that a recording could not replay faithfully.

    Raised while the step is being recorded (never on a replay), naming what
    the step did, so that the step can be changed or run uncaptured.  It is
    raised where the step does the refused thing: what the step did before
    that (an optimizer step, say) is done, as in an eager call that raised.
    """


class StepStopped(Exception):
    """Raised by :func:`minitorch.step_capture.stop_if_not_finite` to end a step early with ``value`` as its result."""

    def __init__(self, value: Any) -> None:
        super().__init__("the step stopped early on a value that is not finite")
        self.value = value
