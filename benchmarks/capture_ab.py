"""The capture A/B: minitorch's eager and captured (``mt.capture``) steps, interleaved, with PyTorch's.

    python -m benchmarks.capture_ab                      # train at batch 4, 32, 256; eval at 1000; projection
    python -m benchmarks.capture_ab --quick              # a smoke run (few, short rounds)
    python -m benchmarks.capture_ab --nets coolnet --batches 4 --no-eval --json ab.json
    python -m benchmarks.capture_ab --from-results benchmarks/results.json   # the projection only

Each row times one network three ways in alternating rounds (``benchmarks/timing.py``):
PyTorch eager (when installed), minitorch eager, minitorch captured; the same initial
weights and batches for all three.  A training step is forward, cross-entropy, backward and
SGD at hw5's learning rate 0.01 without momentum, each step on the next of a pool of distinct
batches (``benchmarks/models.py``); an eval row is one forward pass of 1000
images under no_grad.  Before timing, each network is checked: ten captured steps against
ten eager ones from the same weights, parameters compared (``parity``: the largest
difference relative to the parameter's scale; 0 means bit-identical).

The projection sums, over the report's runs (``hw5.experiments``, fig2c and fig3c being
fig1d's run), epochs x (training steps x step time + 60 eval batches x eval time), for
minitorch eager and captured.  It is a projection from these step times (data loading
and the rest of hw5's loop left out: the ``epoch/`` rows of ``benchmarks.run --with-epochs``
measure whole epochs); fig3d's MSE loss checks its targets in
Python and so runs uncaptured, which the projection counts as eager.

On a shared machine the numbers are indicative only: compare rows of one run.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.models import (
    NET_TITLES,
    NETS,
    capture_parity,
    minitorch_train_step,
    torch_net_like,
    torch_train_step,
)
from benchmarks.timing import log, loop, run_interleaved

BATCHES = (4, 32, 256)
EVAL_BATCH = 1000
TRAIN_IMAGES, EVAL_IMAGES_PER_EPOCH = 50_000, 60_000  # CIFAR-10: an epoch, then accuracy on train and test


def target(net: str, batch: int) -> float | None:
    """The target for captured minitorch / PyTorch eager (``benchmarks.cases.CAPTURED_TARGETS``)."""
    from benchmarks.cases import CAPTURED_TARGETS

    return CAPTURED_TARGETS.get(batch, {}).get(net)


# ------------------------------------------------------------------ the three steps
def torch_step(net: str, batch: int, mt_model: Any) -> Callable[[], Any]:
    return torch_train_step(net, batch, mt_model)[0]


# ------------------------------------------------------------------ rows
def time_row(blocks: dict[str, Callable[[int], Any]], args: argparse.Namespace, block_s: float) -> dict:
    res = run_interleaved(blocks, block_s, args.rounds, args.budget, warmup_s=args.warmup)
    return {name: res[name]["time"] for name in blocks}


def train_row(net: str, batch: int, torch: Any, args: argparse.Namespace) -> dict:
    eager, model = minitorch_train_step(net, batch)
    captured, _ = minitorch_train_step(net, batch, captured=True)
    blocks = {"eager": loop(eager), "captured": loop(captured)}
    if torch is not None:
        blocks["torch"] = loop(torch_step(net, batch, model))
    return {"id": f"train/{net}/b{batch}", "net": net, "batch": batch, "parity": capture_parity(net, batch),
            "times": time_row(blocks, args, args.block)}


def eval_row(net: str, torch: Any, args: argparse.Namespace) -> dict:
    import minitorch as mt

    train, model = minitorch_train_step(net, 32)
    for _ in range(3):  # running statistics that are not the initial ones
        train()
    model.eval()
    images = mt.tensor(np.random.default_rng(2).standard_normal((EVAL_BATCH, 3, 32, 32), dtype=np.float32))
    forward = mt.capture(model)

    def eager() -> None:
        with mt.no_grad():
            model(images)

    def captured() -> None:
        with mt.no_grad():
            forward(images)

    with mt.no_grad():
        diff = float(np.abs(forward(images).numpy() - model(images).numpy()).max())
    blocks = {"eager": loop(eager), "captured": loop(captured)}
    if torch is not None:
        tmodel = torch_net_like(net, model).eval()
        timages = torch.from_numpy(images.numpy())

        def th() -> None:
            with torch.no_grad():
                tmodel(timages)
        blocks["torch"] = loop(th)
    return {"id": f"eval/{net}/b{EVAL_BATCH}", "net": net, "batch": EVAL_BATCH, "parity": diff,
            "times": time_row(blocks, args, args.block * 4)}


# ------------------------------------------------------------------ report
def _ms(summary: dict | None) -> str:
    return "—" if summary is None else f"{summary['median']:.3f}"


def _ratio(a: dict | None, b: dict | None) -> float | None:
    return None if a is None or b is None else a["median"] / b["median"]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(rows: list[dict]) -> str:
    lines = ["| row | PyTorch ms | eager ms | captured ms | captured/eager | eager/PyTorch | captured/PyTorch | "
             "target | met | parity |", "|" + " --- |" * 10]
    for r in rows:
        t = r["times"]
        cap_pt = _ratio(t["captured"], t.get("torch"))
        goal = target(r["net"], r["batch"]) if r["id"].startswith("train") else None
        met = "—" if goal is None or cap_pt is None else ("yes" if cap_pt <= goal else "**no**")
        lines.append(f"| {r['id']} | {_ms(t.get('torch'))} | {_ms(t['eager'])} | {_ms(t['captured'])} | "
                     f"{_fmt(_ratio(t['captured'], t['eager']))} | {_fmt(_ratio(t['eager'], t.get('torch')))} | "
                     f"{_fmt(cap_pt)} | {'—' if goal is None else f'≤ {goal}'} | {met} | {r['parity']:.1e} |")
    return "\n".join(lines)


def projection(rows: list[dict]) -> dict | None:
    """Hours of the report's training and evaluation, eager and captured, from the measured times."""
    try:
        from hw5.experiments import EXPERIMENTS, SAME_AS
    except ImportError:
        return None
    ms = {(r["id"].split("/")[0], r["net"], r["batch"]): r["times"] for r in rows}
    total = {"eager": 0.0, "captured": 0.0}
    runs = []
    for name, config in EXPERIMENTS.items():
        if name in SAME_AS:
            continue
        train = ms.get(("train", config.model, config.batch_size))
        evaluate = ms.get(("eval", config.model, EVAL_BATCH))
        if train is None or evaluate is None:
            return None
        steps = math.ceil(TRAIN_IMAGES / config.batch_size)
        per_epoch = {}
        for kind in total:
            mode = "eager" if config.loss == "mse" else kind  # MSE's one_hot checks targets in Python
            per_epoch[kind] = (steps * train[mode]["median"] + EVAL_IMAGES_PER_EPOCH / EVAL_BATCH
                               * evaluate[mode]["median"]) / 1e3
            total[kind] += config.epochs * per_epoch[kind]
        runs.append({"run": name, "epochs": config.epochs, "epoch_s": per_epoch})
    return {"hours": {k: v / 3600 for k, v in total.items()}, "runs": runs}


def rows_from_results(res: dict) -> list[dict]:
    """This module's rows from a ``benchmarks.run`` results.json: its train/ and captured/ rows, and its CoolNet
    eval row (uncaptured, per batch of 1000) for both modes and every network (an upper bound for the fully
    connected ones, whose evaluation is cheaper)."""
    by_id = {r["id"]: r for r in res["rows"]}
    rows = []
    for row_id, r in by_id.items():
        if row_id.count("/") != 2:  # startup/...
            continue
        kind, net, batch = row_id.split("/")
        if kind == "train" and f"captured/{net}/{batch}" in by_id:
            times = {"eager": r["minitorch"], "captured": by_id[f"captured/{net}/{batch}"]["minitorch"]}
            rows.append({"id": row_id, "net": net, "batch": int(batch[1:]), "times": times})
        elif kind == "eval":  # 10,000 images in batches of EVAL_BATCH
            per_batch = {k: v / (10_000 / EVAL_BATCH) for k, v in r["minitorch"].items() if isinstance(v, float)}
            rows += [{"id": f"eval/{name}/b{EVAL_BATCH}", "net": name, "batch": EVAL_BATCH,
                      "times": {"eager": per_batch, "captured": per_batch}} for name in NETS]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--nets", nargs="+", choices=NETS, default=list(NETS))
    p.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    p.add_argument("--no-eval", action="store_true", help="leave out the eval rows (and the projection)")
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads (default 2)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--quick", action="store_true", help="3 short rounds per row")
    p.add_argument("--json", help="write the rows (every sample) here")
    p.add_argument("--from-results", metavar="RESULTS_JSON",
                   help="measure nothing: the projection from a benchmarks.run results.json (eval uncaptured)")
    args = p.parse_args(argv)
    if args.from_results:
        with open(args.from_results) as f:
            projected = projection(rows_from_results(json.load(f)))
        if projected is None:
            log("the results lack a train/, captured/ or eval row the report's runs need")
            return 1
        for run in projected["runs"]:
            e = run["epoch_s"]
            print(f"{run['run']:6s} {run['epochs']:3d} epochs: {e['eager']:5.1f} s an epoch eager, "
                  f"{e['captured']:5.1f} s captured")
        h = projected["hours"]
        print(f"Projected compute of the report's runs: {h['eager']:.2f} h eager, {h['captured']:.2f} h captured "
              f"({h['captured'] / h['eager']:.2f}x)")
        return 0
    args.rounds, args.budget, args.block, args.warmup = (3, 3.0, 0.05, 0.1) if args.quick else (9, 20.0, 0.25, 0.3)

    import minitorch  # noqa: F401  (loaded before threadpool_limits, so that its BLAS is limited too)
    torch: Any = None
    if not args.no_torch:
        try:
            torch = importlib.import_module("torch")   # optional: with or without it installed, one type (Any)
            torch.set_num_threads(args.threads)
        except ImportError:
            log("PyTorch is not installed: minitorch eager against captured only")
    rows = []
    with threadpool_limits(args.threads):
        for net in args.nets:
            for batch in args.batches:
                log(f"train {NET_TITLES[net]} batch {batch}")
                rows.append(train_row(net, batch, torch, args))
            if not args.no_eval:
                log(f"eval {NET_TITLES[net]} batch {EVAL_BATCH}")
                rows.append(eval_row(net, torch, args))
    print(table(rows))
    projected = None if args.no_eval else projection(rows)
    if projected:
        h = projected["hours"]
        print(f"\nProjected compute of the report's runs: {h['eager']:.1f} h eager, {h['captured']:.1f} h captured "
              f"({h['captured'] / h['eager']:.2f}x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "projection": projected, "argv": sys.argv[1:],
                       "median_parity": statistics.median(r["parity"] for r in rows)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
