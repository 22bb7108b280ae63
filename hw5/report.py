"""REPORT.md: the original report's figures, a table of every panel, its claims checked, and the compute spent.

Everything is rebuilt from the run folders alone, and deterministically: the
same runs give byte-identical Markdown and images (no dates, no versions), so a
regenerated report only changes where a run did.
"""
from __future__ import annotations

import contextlib
import os

from hw5.claims import HOLDS, PENDING, Verdict, judge_all, loss, pct
from hw5.experiments import EXPERIMENTS, FIGURES, SAME_AS, run_name
from hw5.plots import COMPARISONS, panel_caption, plot_comparison, plot_figure, run_png
from hw5.published import compare, published
from hw5.results import RunResults, load_runs
from hw5.runfiles import CURVES
from minitorch.utils import atomic_write, atomic_write_text, remove_temporaries

SETUP = ("The assignment's setup unless a panel says otherwise: plain SGD (no momentum), learning rate 0.01, "
         "batch size 4, 50 epochs, cross-entropy loss, inputs normalised with mean 0.5 and std 0.5 per channel, "
         "seed 0, evaluation on the full training and test sets after every epoch. The training loss is the mean "
         "over the epoch's mini-batches. Test accuracy is given after the last epoch run and at its best over "
         "all epochs.")

FIGURE_TEXT = {
    "fig1": "Networks and batch sizes, 50 epochs at learning rate 0.01.",
    "fig2": "Learning rates, and training three times as long.",
    "fig3": "Training for 200 epochs with and without data augmentation, and the loss function.",
}

# The overlays drawn beside each figure, from hw5.plots.COMPARISONS.
FIGURE_COMPARISONS = {"fig2": ["compare-lr", "compare-epochs"], "fig3": ["compare-flips", "compare-loss"]}

SLOTS = 2   # runs trained at once on the 2-core machine


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def panel_runs(runs: dict[str, RunResults]) -> dict[str, RunResults]:
    """The runs the panels are drawn from, each once (fig1d stands for fig2c and fig3c too), in panel order."""
    names = dict.fromkeys(run_name(p) for p in EXPERIMENTS)
    return {n: runs[n] for n in names if n in runs}


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


# ------------------------------------------------------------------ table
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
                atomic_write(path, lambda f, png=png: f.write(png))
            except OSError:   # a read-only runs folder: the report carries the drawing instead
                path = os.path.join(out_dir, "curves", f"{name}.png")
                atomic_write(path, lambda f, png=png: f.write(png))
        where[name] = path
    return where


def remove_leftovers(runs: dict[str, RunResults], out_dir: str) -> None:
    """The temporary files of a report (or run) killed while writing, where no live process owns them."""
    for folder in [out_dir, os.path.join(out_dir, "curves"), *(run.path for run in runs.values())]:
        with contextlib.suppress(OSError):   # absent, or read-only: nothing to do there
            remove_temporaries(folder, dead_only=True)


def table(runs: dict[str, RunResults], out_dir: str, curves: dict[str, str] | None = None) -> str:
    """One row per panel of the original: its run's numbers, and the published ones where there are any."""
    rows = ["| panel | caption | final test acc | best test acc (epoch) | epochs run / planned | wall time | "
            "status | published final (best) | final vs published | curves |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"]
    for panel, config in EXPERIMENTS.items():
        run, pub = runs.get(run_name(panel)), published(panel)
        caption = config.title + (f" (= `{run_name(panel)}`)" if panel in SAME_AS else "")
        pub_text = pub.describe() if pub else ""
        if run is None:
            rows.append(f"| `{panel}` | {caption} | | | 0 / {config.epochs} | | not run | {pub_text} | | |")
            continue
        best, best_epoch = run.best_test_acc
        status = run.status + ("" if run.dataset == "cifar10" else f", **{run.dataset}** data")
        time = f"= `{run_name(panel)}`" if panel in SAME_AS else _duration(run.wall_time)
        versus = compare(100 * run.final_test_acc, pub.final) if pub else ""
        if versus and not run.complete:
            versus += " (so far)"
        png = os.path.relpath((curves or {}).get(run.name, os.path.join(run.path, CURVES)), out_dir)
        rows.append(f"| `{panel}` | {caption} | {pct(run.final_test_acc)} | {pct(best)} ({best_epoch}) | "
                    f"{run.done} / {run.planned} | {time} | {status} | {pub_text} | {versus} | [png]({png}) |")
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------ figures
def figure_section(figure: str, runs: dict[str, RunResults], drawn: set[str]) -> str:
    captions = "; ".join(panel_caption(p, runs).replace("\n", ", ") for p in FIGURES[figure])
    lines = [f"## Figure {figure[3:]}\n", f"{FIGURE_TEXT.get(figure, '')} Each panel: training loss per epoch "
             f"(top), training and test accuracy per epoch (bottom).\n", f"![{figure}]({figure}.png)\n",
             f"**Figure {figure[3:]}.** {captions}.\n"]
    same = [p for p in FIGURES[figure] if p in SAME_AS]
    if same:
        lines.append(" ".join(f"Panel ({p[len(figure):]}) has exactly the settings of `{run_name(p)}`, so it is "
                              f"drawn from that run, trained once." for p in same) + "\n")
    for name in FIGURE_COMPARISONS.get(figure, []):
        if name in drawn:
            lines.append(f"![{COMPARISONS[name].title}]({name}.png)\n")
    return "\n".join(lines)


# ------------------------------------------------------------------ claims
def claims_section(verdicts: list[Verdict], runs: dict[str, RunResults]) -> str:
    lines = ["## The original's claims, checked\n",
             "Each statement of the original report, paraphrased, is split into parts that the runs answer with "
             "numbers. A claim **holds** when every part holds, **partly holds** when some do, and **does not "
             "hold** when none do. It is **not yet measurable** while a run it needs is missing or unfinished, or "
             "was trained on other data or settings than the registry's. Accuracies are compared after the last "
             "epoch; \"better\" means by at least 1 point (about two standard errors on 10,000 test images), "
             "\"significantly\" by at least 2. Where a part does not hold, our runs contradict the original, and "
             "the likely reason follows it.\n",
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
        lines.append(("\n" if v.parts else "") + "Runs: " + "; ".join(_run_summary(p, runs) for p in v.claim.panels)
                     + ".\n")
    return "\n".join(lines)


def _run_summary(panel: str, runs: dict[str, RunResults]) -> str:
    name = run_name(panel)
    run = runs.get(name)
    label = f"`{name}`" if name == panel else f"`{panel}` (= `{name}`)"
    if run is None:
        return f"{label} not run"
    best, epoch = run.best_test_acc
    progress = run.progress + ", so far" if run.progress else f"{run.done}/{run.planned} epochs"
    return (f"{label} {progress}: final test accuracy {pct(run.final_test_acc)} "
            f"(best {pct(best)}, epoch {epoch}), training accuracy {pct(run.final('train_acc'))}, training loss "
            f"{loss(run.final('train_loss'))}")


# ------------------------------------------------------------------ time
def two_at_a_time(seconds: list[float], slots: int = SLOTS) -> float:
    """Wall clock of running jobs ``slots`` at a time: longest first, each to the slot that frees first."""
    loads = [0.0] * slots
    for t in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def time_section(runs: dict[str, RunResults]) -> str:
    own = panel_runs(runs)
    spent = [r.wall_time for r in own.values()]
    needed = dict.fromkeys(run_name(p) for p in EXPERIMENTS)
    lines = ["## Compute\n",
             f"{len(needed)} runs make the {len(EXPERIMENTS)} panels (`fig2c` and `fig3c` are `fig1d`'s run, "
             f"counted once); {len(own)} of them are here. A run's wall time is what the run measured: its "
             "epochs' times, summed over resumed sessions. A run that shared the machine with another took longer "
             "than it would alone, so the two-at-a-time estimate holds for runs timed while sharing it that way.\n",
             "| | sum of run times | wall clock, two at a time |", "| --- | ---: | ---: |",
             f"| spent so far | {_duration(sum(spent))} | {_duration(two_at_a_time(spent))} |"]
    unfinished = [n for n, r in own.items() if not r.complete]
    if unfinished:
        projected = [r.projected_time for r in own.values()]
        lines.append(f"| projected, with {', '.join(f'`{n}`' for n in unfinished)} run to the end | "
                     f"{_duration(sum(projected))} | {_duration(two_at_a_time(projected))} |")
    missing = [n for n in needed if n not in own]
    lines.append("")
    if missing:
        lines.append(f"Not counted, not run yet: {', '.join(f'`{n}`' for n in missing)}.\n")
    lines.append("Two at a time: the runs, longest first, are each given to whichever of two slots is free "
                 "first (greedy longest-processing-time scheduling); the wall clock is when the busier slot ends. "
                 "A projection scales an unfinished run's time by planned epochs over epochs run.\n")
    return "\n".join(lines)


# ------------------------------------------------------------------ the whole
def write_report(runs_dir: str = "runs", out_dir: str = "report") -> str:
    """Render every run's curves, the figures and comparisons that have runs, then REPORT.md; returns its path."""
    runs = load_runs(runs_dir)
    remove_leftovers(runs, out_dir)
    curves = draw_curves(runs, out_dir)
    figures = [f for f in FIGURES if plot_figure(f, runs, os.path.join(out_dir, f"{f}.png"))]
    drawn = {name for name, c in COMPARISONS.items() if plot_comparison(c, runs, os.path.join(out_dir, f"{name}.png"))}
    own = panel_runs(runs)
    done = sum(r.complete for r in own.values())
    parts = ["# hw5: CIFAR-10 experiments with minitorch\n",
             f"Written by `python -m hw5 report` from `{runs_dir}`: {len(runs)} run{'s' if len(runs) != 1 else ''} "
             f"found; {done} of the {len(set(map(run_name, EXPERIMENTS)))} runs behind the "
             f"{len(EXPERIMENTS)} panels are complete.\n"]
    if done < len(own):
        parts.append("Unfinished runs are drawn and counted as far as they have got, and marked so; the claims "
                     "that need them say *not yet measurable*.\n")
    warning = synthetic_warning(runs)
    if warning:
        parts.append(warning)
    if not runs:
        parts.append("No runs found. Start one with `python -m hw5 run fig1a` (or `python -m hw5 quick`).\n")
        atomic_write_text(os.path.join(out_dir, "REPORT.md"), "\n".join(parts))
        return os.path.join(out_dir, "REPORT.md")
    parts.append("## Results\n\n" + SETUP + "\n\n" + table(runs, out_dir, curves))
    others = [n for n in runs if n not in own]
    if others:
        parts.append("Other runs in the folder, not panels of the report: "
                     + ", ".join(f"`{n}` ({runs[n].status})" for n in others) + ".\n")
    parts += [figure_section(f, runs, drawn) for f in figures]
    parts.append(claims_section(judge_all(runs), runs))
    parts.append(time_section(runs))
    path = os.path.join(out_dir, "REPORT.md")
    atomic_write_text(path, "\n".join(parts))
    return path
