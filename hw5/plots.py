"""Learning curves: one figure per run, and one grid per report figure.

Each panel shows what the report's panels show: the training loss per epoch
above, training and test accuracy per epoch below.  Values that diverged are
NaN and simply leave a gap.  Matplotlib runs headless (Agg), so plots render
on a server or in CI.
"""
from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from hw5.experiments import EXPERIMENTS, FIGURES  # noqa: E402
from hw5.results import RunResults, as_float  # noqa: E402

PANELS_PER_ROW = 3


def _epochs(run: RunResults) -> list[int]:
    return [r["epoch"] for r in run.epochs]


def _note(run: RunResults) -> str:
    notes = []
    if run.diverged:
        notes.append(f"diverged, epoch {run.epochs[-1]['epoch']}")
    if run.dataset != "cifar10":
        notes.append(f"{run.dataset} data")
    return f" ({'; '.join(notes)})" if notes else ""


def _epoch_axis(ax: plt.Axes) -> None:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def draw_loss(ax: plt.Axes, run: RunResults, with_test: bool = False) -> None:
    """The training loss is the mean over the epoch's mini-batches, as the assignment reports it."""
    ax.plot(_epochs(run), run.series("train_loss"), marker=".", label="training")
    if with_test:
        ax.plot(_epochs(run), run.series("test_loss"), marker=".", label="test")
        ax.legend(fontsize="small")
    ax.set_ylabel("loss")
    _epoch_axis(ax)


def draw_accuracy(ax: plt.Axes, run: RunResults) -> None:
    epochs = _epochs(run)
    ax.plot(epochs, [100 * a for a in run.series("train_acc")], marker=".", label="training")
    ax.plot(epochs, [100 * a for a in run.series("test_acc")], marker=".", label="test")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize="small")
    _epoch_axis(ax)


def draw_iterations(ax: plt.Axes, run: RunResults) -> None:
    every = run.config.get("log_every", 250)
    ax.plot([r["iteration"] for r in run.iterations], [as_float(r["loss"]) for r in run.iterations])
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"training loss (mean of {every})")
    ax.grid(alpha=0.3)


def plot_run(run: RunResults, path: str) -> str:
    """Loss and accuracy per epoch, and the smoothed loss per iteration, side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    draw_loss(axes[0], run, with_test=True)
    draw_accuracy(axes[1], run)
    draw_iterations(axes[2], run)
    fig.suptitle(f"{run.name}: {run.title}{_note(run)}")
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_figure(figure: str, runs: dict[str, RunResults], path: str) -> str | None:
    """The grid of the report figure ``figure`` from whichever of its runs exist (None if none do)."""
    names = FIGURES.get(figure, [])
    if not any(name in runs for name in names):
        return None
    cols = min(PANELS_PER_ROW, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(4.3 * cols, 5.2 * rows), squeeze=False)
    for index in range(rows * cols):
        top, bottom = axes[2 * (index // cols), index % cols], axes[2 * (index // cols) + 1, index % cols]
        if index >= len(names):
            top.axis("off")
            bottom.axis("off")
            continue
        name = names[index]
        letter = name[len(figure):]
        run = runs.get(name)
        title = f"{run.title}{_note(run)}" if run else EXPERIMENTS[name].title
        top.set_title(f"({letter}) {title}", fontsize="medium")
        if run is None:
            for ax in (top, bottom):
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="gray")
                ax.set_xticks([])
                ax.set_yticks([])
            continue
        bottom.sharex(top)  # a diverged run's loss ends early; keep the epochs aligned
        draw_loss(top, run)
        draw_accuracy(bottom, run)
    fig.suptitle(f"Figure {figure[3:]}")
    fig.tight_layout()
    _save(fig, path)
    return path


def _save(fig: plt.Figure, path: str) -> None:
    """Render to a temporary name and rename, so a reader never sees a half-written image."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        fig.savefig(tmp, dpi=100, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
