"""REPORT.md: the original report's figures, a table of every panel, its claims checked, and the compute spent.

Everything is rebuilt from the run folders alone, and deterministically: the
same runs give byte-identical Markdown and images (no dates, no versions, runs
in registry order), so a regenerated report only changes where a run did.

What the report shows of the runs is :func:`hw5.results.views`: each panel's
run with every seed found, a panel that is the start of a longer run drawn
from that run (fig1d = fig3a's first 50 epochs).  A panel's numbers are the
mean over its counted seeds (its complete runs, or all of them, marked *so far*,
while none is complete); several seeds are shown as mean and range.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from typing import IO

from hw5.claims import CLAIMS, HOLDS, NOT_DECIDING, PENDING, Verdict, judge_all, loss, pct
from hw5.experiments import (
    EXPERIMENTS,
    FIGURES,
    PREFIX_OF,
    SAME_AS,
    SEEDED,
    SEEDS,
    differing_fields,
    get_experiment,
    is_seeded,
    run_name,
    seed_runs,
    split_seed,
)
from hw5.plots import (
    COMPARISONS,
    first_epoch_off_axis,
    panel_caption,
    plot_class_accuracy,
    plot_comparison,
    plot_figure,
    plot_test_loss,
    run_png,
)
from hw5.provenance import commits
from hw5.published import compare, published
from hw5.reference import reference_section
from hw5.results import RunResults, counted, load_runs, panel_mean, seeds_of, views
from hw5.runfiles import CURVES
from minitorch.utils import atomic_write, atomic_write_text, remove_temporaries

SETUP = ("The assignment's setup unless a panel says otherwise: plain SGD (no momentum), learning rate 0.01 "
         "held constant (no decay in the 50- and 200-epoch runs; only fig2e lowers it, by x0.9 every 50 "
         "epochs), batch size 4, 50 epochs, cross-entropy loss, inputs normalised with mean 0.5 and std 0.5 per "
         "channel, evaluation on the full training and test sets after every epoch. fig3d's MSE loss is taken "
         "on the network's raw outputs (no softmax) against one-hot targets, as the assignment says. The "
         "training loss is the mean over the epoch's mini-batches, in training mode.")

NETWORKS = [
    "**LazyNet**: one linear layer, 3072 -> 10, on the flattened image (multinomial logistic regression).",
    "**BoringNet**: fully connected 3072 -> 120 -> 84 -> 10, with a ReLU after the first two layers (fig1b), or "
    "without any (fig1c: a linear model with extra parameters).",
    "**CoolNet**: LeNet-style, conv(3->6, 5x5) - BatchNorm - ReLU - max-pool 2 - conv(6->16, 5x5) - BatchNorm - "
    "ReLU - max-pool 2 - linear 400 -> 120 - BatchNorm - ReLU - linear 120 -> 84 - BatchNorm - ReLU - "
    "linear 84 -> 10.",
]

SPREAD = ("Where a panel has several seeds, a number is the mean over its counted seeds, followed by their "
          "range, lowest to highest (min-max; with three seeds a standard deviation would say little more), "
          "and the figures draw that range as a band around the mean curve. The counted seeds are a panel's "
          "complete runs; a seed still running is listed but not averaged in, unless no seed is complete yet, "
          "and then the numbers are *so far*.")

FIGURE_TEXT = {
    "fig1": "Networks and batch sizes, 50 epochs at learning rate 0.01.",
    "fig2": "Learning rates, and training three times as long with the learning rate lowered by x0.9 every 50 "
            "epochs.",
    "fig3": "Training for 200 epochs with and without data augmentation, and the loss function.",
}

# The overlays drawn beside each figure, from hw5.plots.COMPARISONS.
FIGURE_COMPARISONS = {"fig2": ["compare-lr", "compare-epochs"], "fig3": ["compare-flips", "compare-loss"]}

SLOTS = 2   # runs trained at once on the 2-core machine
EARLIER_ESTIMATE = ("7-10 CPU-hours, estimated before the runs from 20-30 s per CoolNet epoch at batch 4 on one "
                    "core (README)")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def needed_runs() -> list[str]:
    """The run folders that make the panels with seed 0: one per setting (fig1d is fig3a's first 50 epochs)."""
    return list(dict.fromkeys(PREFIX_OF.get(run_name(p), run_name(p)) for p in EXPERIMENTS))


def synthetic_warning(runs: dict[str, RunResults]) -> str:
    """The banner a reader cannot miss when any number comes from generated images."""
    names = [n for n, r in runs.items() if r.dataset != "cifar10"]
    if not names:
        return ""
    reasons = sorted({r.config.get("data", {}).get("fallback_reason", "") for n, r in runs.items()
                      if n in names} - {""})
    which = ("The run " if len(names) == 1 else "The runs ") + _names(names)
    lines = [
        f"> **WARNING: NOT CIFAR-10.** {which} {'was' if len(names) == 1 else 'were'} trained and tested on "
        "the **synthetic** image set, not on CIFAR-10. Their numbers say nothing about CIFAR-10.",
    ]
    lines += [f"> Why: {reason}" for reason in reasons]
    return "\n".join(lines) + "\n"


def status_lines(raw: dict[str, RunResults]) -> str:
    """What the folder holds, counted from the runs themselves (a report written by ``quick`` right after its
    own runs ended counts them finished: the pid in their lock files is its own, but the locks are gone)."""
    complete = [n for n, r in raw.items() if r.complete]
    running = [n for n, r in raw.items() if r.running]
    stopped = [n for n in raw if n not in complete and n not in running]
    parts = [f"{len(raw)} run folder{'s' if len(raw) != 1 else ''} found: {len(complete)} complete"]
    if running:
        parts.append(f"{len(running)} still running ({_names(running)})")
    if stopped:
        parts.append(f"{len(stopped)} stopped early ({_names(stopped)})")
    need = needed_runs()
    here = [n for n in need if n in raw]
    text = "; ".join(parts) + ". "
    text += (f"The {len(EXPERIMENTS)} panels need {len(need)} runs with seed 0 (`fig2c` and `fig3c` are `fig1d`'s "
             f"settings, and `fig1d` is the first 50 epochs of `fig3a`): {len(here)} of them are here")
    seeds = seed_runs()
    seeds_here = [n for n in seeds if n in raw]
    text += (f"; the seed statistics need {len(seeds)} more runs (seeds {', '.join(map(str, SEEDS[1:]))} of "
             f"{_names(list(SEEDED))}): {len(seeds_here)} of them are here.\n")
    return text


# ------------------------------------------------------------------ curves
def spread(values: list[float], show: Callable[[float], str] = pct) -> str:
    """One seed: its value; several: the mean, then the range in brackets."""
    finite = [v for v in values if math.isfinite(v)]
    if len(values) == 1 or not finite:
        return show(values[0]) if values else ""
    mean = sum(values) / len(values)
    return f"{show(mean)} [{show(min(finite))}-{show(max(finite))}]".replace("%-", "-")


def _so_far(seeds: list[RunResults]) -> bool:
    return not all(run.complete for run in seeds)


def seeds_cell(panel: str, runs: dict[str, RunResults]) -> str:
    """How many seeds the panel's numbers are the mean of, of how many it should have, and which are not counted."""
    present, used = seeds_of(runs, panel), counted(seeds_of(runs, panel))
    text = str(len(used)) + (f" of {len(SEEDS)}" if is_seeded(panel) else "")
    left_out = [r for r in present if r not in used]
    if left_out:
        text += " (" + ", ".join(f"seed {r.seed} not counted: {r.progress}" for r in left_out) + ")"
    return text + (" (so far)" if _so_far(used) else "")


def _status(seeds: list[RunResults]) -> str:
    statuses = [r.status + ("" if r.dataset == "cifar10" else f", **{r.dataset}** data") for r in seeds]
    if len(set(statuses)) == 1:
        return statuses[0] + (" (each)" if len(seeds) > 1 else "")
    return "; ".join(f"seed {r.seed}: {s}" for r, s in zip(seeds, statuses, strict=True))


def _versus(panel: str, mean: RunResults) -> str:
    """Where the panel's final accuracy lies against the published range, saying when the run is shorter or
    unfinished: a comparison with 50-epoch numbers means little after 2 epochs."""
    pub = published(panel)
    versus = compare(100 * mean.final_test_acc, pub.final) if pub else ""
    if not versus:
        return ""
    registered = get_experiment(mean.name).epochs
    if mean.planned < registered:
        return versus + f" (shorter run: {mean.planned} of {registered} epochs)"
    return versus + (" (so far)" if not mean.complete else "")


def _bytes_writer(data: bytes) -> Callable[[IO[bytes]], object]:
    """A writer for :func:`atomic_write` that writes ``data`` (bound now, not looked up when called)."""
    return lambda f: f.write(data)


def draw_curves(runs: dict[str, RunResults], out_dir: str) -> dict[str, str]:
    """Each run's curves.png, brought up to date; returns where each is.

    A drawing that has not changed is not written again (a finished run's folder is
    left alone, and may be read-only); one that has is redrawn in the run's folder,
    or, where that folder cannot be written, in ``out_dir/curves/``.
    """
    where = {}
    for name, run in runs.items():
        png = run_png(run)
        path = os.path.join(run.path, CURVES)
        try:
            with open(path, "rb") as f:
                current = f.read() == png
        except OSError:
            current = False
        if not current:
            try:
                atomic_write(path, _bytes_writer(png))
            except OSError:   # a read-only runs folder: the report carries the drawing instead
                path = os.path.join(out_dir, "curves", f"{name}.png")
                atomic_write(path, _bytes_writer(png))
        where[name] = path
    return where


def remove_leftovers(runs: dict[str, RunResults], out_dir: str) -> None:
    """The temporary files of a report (or run) killed while writing, where no live process owns them."""
    for folder in [out_dir, os.path.join(out_dir, "curves"), *(run.path for run in runs.values())]:
        with contextlib.suppress(OSError):   # absent, or read-only: nothing to do there
            remove_temporaries(folder, dead_only=True)


# ------------------------------------------------------------------ the results table
def trained_otherwise(run: RunResults) -> list[str]:
    """How a run differs from its panel's registry entry, but for the epoch count (a column of its own): the
    settings that keep the claims from counting it, and a config.json naming another experiment (a run copied
    into another panel's folder)."""
    registry = get_experiment(run.name)
    changed = sorted(set(differing_fields(run.config, registry.to_dict())) - NOT_DECIDING)
    notes = ["other settings: " + ", ".join(f"{k} {run.config.get(k)}" for k in changed)] if changed else []
    named = run.config.get("name")
    if isinstance(named, str) and named != run.name:
        notes.append(f"config names `{named}`")
    return notes


def _otherwise(used: list[RunResults]) -> list[str]:
    """:func:`trained_otherwise` for each counted seed of a panel (naming the seed where there are several)."""
    return [(f"seed {run.seed}: " if len(used) > 1 else "") + note for run in used for note in trained_otherwise(run)]


def table(runs: dict[str, RunResults], out_dir: str, curves: dict[str, str] | None = None) -> str:
    """One row per panel of the original: its runs' numbers, and the published ones where there are any."""
    rows = ["| panel | caption | seeds | final test acc | best test acc (epoch) | last-5-epoch mean | "
            "epochs run / planned | status | published final (best) | final vs published | curves |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"]
    for panel, config in EXPERIMENTS.items():
        pub = published(panel)
        pub_text = pub.describe() if pub else ""
        notes = [f"= `{SAME_AS[panel]}`"] if panel in SAME_AS else []
        used = counted(seeds_of(runs, panel))
        if used and used[0].is_prefix:
            notes.append(f"`{PREFIX_OF[run_name(panel)]}`'s first {used[0].planned} epochs")
        notes += _otherwise(used)
        caption = config.title + (f" ({'; '.join(notes)})" if notes else "")
        mean = panel_mean(runs, panel)
        if mean is None:
            rows.append(f"| `{panel}` | {caption} | 0 | | | | 0 / {config.epochs} | not run | {pub_text} | | |")
            continue
        bests = [r.best_test_acc for r in used]
        best = (f"{pct(bests[0][0])} ({bests[0][1]})" if len(used) == 1 else spread([b for b, _ in bests]))
        finals = spread([r.final_test_acc for r in used])
        last5 = spread([r.last5 for r in used])
        dones = sorted({r.done for r in used})
        epochs = f"{'-'.join(map(str, dones[::len(dones) - 1 or 1]))} / {used[0].planned}"
        own = os.path.join(used[0].path, CURVES)
        png = os.path.relpath((curves or {}).get(os.path.basename(used[0].path), own), out_dir)
        rows.append(f"| `{panel}` | {caption} | {seeds_cell(panel, runs)} | {finals} | {best} | {last5} | {epochs} | "
                    f"{_status(used)} | {pub_text} | {_versus(panel, mean)} | [png]({png}) |")
    return "\n".join(rows) + "\n"


def runs_table(raw: dict[str, RunResults], shown: dict[str, RunResults]) -> str:
    """Every run folder: what it was drawn as, how far it got, its compute and the commits that trained it."""
    drawn: dict[str, list[str]] = {}
    for name, run in shown.items():
        drawn.setdefault(run.folder, []).append(f"`{name}`" + (f" (first {run.planned} epochs)" if run.is_prefix
                                                                else ""))
    order = [n for n in dict.fromkeys(r.folder for r in shown.values()) if n in raw]
    order += [n for n in raw if n not in order]
    rows = ["| run folder | drawn as | seed | epochs run / planned | status | compute | trained by commit |",
            "| --- | --- | ---: | ---: | --- | ---: | --- |"]
    for name in order:
        run = raw[name]
        names = drawn.get(name) or ["not drawn" + (f": `{name}` is drawn from `{PREFIX_OF[split_seed(name)[0]]}`"
                                                    if _superseded(name, shown) else "")]
        shown_as = ", ".join(names)
        made_by = ", ".join(f"`{c}`" for c in commits(run.config)) or "unknown (trained before commits were recorded)"
        rows.append(f"| `{name}` | {shown_as} | {run.seed} | {run.done} / {run.planned} | {run.status} | "
                    f"{_duration(run.epoch_seconds)} | {made_by} |")
    return "\n".join(rows) + "\n"


def _superseded(name: str, shown: dict[str, RunResults]) -> bool:
    """Whether a panel's own folder is left out because the panel is drawn from a longer run."""
    view = shown.get(name)
    return view is not None and view.is_prefix


def provenance_line(raw: dict[str, RunResults]) -> str:
    known = sorted({c for run in raw.values() for c in commits(run.config)})
    unknown = [n for n, run in raw.items() if not commits(run.config)]
    text = f"The runs came from commit{'s' if len(known) != 1 else ''} {', '.join(f'`{c}`' for c in known)}" \
        if known else "No run records the commit it came from"
    if unknown and known:
        text += f"; {len(unknown)} run{'s' if len(unknown) != 1 else ''} ({_names(unknown)}) were trained before " \
                "runs recorded their commit (unknown)"
    return text + ". Each run's `config.json` has a `provenance` entry per session: the commit and whether " \
                  "the tree was dirty, Python, NumPy and numba versions, CPU, thread counts and capture on/off.\n"


# ------------------------------------------------------------------ figures
def figure_section(figure: str, runs: dict[str, RunResults], drawn: set[str]) -> str:
    captions = "; ".join(panel_caption(p, runs).replace("\n", ", ") for p in FIGURES[figure])
    lines = [f"## Figure {figure[3:]}\n", f"{FIGURE_TEXT.get(figure, '')} Each panel: training loss per epoch "
             f"(top), training and test accuracy per epoch (bottom).\n", f"![{figure}]({figure}.png)\n",
             f"**Figure {figure[3:]}.** {captions}.\n"]
    notes = []
    for panel in FIGURES[figure]:
        letter = panel[len(figure):]
        mean = panel_mean(runs, panel)
        if panel in SAME_AS:
            notes.append(f"Panel ({letter}) has exactly the settings of `{SAME_AS[panel]}`, so it is drawn from "
                         "the same run, trained once.")
        if mean is not None and mean.is_prefix:
            notes.append(f"Panel ({letter}) is the first {mean.planned} epochs of `{PREFIX_OF[run_name(panel)]}`, "
                         "whose settings are the same but for the epoch count: one setting, one curve.")
        if mean is not None and len(mean.seeds) > 1:
            notes.append(f"Panel ({letter}) is the mean of seeds {', '.join(map(str, mean.seeds))}, the band their "
                         "range (lowest to highest at each epoch).")
        first = first_epoch_off_axis(mean) if mean is not None else None
        if first is not None:
            notes.append(f"In panel ({letter}) the first epoch's training loss ({first:.3g}) is more than twice every "
                         "later epoch's and is left off the axis, so that the rest of the curve can be read.")
        if mean is not None and mean.config.get("lr_step"):
            notes.append(f"In panel ({letter}) the dotted lines mark the learning-rate drops.")
    if notes:
        lines.append(" ".join(notes) + "\n")
    for name in FIGURE_COMPARISONS.get(figure, []):
        if name in drawn:
            lines.append(f"![{COMPARISONS[name].title}]({name}.png)\n")
    return "\n".join(lines)


def more_figures_section(drawn: set[str]) -> str:
    lines = ["## Test loss and accuracy per class\n"]
    if "test-loss" in drawn:
        lines += ["Every panel's test loss per epoch (the runs record it beside the accuracies). A loss axis whose "
                  "values span more than a factor of 100 is logarithmic.\n", "![Test loss](test-loss.png)\n"]
    if "class-accuracy" in drawn:
        lines += ["Test accuracy on each of the ten classes, mean of the last 5 epochs (and of the seeds).\n",
                  "![Test accuracy per class](class-accuracy.png)\n"]
    return "\n".join(lines) if len(lines) > 1 else ""


# ------------------------------------------------------------------ claims
def claims_section(verdicts: list[Verdict], runs: dict[str, RunResults]) -> str:
    lines = ["## The original's claims, checked\n",
             "Each statement of the original report, paraphrased, is split into parts that the runs answer with "
             "numbers. A claim **holds** when every part holds, **partly holds** when some do, and **does not "
             "hold** when none do. It is **not yet measurable** while a panel it needs has no complete run trained "
             "on CIFAR-10 with the registry's settings. Every rule compares means over the last 5 epochs of a run "
             "(one epoch's noise averaged out), averaged over the panel's counted seeds (one seed's luck averaged "
             "out); a seed still running is not counted. \"Better\" means by at least 1 point (about two standard "
             "errors on 10,000 test images), \"significantly\" by at least 2. Where a part does not hold, our runs "
             "contradict the original, and the likely reason follows it.\n",
             "| # | claim | verdict |", "| ---: | --- | --- |"]
    lines += [f"| {v.claim.number} | {v.claim.statement} | {v.verdict} |" for v in verdicts]
    lines.append("")
    for v in verdicts:
        lines.append(f"### {v.claim.number}. {v.claim.statement}\n")
        verdict = f"**Verdict: {v.verdict}.**"
        if v.verdict == PENDING:
            verdict += " Waiting for: " + "; ".join(v.waiting) + "."
        elif v.verdict != HOLDS:
            failed = sum(not p.holds for p in v.parts)
            verdict += f" Our runs contradict the original on {failed} of its {len(v.parts)} parts."
        lines += [verdict + "\n", f"Rule: {v.claim.rule}\n"]
        for part in v.parts:
            mark = "**yes**" if part.holds else "**no**"
            reason = "" if part.holds else f" *Contradicts the original; likely reason:* {part.reason}."
            lines.append(f"- {mark}: {part.text}.{reason}")
        if v.not_counted:
            lines.append(("\n" if v.parts else "") + "Not counted yet: " + "; ".join(v.not_counted) + ".")
        lines.append(("\n" if v.parts or v.not_counted else "") + "Runs: "
                     + "; ".join(_run_summary(p, v, runs) for p in v.claim.panels) + ".\n")
    return "\n".join(lines)


def _run_summary(panel: str, verdict: Verdict, runs: dict[str, RunResults]) -> str:
    name = run_name(panel)
    label = f"`{name}`" if name == panel else f"`{panel}` (= `{name}`)"
    run = verdict.counted.get(panel) or panel_mean(runs, panel)
    if run is None:
        return f"{label} not run"
    if run.is_prefix:
        label += f", `{PREFIX_OF[name]}`'s first {run.planned} epochs"
    seeds = f"mean of seeds {', '.join(map(str, run.seeds))}, " if len(run.seeds) > 1 else ""
    progress = run.progress + ", so far" if run.progress else f"{run.done}/{run.planned} epochs"
    return (f"{label} ({seeds}{progress}): test accuracy {pct(run.last5)} over the last 5 epochs, "
            f"{pct(run.final_test_acc)} after the last; training accuracy {pct(run.final('train_acc'))}, "
            f"training loss {loss(run.final('train_loss'))}")


# ------------------------------------------------------------------ time
def two_at_a_time(seconds: list[float], slots: int = SLOTS) -> float:
    """Wall clock of running jobs ``slots`` at a time: longest first, each to the slot that frees first."""
    loads = [0.0] * slots
    for t in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def _projected(run: RunResults) -> float:
    """The compute the whole run will have taken, at the pace of its epochs so far."""
    if run.complete or not run.done:
        return run.epoch_seconds
    return run.epoch_seconds / run.done * run.planned


def time_section(raw: dict[str, RunResults]) -> str:
    """The compute, measured from the runs' own epoch times (each epoch's "time": training and evaluation)."""
    need, seeds = needed_runs(), seed_runs()
    groups = [("the panels' runs (seed 0)", [n for n in need if n in raw]),
              ("the seed runs", [n for n in seeds if n in raw])]
    others = [n for n in raw if n not in need and n not in seeds]
    if others:
        groups.append(("other runs in the folder", others))
    groups = [(label, names) for label, names in groups if names]
    everything = [n for _, names in groups for n in names]
    need_epochs, seed_epochs = sum(EXPERIMENTS[n].epochs for n in need), sum(get_experiment(n).epochs for n in seeds)
    lines = ["## Compute\n",
             f"The {len(EXPERIMENTS)} panels need {len(need)} runs with seed 0 ({need_epochs:,} "
             f"epochs); the seed statistics {len(seeds)} more ({seed_epochs:,} "
             "epochs). Compute is measured from the runs' own records: the sum of every epoch's time (training "
             "and the evaluation after it), over however many sessions a run had. Two at a time: the runs, longest "
             "first, each go to whichever of two slots frees first (greedy longest-processing-time scheduling); "
             "the wall clock is when the busier slot ends. A run timed while sharing the machine took longer than "
             "it would alone.\n",
             "| runs | count | epochs run | sum of epoch times | wall clock, two at a time |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, names in [*groups, ("all", everything)] if len(groups) > 1 else groups:
        spent = [raw[n].epoch_seconds for n in names]
        lines.append(f"| {label} | {len(names)} | {sum(raw[n].done for n in names):,} | {_duration(sum(spent))} | "
                     f"{_duration(two_at_a_time(spent))} |")
    unfinished = [n for n in everything if not raw[n].complete]
    if unfinished:
        projected = [_projected(raw[n]) for n in everything]
        lines.append(f"| all, projected with {_names(unfinished)} run to the end | {len(everything)} | "
                     f"{sum(raw[n].planned for n in everything):,} | {_duration(sum(projected))} | "
                     f"{_duration(two_at_a_time(projected))} |")
    lines.append("")
    missing = [n for n in need if n not in raw]
    if missing:
        lines.append(f"Not counted, not run yet: {_names(missing)}.\n")
    lines.append(f"The earlier figure, for comparison: {EARLIER_ESTIMATE}.\n")
    return "\n".join(lines)


# ------------------------------------------------------------------ README's results section
README_BEGIN = "<!-- hw5 results: written by `python -m hw5 report --readme README.md` from runs/; do not edit -->"
README_END = "<!-- hw5 results: end -->"


def readme_section(raw: dict[str, RunResults]) -> str:
    """README's summary of the results, computed by the same code as REPORT.md (so every number agrees)."""
    need, seeds = needed_runs(), seed_runs()
    batch4 = sum(EXPERIMENTS[n].epochs for n in need
                 if EXPERIMENTS[n].model == "coolnet" and EXPERIMENTS[n].batch_size == 4)
    rows = ["| panel | final test accuracy | best (epoch) | last-5-epoch mean | seeds | published PyTorch logs, "
            "final (best) |", "| --- | ---: | ---: | ---: | --- | --- |"]
    for panel, config in EXPERIMENTS.items():
        used = counted(seeds_of(raw, panel))
        pub = published(panel)
        notes = ([f"= {SAME_AS[panel]}"] if panel in SAME_AS else []) + _otherwise(used)
        name = f"{panel} {config.title}" + (f" ({'; '.join(notes)})" if notes else "")
        if not used:
            rows.append(f"| {name} | not run | | | | {pub.describe() if pub else ''} |")
            continue
        bests = [r.best_test_acc for r in used]
        best = f"{pct(bests[0][0])} ({bests[0][1]})" if len(used) == 1 else spread([b for b, _ in bests])
        rows.append(f"| {name} | {spread([r.final_test_acc for r in used])} | {best} | "
                    f"{spread([r.last5 for r in used])} | {seeds_cell(panel, raw)} | {pub.describe() if pub else ''} |")
    verdicts = judge_all(raw)
    tally: dict[str, list[int]] = {}
    for v in verdicts:
        tally.setdefault(v.verdict, []).append(v.claim.number)
    judged = "; ".join(f"{verdict}: {', '.join(map(str, numbers))}" for verdict, numbers in tally.items())
    spent = [raw[n].epoch_seconds for n in raw]
    lines = [README_BEGIN,
             f"The report needs {len(need)} runs with seed 0 for its {len(EXPERIMENTS)} panels, "
             f"{sum(EXPERIMENTS[n].epochs for n in need):,} epochs ({batch4:,} of them CoolNet at batch size 4; "
             "`fig2c` and `fig3c` are `fig1d`'s settings and `fig1d` is the first 50 epochs of `fig3a`), and "
             f"{len(seeds)} seed runs, {sum(get_experiment(n).epochs for n in seeds):,} epochs more. `runs/` "
             f"holds {len(raw)} runs, {sum(r.done for r in raw.values()):,} epochs: "
             f"{_duration(sum(spent))} of compute (the sum of their epoch times), {_duration(two_at_a_time(spent))} "
             "of wall clock at two at a time. " + SPREAD.split(", and the figures")[0] + ".",
             "", *rows, "",
             f"`report/REPORT.md` judges the original's {len(CLAIMS)} claims against the runs ({judged}); see it for "
             "each rule and the numbers behind each verdict.",
             README_END]
    return "\n".join(lines) + "\n"


def update_readme(path: str, raw: dict[str, RunResults]) -> None:
    """Replace the section between README_BEGIN and README_END in ``path``; ValueError if the markers are absent."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no results section to rewrite (the lines {README_BEGIN!r} ... {README_END!r})")
    atomic_write_text(path, text[:start] + readme_section(raw) + text[end + len(README_END) + 1:])


# ------------------------------------------------------------------ the whole
def render(runs_dir: str, raw: dict[str, RunResults], out_dir: str, drawn: set[str],
           curves: dict[str, str] | None = None) -> str:
    """REPORT.md's text from the runs (``drawn``: which figures and overlays were drawn, by file stem)."""
    shown = views(raw)
    parts = ["# hw5: CIFAR-10 experiments with minitorch\n",
             f"Written by `python -m hw5 report` from `{runs_dir}`: " + status_lines(raw)]
    if any(not r.complete for r in raw.values()):
        parts.append("Unfinished runs are drawn and counted as far as they have got, and marked so; the claims "
                     "that need them say *not yet measurable* until a seed of each panel they need is complete.\n")
    warning = synthetic_warning(raw)
    if warning:
        parts.append(warning)
    if not raw:
        parts.append("No runs found. Start one with `python -m hw5 run fig1a` (or `python -m hw5 quick`).\n")
        return "\n".join(parts)
    parts.append("## Setup\n\n" + SETUP + "\n\nThe networks (`hw5/models.py`):\n\n"
                 + "\n".join(f"- {n}" for n in NETWORKS) + "\n")
    parts.append("## Results\n\nTest accuracy after the last epoch run, at its best over the epochs, and averaged "
                 "over the last 5 epochs (what the claims compare). " + SPREAD + "\n\n" + table(shown, out_dir, curves))
    parts.append("## Runs and provenance\n\n" + provenance_line(raw) + "\n" + runs_table(raw, shown))
    parts += [figure_section(f, shown, drawn) for f in FIGURES if f in drawn]
    more = more_figures_section(drawn)
    if more:
        parts.append(more)
    parts.append(claims_section(judge_all(shown), shown))
    reference = reference_section(runs_dir, raw)
    if reference:
        parts.append(reference)
    parts.append(time_section(raw))
    return "\n".join(parts)


def draw(runs_dir: str, raw: dict[str, RunResults], out_dir: str) -> tuple[set[str], dict[str, str]]:
    """Every run's curves (:func:`draw_curves`), and the report's figures that have runs; returns the stems of
    the figures drawn and where each run's curves are."""
    curves = draw_curves(raw, out_dir)
    shown = views(raw)
    drawn = {f for f in FIGURES if plot_figure(f, shown, os.path.join(out_dir, f"{f}.png"))}
    drawn |= {n for n, c in COMPARISONS.items() if plot_comparison(c, shown, os.path.join(out_dir, f"{n}.png"))}
    if plot_test_loss(shown, os.path.join(out_dir, "test-loss.png")):
        drawn.add("test-loss")
    if plot_class_accuracy(shown, os.path.join(out_dir, "class-accuracy.png")):
        drawn.add("class-accuracy")
    return drawn, curves


def write_report(runs_dir: str = "runs", out_dir: str = "report", readme: str | None = None) -> str:
    """Render every run's curves, the figures and comparisons that have runs, then REPORT.md; returns its path.
    ``readme``: also rewrite that file's results section (:func:`update_readme`)."""
    raw = load_runs(runs_dir)
    remove_leftovers(raw, out_dir)
    drawn, curves = draw(runs_dir, raw, out_dir) if raw else (set(), {})
    path = os.path.join(out_dir, "REPORT.md")
    atomic_write_text(path, render(runs_dir, raw, out_dir, drawn, curves))
    if readme:
        update_readme(readme, raw)
    return path

