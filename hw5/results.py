"""A finished (or unfinished) run read back from disk, as the plots and the report need it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hw5.runfiles import RunFiles, find_runs, split_records


def as_float(value: Any) -> float:
    """Metrics store a non-finite number as null; plots want NaN there (matplotlib skips it)."""
    return math.nan if value is None else float(value)


@dataclass
class RunResults:
    name: str
    config: dict[str, Any]
    iterations: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""

    @property
    def title(self) -> str:
        return self.config.get("title") or self.name

    @property
    def dataset(self) -> str:
        return self.config.get("data", {}).get("name", self.config.get("dataset", "?"))

    @property
    def diverged(self) -> bool:
        return any(r.get("diverged") for r in self.epochs)

    @property
    def status(self) -> str:
        done, planned = len(self.epochs), self.config.get("epochs", 0)
        if self.diverged:
            return f"diverged in epoch {self.epochs[-1]['epoch']}"
        return "finished" if done >= planned else f"stopped after {done} of {planned} epochs"

    def series(self, key: str) -> list[float]:
        return [as_float(r.get(key)) for r in self.epochs]

    @property
    def final_test_acc(self) -> float:
        return self.series("test_acc")[-1] if self.epochs else math.nan

    @property
    def best_test_acc(self) -> tuple[float, int]:
        """(accuracy, epoch) of the best test accuracy; NaN epochs are ignored."""
        scored = [(acc, r["epoch"]) for acc, r in zip(self.series("test_acc"), self.epochs) if math.isfinite(acc)]
        return max(scored, key=lambda t: t[0]) if scored else (math.nan, 0)

    @property
    def wall_time(self) -> float:
        return as_float(self.epochs[-1].get("elapsed")) if self.epochs else 0.0


def load_run(files: RunFiles) -> RunResults:
    iterations, epochs = split_records(files.records())
    return RunResults(files.name, files.read_config(), iterations, epochs, files.dir)


def load_runs(runs_dir: str) -> dict[str, RunResults]:
    return {files.name: load_run(files) for files in find_runs(runs_dir)}
