"""Learning curves: one figure per run, one grid per report figure, and overlays that compare runs.

Each panel shows what the report's panels show: the training loss per epoch
above, training and test accuracy per epoch below.  Values that diverged are
NaN and simply leave a gap.  A loss whose values span more than a factor of
100 (the test loss at learning rate 10 reaches ~4e4 while the training loss
sits at ~4.1) is drawn on a log axis, so every curve stays readable.

Matplotlib runs headless (Agg), so plots render on a server or in CI.  The PNGs
carry no software version or date, so the same runs give the same bytes.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib

from minitorch.utils import atomic_write

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from hw5.experiments import EXPERIMENTS, FIGURES, SAME_AS, run_name  # noqa: E402
from hw5.results import RunResults, as_float  # noqa: E402

PANELS_PER_ROW = 3
MARKERS_UP_TO = 60      # epochs; longer curves are drawn as plain lines, which read better
LOG_SPAN = 100          # a loss axis turns logarithmic when its values span more than this factor
METRICS = {"train_loss": "training loss", "test_loss": "test loss",
           "train_acc": "training accuracy (%)", "test_acc": "test accuracy (%)"}


def _epochs(run: RunResults) -> list[int]:
    return [r["epoch"] for r in run.epochs]


def _values(run: RunResults, key: str) -> list[float]:
    """A metric per epoch, accuracies in percent."""
    return [100 * v for v in run.series(key)] if key.endswith("_acc") else run.series(key)


def _marker(run: RunResults) -> str:
    return "." if len(run.epochs) <= MARKERS_UP_TO else ""


def _note(run: RunResults) -> str:
    notes = [run.progress] if run.progress else []
    if run.dataset != "cifar10":
        notes.append(f"{run.dataset} data")
    return f" ({'; '.join(notes)})" if notes else ""


def _epoch_axis(ax: plt.Axes, *runs: RunResults) -> None:
    """Epochs on x, up to the most that any of ``runs`` plans: an unfinished run shows how far it has to go."""
    ax.set_xlabel("epoch")
    if runs:
        ax.set_xlim(0, max(max(r.planned, r.done) for r in runs) + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def _loss_scale(ax: plt.Axes, *curves: list[float]) -> None:
    """A log axis when the finite values span more than LOG_SPAN, so that small and huge losses both read."""
    finite = [v for curve in curves for v in curve if math.isfinite(v) and v > 0]
    if finite and max(finite) > LOG_SPAN * min(finite):
        ax.set_yscale("log")
        ax.set_ylabel(ax.get_ylabel() + " (log scale)")


def draw_loss(ax: plt.Axes, run: RunResults, with_test: bool = False) -> None:
    """The training loss is the mean over the epoch's mini-batches, as the assignment reports it."""
    curves = [run.series("train_loss")]
    ax.plot(_epochs(run), curves[0], marker=_marker(run), label="training")
    if with_test:
        curves.append(run.series("test_loss"))
        ax.plot(_epochs(run), curves[1], marker=_marker(run), label="test")
        ax.legend(fontsize="small")
    ax.set_ylabel("loss")
    _loss_scale(ax, *curves)
    _epoch_axis(ax, run)


def draw_accuracy(ax: plt.Axes, run: RunResults) -> None:
    epochs = _epochs(run)
    ax.plot(epochs, _values(run, "train_acc"), marker=_marker(run), label="training")
    ax.plot(epochs, _values(run, "test_acc"), marker=_marker(run), label="test")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize="small")
    _epoch_axis(ax, run)


def draw_iterations(ax: plt.Axes, run: RunResults) -> None:
    every = run.config.get("log_every", 250)
    losses = [as_float(r["loss"]) for r in run.iterations]
    ax.plot([r["iteration"] for r in run.iterations], losses)
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"training loss (mean of {every})")
    _loss_scale(ax, losses)
    ax.grid(alpha=0.3)


def plot_run(run: RunResults, path: str) -> str:
    """Loss and accuracy per epoch, and the smoothed loss per iteration, side by side."""
    png = run_png(run)
    atomic_write(path, lambda f: f.write(png))
    return path


def run_png(run: RunResults) -> bytes:
    """:func:`plot_run`'s image as PNG bytes (the same runs give the same bytes)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    draw_loss(axes[0], run, with_test=True)
    draw_accuracy(axes[1], run)
    draw_iterations(axes[2], run)
    fig.suptitle(f"{run.name}: {run.title}{_note(run)}")
    fig.tight_layout()
    return _render(fig)


def panel_caption(panel: str, runs: dict[str, RunResults]) -> str:
    """"(c) CoolNet, learning rate 0.01" and, on a second line, whose run it is and how far it has got."""
    letter = panel[len(EXPERIMENTS[panel].figure):]
    run = runs.get(run_name(panel))
    notes = [f"= {run_name(panel)}'s run"] if panel in SAME_AS else []
    if run is None:
        notes.append("not run")
    else:
        notes += [run.progress] if run.progress else []
        notes += [f"{run.dataset} data"] if run.dataset != "cifar10" else []
    caption = f"({letter}) {EXPERIMENTS[panel].title}"
    return caption + (f"\n{'; '.join(notes)}" if notes else "")


def plot_figure(figure: str, runs: dict[str, RunResults], path: str) -> str | None:
    """The grid of the report figure ``figure`` from whichever of its runs exist (None if none do)."""
    panels = FIGURES.get(figure, [])
    if not any(run_name(p) in runs for p in panels):
        return None
    rows = math.ceil(len(panels) / PANELS_PER_ROW)
    cols = math.ceil(len(panels) / rows)        # four panels as two by two, not three and one
    fig, axes = plt.subplots(2 * rows, cols, figsize=(4.3 * cols, 5.4 * rows), squeeze=False)
    for index in range(rows * cols):
        top, bottom = axes[2 * (index // cols), index % cols], axes[2 * (index // cols) + 1, index % cols]
        if index >= len(panels):
            top.axis("off")
            bottom.axis("off")
            continue
        panel = panels[index]
        run = runs.get(run_name(panel))
        top.set_title(panel_caption(panel, runs), fontsize="medium")
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


@dataclass(frozen=True)
class Comparison:
    """Runs overlaid on shared axes, one axis per metric: the point of a figure that compares settings."""
    title: str
    panels: tuple[str, ...]
    labels: tuple[str, ...]             # the legend's name for each panel's run
    metrics: tuple[str, ...]            # keys of METRICS


COMPARISONS: dict[str, Comparison] = {
    "compare-lr": Comparison("Learning rates: test accuracy", ("fig2a", "fig2b", "fig2c", "fig2d"),
                             ("lr 10", "lr 0.1", "lr 0.01", "lr 0.0001"), ("test_acc",)),
    "compare-epochs": Comparison("50 against 150 epochs", ("fig2c", "fig2e"), ("50 epochs", "150 epochs"),
                                 ("train_acc", "test_acc")),
    "compare-flips": Comparison("200 epochs, with and without random flips", ("fig3a", "fig3b"),
                                ("no flips", "random flips"), ("train_loss", "test_acc")),
    "compare-loss": Comparison("Cross-entropy against MSE", ("fig3c", "fig3d"), ("cross-entropy", "MSE"),
                               ("test_acc",)),
}


def plot_comparison(comparison: Comparison, runs: dict[str, RunResults], path: str) -> str | None:
    """The overlay from whichever of its runs exist (None if none do); the legend says how far each got."""
    if not any(run_name(p) in runs for p in comparison.panels):
        return None
    fig, axes = plt.subplots(1, len(comparison.metrics), figsize=(5.5 * len(comparison.metrics), 4),
                             squeeze=False)
    present = [runs[run_name(p)] for p in comparison.panels if run_name(p) in runs]
    for ax, key in zip(axes[0], comparison.metrics, strict=True):
        curves = []
        for index, (panel, label) in enumerate(zip(comparison.panels, comparison.labels, strict=True)):
            run = runs.get(run_name(panel))
            if run is None:
                continue
            curves.append(_values(run, key))
            # a run keeps its colour whichever others are missing
            ax.plot(_epochs(run), curves[-1], marker=_marker(run), markersize=3, color=f"C{index}",
                    label=f"{label}{_note(run)}")
        ax.set_ylabel(METRICS[key])
        if key.endswith("_loss"):
            _loss_scale(ax, *curves)
        _epoch_axis(ax, *present)
        ax.legend(fontsize="small")
    fig.suptitle(comparison.title)
    fig.tight_layout()
    _save(fig, path)
    return path


def _save(fig: plt.Figure, path: str) -> None:
    """Render atomically, so a reader never sees a half-written image."""
    png = _render(fig)
    atomic_write(path, lambda f: f.write(png))


def _render(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes, and closed.

    No metadata: matplotlib would write its version as "Software", and a PNG that changes
    with the version is churn in git.
    """
    out = io.BytesIO()
    try:
        fig.savefig(out, dpi=100, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return out.getvalue()
