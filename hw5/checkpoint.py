"""What a checkpoint must hold before a run resumes from it, checked whole before any file changes.

A checkpoint is a ``minitorch.save`` file, so loading it runs no code; but its
contents may still be anything: a foreign file, an edited one, one from another
version.  :func:`check_checkpoint` checks every entry's kind (so that resuming
fails here, in one line, and not half-way through rewriting the run's files),
and that the optimizer's and scheduler's hyper-parameters are exactly what the
run's config gives at the checkpoint's epoch: the config decides them, and a
checkpoint that says otherwise is not this run's.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import minitorch as mt
from hw5.experiments import Config
from hw5.runfiles import RunStateError

DATASETS = ("cifar10", "synthetic")


@dataclasses.dataclass
class Position:
    """How far a run has come: everything besides the model that a checkpoint must restore."""

    epoch: int = 0              # epochs completed
    iteration: int = 0          # optimizer steps taken
    window_sum: float = 0.0     # the loss curve's current, unfinished window of `log_every` steps
    window_count: int = 0
    elapsed: float = 0.0        # seconds spent, summed over resumed sessions
    stopped: str = ""           # "diverged" once the run cannot go on


def _kind(value: Any) -> str:
    return "none" if value is None else type(value).__name__


def _is(value: Any, kind: type) -> bool:
    """isinstance, where an int is a float too and a bool is neither an int nor a float."""
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float) if kind is float else kind)


def check_checkpoint(state: Any, path: str, config: Config) -> None:
    """RunStateError (one line, naming ``path``) unless ``state`` is a checkpoint of a run of ``config``."""
    def refuse(problem: str) -> RunStateError:
        return RunStateError(f"{path} is not a checkpoint this run can resume from: {problem}; restore the run's "
                             "own checkpoint, or start afresh with --overwrite")

    if not isinstance(state, dict):
        raise RunStateError(f"{path} is not a checkpoint of an hw5 run (it holds a {_kind(state)}); "
                            "start afresh with --overwrite")
    required = {"config": dict, "metrics": dict, "position": dict, "dataset": str, "model": dict,
                "optimizer": dict, "rng": dict, "loader": dict}
    if not {"config", "metrics", "position"} <= set(state):
        raise RunStateError(f"{path} is not a checkpoint of an hw5 run; start afresh with --overwrite")
    missing = sorted(set(required) - set(state)) + ([] if "scheduler" in state else ["scheduler"])
    if missing:
        raise refuse(f"it lacks {', '.join(repr(k) for k in missing)}")
    for key, kind in required.items():
        if not isinstance(state[key], kind):
            raise refuse(f"{key!r} is a {_kind(state[key])}, not a {kind.__name__}")
    metrics = state["metrics"]
    if not (_is(metrics.get("lines"), int) and metrics["lines"] >= 0 and isinstance(metrics.get("sha256"), str)):
        raise refuse(f"'metrics' must give a line count and a sha256, got {metrics!r:.80}")
    _check_position(state["position"], refuse)
    if state["dataset"] not in DATASETS:
        raise refuse(f"'dataset' is {state['dataset']!r:.40}, not one of {', '.join(DATASETS)}")
    if not isinstance(state.get("data_fingerprint", ""), str):
        raise refuse("'data_fingerprint' is not text")
    if not all(isinstance(k, str) and isinstance(v, mt.Tensor) for k, v in state["model"].items()):
        raise refuse("'model' must map parameter names to tensors")
    if (state["scheduler"] is None) != (not config.lr_step):
        raise refuse(f"it {'has no' if state['scheduler'] is None else 'has a'} learning-rate schedule, but the "
                     f"config says lr_step={config.lr_step}")
    if state["scheduler"] is not None and not isinstance(state["scheduler"], dict):
        raise refuse(f"'scheduler' is a {_kind(state['scheduler'])}, not a dict")
    _check_hyperparameters(state, config, refuse)


def _check_position(position: dict[str, Any], refuse: Any) -> None:
    fields = {f.name: f.type for f in dataclasses.fields(Position)}
    kinds = {"int": int, "float": float, "str": str}
    if set(position) != set(fields):
        raise refuse(f"'position' must have the fields {', '.join(fields)}, got {', '.join(map(str, position))}")
    for name, kind in fields.items():
        if not _is(position[name], kinds[str(kind)]):
            raise refuse(f"position.{name} is {position[name]!r:.40}, not a {kind}")
    if min(position["epoch"], position["iteration"], position["window_count"], position["elapsed"]) < 0:
        raise refuse("'position' holds a negative count")
    if position["stopped"] not in ("", "diverged"):
        raise refuse(f"position.stopped is {position['stopped']!r:.40}")


def expected_hyperparameters(config: Config, epoch: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The optimizer's parameter groups (without their parameters) and the scheduler's state after ``epoch``
    epochs of a run of ``config``: computed by the same code, so equal to the last bit."""
    optimizer = mt.optim.SGD([mt.nn.Parameter(mt.zeros(1))], lr=config.lr, momentum=config.momentum)
    scheduler = (mt.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma)
                 if config.lr_step else None)
    for _ in range(epoch if scheduler is not None else 0):
        scheduler.step()   # type: ignore[union-attr]  # not None here
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.state_dict()["param_groups"]]
    return groups, scheduler.state_dict() if scheduler is not None else None


def _differences(saved: dict[str, Any], own: dict[str, Any], required: tuple[str, ...]) -> list[str]:
    """The keys on which ``saved`` disagrees with ``own``: any both have, and ``required`` ones it lacks.

    Keys only one side has are another version's bookkeeping, and no reason to refuse.
    """
    return sorted(k for k in set(own) & set(saved) - {"params"} if saved[k] != own[k]) + \
        sorted(k for k in required if k not in saved)


def _check_hyperparameters(state: dict[str, Any], config: Config, refuse: Any) -> None:
    epoch = state["position"]["epoch"]
    groups, schedule = expected_hyperparameters(config, epoch)
    saved = state["optimizer"].get("param_groups")
    if not isinstance(saved, list) or len(saved) != len(groups) or not all(isinstance(g, dict) for g in saved):
        raise refuse("'optimizer' has no parameter groups like this run's")
    for own, group in zip(groups, saved, strict=True):
        changed = _differences(group, own, ("lr", "momentum"))
        if changed:
            raise refuse("its optimizer has " + ", ".join(f"{k}={group.get(k)!r}" for k in changed)
                         + ", but the config gives " + ", ".join(f"{k}={own.get(k)!r}" for k in changed)
                         + f" after epoch {epoch}")
    if schedule is not None:
        changed = _differences(state["scheduler"], schedule, ("step_size", "gamma", "last_epoch"))
        if changed:
            raise refuse("its learning-rate schedule has "
                         + ", ".join(f"{k}={state['scheduler'].get(k)!r}" for k in changed)
                         + ", but the config gives " + ", ".join(f"{k}={schedule.get(k)!r}" for k in changed)
                         + f" after epoch {epoch}")
