"""A finished (or unfinished) run read back from disk, as the plots and the report need it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from hw5.runfiles import LOCK, RunFiles, find_runs, split_records


def as_float(value: Any) -> float:
    """Metrics store a non-finite number as null; plots want NaN there (matplotlib skips it)."""
    return math.nan if value is None else float(value)


def is_being_written(run_dir: str) -> bool:
    """Whether a live ``python -m hw5 run`` holds this run.

    The writer keeps its pid in ``.lock`` (see :meth:`RunFiles.lock`).  This only reads
    it, never takes the lock, so a report can never make a starting run fail.  A pid that
    a dead run left and another program now has is told apart by its command line where
    /proc exists.
    """
    try:
        with open(os.path.join(run_dir, LOCK)) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
    except PermissionError:
        pass                                    # alive, another user's
    except (OSError, ValueError):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"hw5" in f.read()
    except OSError:
        return not os.path.isdir("/proc")


@dataclass
class RunResults:
    name: str
    config: dict[str, Any]
    iterations: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    running: bool = False                       # a live process is still adding epochs

    @property
    def title(self) -> str:
        return self.config.get("title") or self.name

    @property
    def dataset(self) -> str:
        return self.config.get("data", {}).get("name", self.config.get("dataset", "?"))

    @property
    def planned(self) -> int:
        return int(self.config.get("epochs", 0))

    @property
    def done(self) -> int:
        """Epochs run (the last epoch's number; a resumed run has no gaps)."""
        return int(self.epochs[-1]["epoch"]) if self.epochs else 0

    @property
    def diverged(self) -> bool:
        return any(r.get("diverged") for r in self.epochs)

    @property
    def complete(self) -> bool:
        """Every planned epoch ran, or the run stopped as diverged: nothing more will come."""
        return self.diverged or (self.done >= self.planned and not self.running)

    @property
    def status(self) -> str:
        if self.diverged:
            return f"diverged in epoch {self.done}"
        if self.done >= self.planned:
            return "finished"
        return f"{'running' if self.running else 'stopped'} after {self.done} of {self.planned} epochs"

    @property
    def progress(self) -> str:
        """What a panel's caption says about an incomplete run ("epoch 37/200, running"); "" when complete."""
        if self.diverged:
            return f"diverged in epoch {self.done}"
        if self.done >= self.planned:
            return ""
        return f"epoch {self.done}/{self.planned}, {'running' if self.running else 'stopped'}"

    def series(self, key: str) -> list[float]:
        return [as_float(r.get(key)) for r in self.epochs]

    def final(self, key: str) -> float:
        """The value of ``key`` after the last epoch run (NaN if none ran or it diverged)."""
        return as_float(self.epochs[-1].get(key)) if self.epochs else math.nan

    def window_mean(self, key: str, last: int, width: int = 5) -> float:
        """The mean of ``key`` over epochs ``last - width + 1 .. last``: one epoch's noise, averaged out."""
        values = [as_float(r.get(key)) for r in self.epochs if last - width < r["epoch"] <= last]
        return sum(values) / len(values) if values else math.nan

    def first_epoch_reaching(self, key: str, value: float) -> int | None:
        """The first epoch at which ``key`` is at least ``value`` (None if it never is)."""
        return next((r["epoch"] for r in self.epochs if as_float(r.get(key)) >= value), None)

    @property
    def final_test_acc(self) -> float:
        return self.final("test_acc")

    @property
    def best_test_acc(self) -> tuple[float, int]:
        """(accuracy, epoch) of the best test accuracy; NaN epochs are ignored."""
        pairs = zip(self.series("test_acc"), self.epochs, strict=True)
        scored = [(acc, r["epoch"]) for acc, r in pairs if math.isfinite(acc)]
        return max(scored, key=lambda t: t[0]) if scored else (math.nan, 0)

    @property
    def wall_time(self) -> float:
        """Seconds spent on the epochs run, summed over resumed sessions."""
        return as_float(self.epochs[-1].get("elapsed")) if self.epochs else 0.0

    @property
    def projected_time(self) -> float:
        """The wall time the whole run will have taken, at the pace of its epochs so far."""
        if self.complete or not self.done:
            return self.wall_time
        return self.wall_time / self.done * self.planned


def load_run(files: RunFiles) -> RunResults:
    iterations, epochs = split_records(files.records())
    return RunResults(files.name, files.read_config(), iterations, epochs, files.dir, is_being_written(files.dir))


def load_runs(runs_dir: str) -> dict[str, RunResults]:
    return {files.name: load_run(files) for files in find_runs(runs_dir)}
