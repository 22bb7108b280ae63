"""Run folders written by hand, as train() leaves them, for the report's and the claims' tests (no training).

``panel_run`` writes a registry experiment's run with smooth made-up curves;
``world`` writes all twelve runs behind the fifteen panels (fig1d = fig2c =
fig3c is fig3a's first 50 epochs) such that every claim of the original report
holds, so that a test can spoil one claim at a time.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from hw5.experiments import get_experiment
from hw5.runfiles import RunFiles

Curve = tuple[float, float] | tuple[float, float, float] | Sequence[float]


def curve(spec: Curve, epochs: int) -> list[float]:
    """An explicit list, or (start, end[, tau]): a value moving from start towards end as 1 - exp(-epoch/tau)."""
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        start, end, tau = (*spec, 10.0) if len(spec) == 2 else spec
        return [end - (end - start) * math.exp(-(e - 1) / tau) for e in range(1, epochs + 1)]
    return list(spec)


def panel_run(runs_dir: str, name: str, test: Curve = (0.48, 0.66), train: Curve = (0.48, 0.72),
              loss: Curve = (1.8, 1.2), test_loss: Curve | None = None, done: int | None = None,
              diverge_at: int | None = None, dataset: str = "cifar10", seconds: float = 60.0,
              **changes) -> RunFiles:
    """The registry's run ``name`` (``fig3a-seed1``: with seed 1) with ``done`` of its epochs (default: all), its
    settings changed by ``changes``."""
    config = {**get_experiment(name).to_dict(), "dataset": dataset, **changes}
    planned = config["epochs"]
    done = planned if done is None else done
    files = RunFiles(runs_dir, name)
    files.start_fresh()
    files.write_config({**config, "data": {"name": dataset, "train_images": 50000, "test_images": 10000,
                                           "fallback_reason": "" if dataset == "cifar10" else "no CIFAR here"}})
    tests, trains, losses = curve(test, done), curve(train, done), curve(loss, done)
    test_losses = curve(test_loss, done) if test_loss is not None else [1.0] * done
    for e in range(1, done + 1):
        bad = diverge_at == e
        files.append({"type": "iteration", "epoch": e, "iteration": 250 * e,
                      "loss": math.nan if bad else losses[e - 1], "lr": config["lr"]})
        files.append({"type": "epoch", "epoch": e, "iteration": 250 * e,
                      "train_loss": math.inf if bad else losses[e - 1], "train_acc": trains[e - 1],
                      "test_loss": math.nan if bad else test_losses[e - 1], "test_acc": tests[e - 1],
                      "class_acc": {"cat": tests[e - 1] - 0.1, "ship": tests[e - 1] + 0.1},
                      "lr": config["lr"], "time": seconds, "elapsed": seconds * e, "diverged": bad})
        if bad:
            break
    return files


# Every claim holds on these curves (start, end[, tau]); a test changes one run to spoil one claim.
WORLD: dict[str, dict] = {
    "fig1a": dict(test=(0.25, 0.33), train=(0.28, 0.37), loss=(2.2, 2.06)),
    "fig1b": dict(test=(0.45, 0.50, 3), train=(0.45, 0.85, 30), loss=(1.7, 0.6, 30)),
    "fig1c": dict(test=(0.35, 0.38), train=(0.38, 0.42), loss=(1.8, 1.68)),
    "fig1e": dict(test=(0.50, 0.68), train=(0.50, 0.90), loss=(1.6, 0.47)),
    "fig1f": dict(test=(0.34, 0.60), train=(0.34, 0.73), loss=(2.0, 0.3, 40)),
    "fig2a": dict(test=[0.10] * 50, train=[0.10] * 50, loss=[24.3] + [4.1, 4.2] * 24 + [4.1],
                  test_loss=[4e4] * 50),
    "fig2b": dict(test=(0.50, 0.60), train=(0.50, 0.65), loss=(1.8, 1.3)),
    "fig2d": dict(test=(0.30, 0.50), train=(0.30, 0.52), loss=(2.2, 1.6)),
    "fig2e": dict(test=(0.48, 0.66), train=(0.48, 0.80, 30), loss=(1.8, 1.0, 30)),
    "fig3a": dict(test=(0.48, 0.66), train=(0.48, 0.80, 30), loss=(1.8, 1.0, 30)),      # and fig1d: epochs 1-50
    "fig3b": dict(test=(0.45, 0.69, 30), train=(0.45, 0.70, 30), loss=(1.9, 1.1, 30)),
    "fig3d": dict(test=(0.30, 0.58, 20), train=(0.30, 0.60, 20), loss=(0.09, 0.05)),
}


def world(runs_dir: str, **changes: dict) -> None:
    """All twelve runs, each with ``WORLD``'s curves updated by ``changes[name]`` (None: leave it out)."""
    for name, curves in WORLD.items():
        if name in changes and changes[name] is None:
            continue
        panel_run(runs_dir, name, **{**curves, **changes.get(name, {})})
