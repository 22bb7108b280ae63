"""Eager and captured training steps of *this checkout*, for comparing two commits.

    # in each checkout, alternately (A B A B ...), on a quiet machine:
    python -m benchmarks.commit_ab --label HEAD --out /tmp/ab.jsonl
    (cd ../old-checkout && python /path/to/benchmarks/commit_ab.py --label be0e5a8 --out /tmp/ab.jsonl)
    python -m benchmarks.commit_ab --summarize /tmp/ab.jsonl

Two versions of minitorch cannot share a process, so the benchmark suite's
interleaving cannot compare commits; this script can, run alternately in two
checkouts.  It uses only the API both sides have (``nn`` layers, ``optim.SGD``,
``minitorch.capture``), builds the three networks with the layers of
``benchmarks/models.py`` (written out here so that an old checkout runs it
unchanged), and steps over distinct synthetic batches at hw5's settings (SGD,
lr 0.01, no momentum).  Each round times ``--steps`` steps per row, after a
``gc.collect()`` outside the timer (without it, a 30 ms full collection that
the earlier rows' allocations made due lands in whichever row comes next: eager
CoolNet at batch 4 read 1.29x in one commit and 1.0x in the other, depending
only on where it fell); the summary gives per row the median of the rounds'
means for each label.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from typing import Any

import numpy as np

ROWS = [(net, batch) for batch in (4, 32, 256) for net in ("lazynet", "boringnet", "coolnet")]


def layers(nn: Any, net: str) -> list:
    if net == "lazynet":
        return [nn.Flatten(), nn.Linear(3072, 10)]
    if net == "boringnet":
        return [nn.Flatten(), nn.Linear(3072, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)]
    return [nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
            nn.Linear(84, 10)]


def time_rows(steps: int, captured: bool) -> dict[str, float]:
    """Mean seconds per step for every row, after a warm-up."""
    import minitorch as mt
    import minitorch.nn as nn
    import minitorch.nn.functional as F

    out = {}
    rng = np.random.default_rng(0)
    for net, batch in ROWS:
        mt.manual_seed(0)
        model = nn.Sequential(*layers(nn, net))
        opt = mt.optim.SGD(model.parameters(), lr=0.01)

        def step(x, y, model=model, opt=opt):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        run = mt.capture(step) if captured else step
        pool = [(mt.tensor(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)),
                 mt.tensor(rng.integers(0, 10, batch))) for _ in range(16)]
        n = max(3, steps // max(1, batch // 4))
        for i in range(5):
            run(*pool[i % 16]).item()
        gc.collect()  # as the suite does (timing.py): a full collection owed to earlier rows lands outside the timer
        start = time.perf_counter()
        for i in range(n):
            run(*pool[i % 16]).item()
        out[f"{'captured' if captured else 'eager'}/{net}/b{batch}"] = (time.perf_counter() - start) / n
    return out


def summarize(path: str) -> None:
    by: dict[str, dict[str, list[float]]] = {}
    for line in open(path):
        record = json.loads(line)
        for row, seconds in record["rows"].items():
            by.setdefault(row, {}).setdefault(record["label"], []).append(seconds)
    labels = list(dict.fromkeys(label for rows in by.values() for label in rows))   # in order of appearance
    print("| row | " + " | ".join(f"{label} ms" for label in labels) + f" | {labels[-1]} / {labels[0]} |")
    print("| --- |" + " ---: |" * (len(labels) + 1))
    for row, per in by.items():
        medians = [statistics.median(per[label]) * 1e3 if label in per else float("nan") for label in labels]
        print(f"| {row} | " + " | ".join(f"{m:.3f}" for m in medians) + f" | {medians[-1] / medians[0]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", help="what to call this checkout in the summary (e.g. its commit)")
    parser.add_argument("--out", help="append one JSON line of results here")
    parser.add_argument("--steps", type=int, default=200, help="steps per row at batch 4 (fewer at larger ones)")
    parser.add_argument("--summarize", metavar="FILE", help="print the table of a results file and exit")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2):
        rows = {**time_rows(args.steps, False), **time_rows(args.steps, True)}
    line = json.dumps({"label": args.label, "rows": rows})
    print(line)
    if args.out:
        with open(args.out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
