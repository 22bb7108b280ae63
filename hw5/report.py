"""REPORT.md: the report's figures and a table of every run found, rebuilt from the files alone."""
from __future__ import annotations

import math
import os
from datetime import datetime

from hw5.experiments import FIGURES
from hw5.plots import plot_figure, plot_run
from hw5.results import RunResults, load_runs
from hw5.runfiles import CURVES, atomic_write_text


SETUP = ("The assignment's setup unless a run says otherwise: plain SGD (no momentum), learning rate 0.01, "
         "batch size 4, 50 epochs, cross-entropy loss, inputs normalised with mean 0.5 and std 0.5 per channel, "
         "evaluation on the full training and test sets after every epoch. Test accuracy is given after the "
         "last epoch run and at its best over all epochs.")


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.2f}%"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def synthetic_warning(runs: dict[str, RunResults]) -> str:
    """The banner a reader cannot miss when any number comes from generated images."""
    names = [n for n, r in runs.items() if r.dataset != "cifar10"]
    if not names:
        return ""
    reasons = sorted({r.config.get("data", {}).get("fallback_reason", "") for n, r in runs.items()
                      if n in names} - {""})
    which = ("The run " if len(names) == 1 else "The runs ") + ", ".join(f"`{n}`" for n in names)
    lines = [
        f"> **WARNING: NOT CIFAR-10.** {which} {'was' if len(names) == 1 else 'were'} trained and tested on "
        "the **synthetic** image set, not on CIFAR-10. Their numbers say nothing about CIFAR-10.",
    ]
    lines += [f"> Why: {reason}" for reason in reasons]
    return "\n".join(lines) + "\n"


def table(runs: dict[str, RunResults], out_dir: str) -> str:
    rows = ["| run | experiment | model | batch | lr | dataset (train/test images) | epochs run | final test acc | "
            "best test acc (epoch) | wall time | status | curves |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, run in runs.items():
        best, best_epoch = run.best_test_acc
        data = run.config.get("data", {})
        dataset = run.dataset if run.dataset == "cifar10" else f"**{run.dataset}**"
        if data:
            dataset += f" ({data.get('train_images')}/{data.get('test_images')})"
        curves = os.path.relpath(os.path.join(run.path, CURVES), out_dir)
        c = run.config
        rows.append(f"| `{name}` | {run.title} | {c.get('model')} | {c.get('batch_size')} | {c.get('lr'):g} | "
                    f"{dataset} | {len(run.epochs)} / {c.get('epochs')} | "
                    f"{_pct(run.final_test_acc)} | {_pct(best)} ({best_epoch}) | {_duration(run.wall_time)} | "
                    f"{run.status} | [png]({curves}) |")
    return "\n".join(rows) + "\n"


def write_report(runs_dir: str = "runs", out_dir: str = "report") -> str:
    """Render every run's curves and every figure that has runs, then REPORT.md; returns its path."""
    runs = load_runs(runs_dir)
    for run in runs.values():
        plot_run(run, os.path.join(run.path, CURVES))
    figures = []
    for figure in FIGURES:
        path = plot_figure(figure, runs, os.path.join(out_dir, f"{figure}.png"))
        if path:
            figures.append(figure)
    parts = [f"# hw5: CIFAR-10 experiments with minitorch\n",
             f"Generated {datetime.now():%Y-%m-%d %H:%M} from `{runs_dir}` "
             f"({len(runs)} run{'s' if len(runs) != 1 else ''}).\n"]
    warning = synthetic_warning(runs)
    if warning:
        parts.append(warning)
    if not runs:
        parts.append("No runs found. Start one with `python -m hw5 run fig1a` (or `python -m hw5 quick`).\n")
    else:
        parts.append("## Results\n\n" + SETUP + "\n\n" + table(runs, out_dir))
    for figure in figures:
        parts.append(f"## Figure {figure[3:]}\n\n![{figure}]({figure}.png)\n")
    path = os.path.join(out_dir, "REPORT.md")
    atomic_write_text(path, "\n".join(parts))
    return path
