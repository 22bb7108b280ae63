"""What published PyTorch logs of this homework report (original CIFAR-10), for the report's table.

Final test accuracy in percent, as (low, high) over the logs found, and the best
over the epochs where the logs give it.  A panel with no entry has no published
number to compare with.  A panel that is another's run (fig2c = fig1d) uses
that run's entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hw5.experiments import run_name


@dataclass(frozen=True)
class Published:
    final: tuple[float, float] | None = None     # final test accuracy, % (low, high)
    best: tuple[float, float] | None = None      # best test accuracy over the epochs, % (low, high)
    note: str = ""

    def describe(self) -> str:
        def span(lo_hi: tuple[float, float]) -> str:
            lo, hi = lo_hi
            return f"{lo:g}%" if lo == hi else f"{lo:g}-{hi:g}%"
        numbers = []
        if self.final:
            numbers.append(span(self.final))
        if self.best:
            numbers.append(f"({span(self.best)})")
        return "; ".join(filter(None, [" ".join(numbers), self.note]))


PUBLISHED: dict[str, Published] = {
    "fig1a": Published(final=(31, 34), best=(35, 36)),
    "fig1b": Published(final=(48, 49), best=(51, 52)),
    "fig1c": Published(final=(36, 37), best=(39, 39)),
    "fig1d": Published(final=(62, 66), best=(64, 70)),
    "fig2a": Published(note="at chance (about 10%)"),
    "fig2d": Published(final=(43, 57)),
    "fig3a": Published(final=(60, 62)),
    "fig3b": Published(final=(61, 68)),
    "fig3d": Published(final=(57, 59), note="slower to converge"),
}


def published(panel: str) -> Published | None:
    return PUBLISHED.get(run_name(panel))


def compare(value_pct: float, lo_hi: tuple[float, float] | None) -> str:
    """Where a measured percentage lies against a published range of whole percents (rounded as they were)."""
    if lo_hi is None or not math.isfinite(value_pct):
        return ""
    rounded = math.floor(value_pct + 0.5)
    if rounded < lo_hi[0]:
        return "below"
    return "above" if rounded > lo_hi[1] else "within"
