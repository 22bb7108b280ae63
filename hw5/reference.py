"""PyTorch beside minitorch on the same recipe: is a result the framework's, or the recipe's?

``python -m benchmarks.torch_recipe NAME --out runs/reference/NAME-torch.jsonl``
trains PyTorch's twin of an experiment from the minitorch run's own initial
weights, on its own batches in its own order (flips included): the one thing
that differs is the framework's arithmetic.  The report sets each such file
beside the run of the same name, over the epochs both have.  Rounding makes the
two drift apart within an epoch or two (SGD on a chaotic loss), so the question
is not whether the curves agree but whether the levels do.

Files are read with ``json`` alone; nothing here needs PyTorch.
"""
from __future__ import annotations

import json
import os
from typing import Any

from hw5.claims import pct
from hw5.results import RunResults

FOLDER = "reference"
SUFFIX = "-torch.jsonl"


def load_references(runs_dir: str) -> dict[str, list[dict[str, Any]]]:
    """The PyTorch epoch records in ``runs_dir/reference/``, by run name; a damaged file is skipped with its name."""
    folder = os.path.join(runs_dir, FOLDER)
    found: dict[str, list[dict[str, Any]]] = {}
    if not os.path.isdir(folder):
        return found
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith(SUFFIX):
            continue
        records = []
        try:
            with open(os.path.join(folder, filename), encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    if isinstance(record, dict) and record.get("type") == "epoch":
                        records.append(record)
        except (OSError, ValueError):
            continue   # not a reference file after all: the report goes on without it
        if records:
            found[filename[: -len(SUFFIX)]] = records
    return found


def _last5(records: list[dict[str, Any]]) -> float:
    tail = [r["test_acc"] for r in records[-5:]]
    return sum(tail) / len(tail)


def reference_section(runs_dir: str, raw: dict[str, RunResults]) -> str:
    """The report's section on the PyTorch reference runs ('' when there are none)."""
    references = load_references(runs_dir)
    rows = []
    for name, theirs in references.items():
        run = raw.get(name)
        if run is None or not run.epochs:
            continue
        n = min(len(theirs), len(run.epochs))
        ours, theirs = run.epochs[:n], theirs[:n]
        last_ours, last_theirs = ours[-1], theirs[-1]
        version = theirs[-1].get("torch", "?")
        rows.append(
            f"| `{name}` | {n} | {pct(last_ours['test_acc'])} | {pct(last_theirs['test_acc'])} | "
            f"{pct(_last5(ours))} | {pct(_last5(theirs))} | "
            f"{100 * (_last5(ours) - _last5(theirs)):+.1f} | "
            f"{last_ours['train_loss']:.3f} / {last_ours['train_eval_loss']:.3f} | "
            f"{last_theirs['train_loss']:.3f} / {last_theirs['train_eval_loss']:.3f} | {version} |")
    if not rows:
        return ""
    return "\n".join([
        "## PyTorch on the same recipe\n",
        "PyTorch's twin of a run, trained from the run's own initial weights on its own batches, in its own "
        f"order (`python -m benchmarks.torch_recipe NAME --out {runs_dir}/{FOLDER}/NAME{SUFFIX}`), over the "
        "epochs both have. The two drift apart through rounding within an epoch or two, so what to compare is "
        "the level: the last-5-epoch mean of test accuracy, and the training loss measured in training mode "
        "(the epoch's mean over its batches) against the same set in eval mode (running batch-norm "
        "statistics).\n",
        "| run | epochs | final test acc, minitorch | PyTorch | last-5 mean, minitorch | PyTorch | "
        "difference (points) | train loss, train / eval mode, minitorch | PyTorch | torch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows, ""])
