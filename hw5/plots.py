"""Learning curves: one figure per run, one grid per report figure, overlays that compare runs, the test
loss of every panel, and the accuracy on each class.

Each panel shows what the report's panels show: the training loss per epoch
above, training and test accuracy per epoch below.  A panel with several seeds
is drawn as the seeds' mean, in a band from their lowest to their highest value
at each epoch.  Values that diverged are NaN and simply leave a gap.  A loss
whose values span more than a factor of 100 (the test loss at learning rate 10
reaches ~4e4 while the training loss sits at ~4.1) is drawn on a log axis; a
first epoch far above all the others (24 at learning rate 10, then ~4.1) is left
off the axis, and the panel says so, so that the rest stays readable.

Matplotlib runs headless (Agg), so plots render on a server or in CI.  The PNGs
carry no software version or date, so the same runs give the same bytes.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

from minitorch.utils import atomic_write

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from hw5.experiments import EXPERIMENTS, FIGURES, PREFIX_OF, SAME_AS, run_name  # noqa: E402
from hw5.results import RunResults, as_float, counted, panel_mean, seeds_of  # noqa: E402

PANELS_PER_ROW = 3
MARKERS_UP_TO = 60      # epochs; longer curves are drawn as plain lines, which read better
LOG_SPAN = 100          # a loss axis turns logarithmic when its values span more than this factor
OUTLIER = 2             # a first epoch's loss more than this many times all later ones' is left off the axis
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


def _band(ax: plt.Axes, seeds: Sequence[RunResults], key: str, color: str) -> None:
    """The seeds' range at each epoch (lowest to highest), shaded behind their mean curve."""
    if len(seeds) < 2:
        return
    epochs = sorted(set.intersection(*({r["epoch"] for r in run.epochs} for run in seeds)))
    values = [dict(zip(_epochs(run), _values(run, key), strict=True)) for run in seeds]
    lows = [min(v[e] for v in values) for e in epochs]
    highs = [max(v[e] for v in values) for e in epochs]
    ax.fill_between(epochs, lows, highs, color=color, alpha=0.25, linewidth=0)


def _clip_first_epoch(ax: plt.Axes, run: RunResults) -> None:
    """Leave an outlying first epoch (:func:`first_epoch_off_axis`) off a linear loss axis, and say so on it."""
    first = first_epoch_off_axis(run)
    if first is None or ax.get_yscale() != "linear":
        return
    rest = [v for v in run.series("train_loss")[1:] if math.isfinite(v)]
    low, high = min(rest), max(rest)
    pad = max(0.05 * (high - low), 0.02 * high)
    ax.set_ylim(low - pad, high + pad)
    ax.annotate(f"epoch 1: {first:.3g}, off the axis", xy=(0.98, 0.95), xycoords="axes fraction",
                ha="right", va="top", fontsize="small", color="gray")


def draw_loss(ax: plt.Axes, run: RunResults, with_test: bool = False, seeds: Sequence[RunResults] = (),
              clip: bool = False) -> None:
    """The training loss is the mean over the epoch's mini-batches, as the assignment reports it.

    ``seeds``: the runs ``run`` is the mean of, drawn as a band.  ``clip``: leave an outlying first epoch
    off the axis (:func:`first_epoch_off_axis`)."""
    curves = [run.series("train_loss")]
    _band(ax, seeds, "train_loss", "C0")
    ax.plot(_epochs(run), curves[0], marker=_marker(run), color="C0", label="training")
    if with_test:
        curves.append(run.series("test_loss"))
        _band(ax, seeds, "test_loss", "C1")
        ax.plot(_epochs(run), curves[1], marker=_marker(run), color="C1", label="test")
        ax.legend(fontsize="small")
    ax.set_ylabel("loss" if with_test else "training loss")
    _loss_scale(ax, *curves)
    _epoch_axis(ax, run)
    if clip and not with_test:
        _clip_first_epoch(ax, run)


def draw_accuracy(ax: plt.Axes, run: RunResults, seeds: Sequence[RunResults] = ()) -> None:
    epochs = _epochs(run)
    for key, label, color in (("train_acc", "training", "C0"), ("test_acc", "test", "C1")):
        _band(ax, seeds, key, color)
        ax.plot(epochs, _values(run, key), marker=_marker(run), color=color, label=label)
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


def drawn_from(panel: str, runs: dict[str, RunResults]) -> list[str]:
    """Where a panel's curves come from, in a few words each: "= fig1d", "fig3a's first 50 epochs",
    "mean of 3 seeds", how far an unfinished run has got, data other than CIFAR-10; ["not run"] without a run."""
    notes = [f"= {SAME_AS[panel]}"] if panel in SAME_AS else []
    run = panel_mean(runs, panel)
    if run is None:
        return notes + ["not run"]
    if run.is_prefix:
        notes.append(f"{PREFIX_OF[run_name(panel)]}'s first {run.planned} epochs")
    if len(run.seeds) > 1:
        notes.append(f"mean of {len(run.seeds)} seeds")
    notes += [run.progress] if run.progress else []
    notes += [f"{run.dataset} data"] if run.dataset != "cifar10" else []
    return notes


def panel_caption(panel: str, runs: dict[str, RunResults]) -> str:
    """"(c) CoolNet, learning rate 0.01" and, on a second line, whose run it is and how far it has got."""
    letter = panel[len(EXPERIMENTS[panel].figure):]
    notes = drawn_from(panel, runs)
    caption = f"({letter}) {EXPERIMENTS[panel].title}"
    return caption + (f"\n{'; '.join(notes)}" if notes else "")


def first_epoch_off_axis(run: RunResults) -> float | None:
    """The first epoch's training loss if a figure's panel leaves it off the axis (see the module docstring)."""
    curve = run.series("train_loss")
    rest = [v for v in curve[1:] if math.isfinite(v)]
    if not rest or not math.isfinite(curve[0]) or curve[0] <= OUTLIER * max(rest):
        return None
    return curve[0]


def _mark_lr_drops(ax: plt.Axes, run: RunResults, color: str = "gray") -> None:
    """A dotted line after each epoch at whose end the learning rate is lowered (StepLR), over the planned epochs."""
    config = run.config
    step, gamma = int(config.get("lr_step") or 0), float(config.get("lr_gamma", 1.0))
    if not step or gamma == 1.0:
        return
    for epoch in range(step, max(run.planned, run.done), step):
        ax.axvline(epoch + 0.5, color=color, linestyle=":", linewidth=1)
    ax.text(step + 0.5, 0.02, f" lr x{gamma:g}", transform=ax.get_xaxis_transform(), fontsize="x-small",
            color=color, va="bottom")


def plot_figure(figure: str, runs: dict[str, RunResults], path: str) -> str | None:
    """The grid of the report figure ``figure`` from whichever of its runs exist (None if none do).

    ``runs`` is a :func:`hw5.results.views` result: a panel with several seeds is drawn as their mean,
    with a band from the lowest to the highest seed."""
    panels = FIGURES.get(figure, [])
    if not any(seeds_of(runs, p) for p in panels):
        return None
    rows = math.ceil(len(panels) / PANELS_PER_ROW)
    cols = math.ceil(len(panels) / rows)        # four panels as two by two, not three and one
    fig, axes = plt.subplots(2 * rows, cols, figsize=(4.3 * cols, 5.6 * rows), squeeze=False)
    for index in range(rows * cols):
        top, bottom = axes[2 * (index // cols), index % cols], axes[2 * (index // cols) + 1, index % cols]
        if index >= len(panels):
            top.axis("off")
            bottom.axis("off")
            continue
        panel = panels[index]
        seeds = counted(seeds_of(runs, panel))
        top.set_title(panel_caption(panel, runs), fontsize="medium")
        if not seeds:
            for ax in (top, bottom):
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="gray")
                ax.set_xticks([])
                ax.set_yticks([])
            continue
        run = panel_mean(runs, panel)
        assert run is not None
        bottom.sharex(top)  # a diverged run's loss ends early; keep the epochs aligned
        draw_loss(top, run, seeds=seeds, clip=True)
        draw_accuracy(bottom, run, seeds=seeds)
        for ax in (top, bottom):
            _mark_lr_drops(ax, run)
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
    "compare-epochs": Comparison("50 against 150 epochs (lr x0.9 every 50 epochs)", ("fig2c", "fig2e"),
                                 ("50 epochs", "150 epochs"), ("train_acc", "test_acc")),
    "compare-flips": Comparison("200 epochs, with and without random flips", ("fig3a", "fig3b"),
                                ("no flips", "random flips"), ("train_loss", "test_acc")),
    "compare-loss": Comparison("Cross-entropy against MSE", ("fig3c", "fig3d"), ("cross-entropy", "MSE"),
                               ("test_acc",)),
}


def _legend(label: str, run: RunResults) -> str:
    seeds = f", mean of {len(run.seeds)} seeds" if len(run.seeds) > 1 else ""
    return f"{label}{seeds}{_note(run)}"


def plot_comparison(comparison: Comparison, runs: dict[str, RunResults], path: str) -> str | None:
    """The overlay from whichever of its runs exist (None if none do); the legend says how far each got.

    Several seeds: their mean, in a band from the lowest to the highest.  A learning-rate drop is a dotted
    line in the colour of the run it belongs to."""
    means = {p: panel_mean(runs, p) for p in comparison.panels}
    present = [run for run in means.values() if run is not None]
    if not present:
        return None
    fig, axes = plt.subplots(1, len(comparison.metrics), figsize=(5.5 * len(comparison.metrics), 4),
                             squeeze=False)
    for ax, key in zip(axes[0], comparison.metrics, strict=True):
        curves = []
        for index, (panel, label) in enumerate(zip(comparison.panels, comparison.labels, strict=True)):
            run = means[panel]
            if run is None:
                continue
            curves.append(_values(run, key))
            # a run keeps its colour whichever others are missing
            _band(ax, counted(seeds_of(runs, panel)), key, f"C{index}")
            ax.plot(_epochs(run), curves[-1], marker=_marker(run), markersize=3, color=f"C{index}",
                    label=_legend(label, run))
            _mark_lr_drops(ax, run, color=f"C{index}")
        ax.set_ylabel(METRICS[key])
        if key.endswith("_loss"):
            _loss_scale(ax, *curves)
        _epoch_axis(ax, *present)
        ax.legend(fontsize="small")
    fig.suptitle(comparison.title)
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_test_loss(runs: dict[str, RunResults], path: str) -> str | None:
    """Every panel's test loss per epoch, one axis per report figure (None if no panel has a run)."""
    figures = [f for f in FIGURES if any(seeds_of(runs, p) for p in FIGURES[f])]
    if not figures:
        return None
    fig, axes = plt.subplots(1, len(figures), figsize=(5.5 * len(figures), 4), squeeze=False)
    for ax, figure in zip(axes[0], figures, strict=True):
        curves, present = [], []
        for index, panel in enumerate(FIGURES[figure]):
            run = panel_mean(runs, panel)
            if run is None:
                continue
            curves.append(run.series("test_loss"))
            present.append(run)
            _band(ax, counted(seeds_of(runs, panel)), "test_loss", f"C{index}")
            ax.plot(_epochs(run), curves[-1], color=f"C{index}",
                    label=_legend(f"({panel[len(figure):]}) {EXPERIMENTS[panel].title}", run))
        ax.set_title(f"Figure {figure[3:]}", fontsize="medium")
        ax.set_ylabel("test loss")
        _loss_scale(ax, *curves)
        _epoch_axis(ax, *present)
        ax.legend(fontsize="x-small")
    fig.suptitle("Test loss per epoch (mean over the test set; seeds' mean and range)")
    fig.tight_layout()
    _save(fig, path)
    return path


def class_accuracy(seeds: list[RunResults], width: int = 5) -> dict[str, float]:
    """Test accuracy on each class: the mean over the last ``width`` planned epochs, averaged over the seeds."""
    per_seed = []
    for run in seeds:
        rows = [r["class_acc"] for r in run.epochs if run.planned - width < r["epoch"] <= run.planned
                and isinstance(r.get("class_acc"), dict)]
        if rows:
            per_seed.append({c: sum(as_float(row.get(c)) for row in rows) / len(rows) for c in rows[-1]})
    if not per_seed:
        return {}
    return {c: sum(seed[c] for seed in per_seed) / len(per_seed) for c in per_seed[0]}


def class_rows(runs: dict[str, RunResults]) -> dict[str, dict[str, float]]:
    """Each panel with its own run (fig2c and fig3c are fig1d's), in registry order: its accuracy per class."""
    rows = {}
    for panel in EXPERIMENTS:
        if panel in SAME_AS:
            continue
        accuracy = class_accuracy(counted(seeds_of(runs, panel)))
        if accuracy:
            rows[panel] = accuracy
    return rows


def plot_class_accuracy(runs: dict[str, RunResults], path: str) -> str | None:
    """A table in colour: one row per panel, one column per class, the test accuracy (%) written in each cell."""
    rows = class_rows(runs)
    if not rows:
        return None
    classes = list(next(iter(rows.values())))
    values = [[100 * rows[p].get(c, math.nan) for c in classes] for p in rows]
    fig, ax = plt.subplots(figsize=(1.0 * len(classes) + 3.5, 0.42 * len(rows) + 1.6))
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            ax.text(j, i, "" if not math.isfinite(value) else f"{value:.0f}", ha="center", va="center",
                    fontsize="small", color="white" if value < 60 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [f"{p} {EXPERIMENTS[p].title}" for p in rows], fontsize="small")
    fig.colorbar(image, ax=ax, label="test accuracy (%)")
    ax.set_title("Test accuracy per class (mean of the last 5 epochs; seeds' mean)", fontsize="medium")
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
