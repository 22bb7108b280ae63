"""minitorch against PyTorch, side by side in one process: ``python -m benchmarks.run``.

What it measures (every row on identical networks, weights, batches and thread counts):

* ``train/<net>/b<N>``: one full training step (forward, cross-entropy, backward,
  SGD at hw5's learning rate 0.01 without momentum, float32) of LazyNet, BoringNet and
  CoolNet at batch 4, 32, 256, every step on the next of a pool of distinct batches
  (CIFAR-10 normalised as hw5 does when it is on disk, else synthetic; both frameworks
  the same batches in the same order);
* ``captured/<net>/b<N>``: the same step through ``minitorch.capture`` (recorded once,
  then replayed), timed in the same interleaving as its ``train/`` row and PyTorch;
* ``eval/coolnet/b1000``: CoolNet in eval mode without autograd over 10,000 images
  in batches of 1000;
* ``layers/coolnet/b<N>``: each CoolNet layer's forward and backward, timed
  separately, at batch 32 and 256 (a single layer under each framework's autograd,
  with a fixed upstream gradient), and the GFLOP/s of its Conv2d/Linear layers
  against the NumPy float32 matmul rate of this machine (``gemm/sgemm1024``);
* ``memory/coolnet/b256``: the peak memory a CoolNet batch-256 training step adds,
  one fresh subprocess per framework;
* ``startup/import`` and ``startup/first-step``: a cold ``import minitorch`` and the
  first CoolNet batch-4 step of a new process;
* ``epoch/fig1d/alone`` and ``epoch/fig1d/two`` (only with ``--with-epochs`` or
  ``--rows epoch``: they take minutes): a whole hw5 fig1d epoch (training and the
  evaluation of 60,000 images) in a fresh process, alone and two side by side, against
  PyTorch's same loop over preloaded tensors (``benchmarks/epochs.py``);
* what bounds each captured row that misses its target: that step's replay timed call
  by call (``benchmarks/profile_step.py``), beside the time the target allows.

``BENCHMARKS.md`` also keeps ``benchmarks/whole_report.md``, the whole report end to end
(``python -m benchmarks.whole_report``, an hour: never part of this run).

Timing: every callable is warmed up, then the two frameworks run in alternating
rounds (A B, B A, A B, ...), each round a block of repeats sized to about a fixed
time; a block's time divided by its repeats is one sample, and rows report the
median sample, its interquartile range and the ratio of medians minitorch/PyTorch.

Writes ``BENCHMARKS.md`` (repository root) and ``benchmarks/results.json``, or both
into ``--out``.  ``--quick`` is a smoke run: few repeats, and it writes into a
temporary directory unless ``--out`` is given, so it never replaces the real results.
Without PyTorch it times minitorch alone.

This file is the command line; the harness is in ``timing.py``, the rows in ``cases.py``,
the machine description in ``machine.py`` and the report in ``render.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from benchmarks import epochs
from benchmarks.cases import (
    BATCHES,
    CAPTURED_TARGETS,
    EPOCH_ROWS,
    EVAL_BATCH,
    EVAL_TARGET,
    FIRST_STEP_TARGET_MS,
    IMPORT_TARGET_MS,
    LAYER_BATCHES,
    MEM_BATCH,
    MEMORY_TARGET,
    TRAIN_TARGETS,
    Bench,
    Plan,
    all_row_ids,
)
from benchmarks.machine import REPO, contention_probe, environment
from benchmarks.models import LR, MOMENTUM, NETS, POOL_IMAGES, pool_source
from benchmarks.profile_step import replay_profile
from benchmarks.render import contention_banner, document, losses, summary_table
from benchmarks.timing import log

GPU_TABLE = REPO / "benchmarks" / "gpu_results" / "table.md"
WHOLE_REPORT = REPO / "benchmarks" / "whole_report.md"   # python -m benchmarks.whole_report (an hour) writes it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: few repeats; writes to a temp dir unless --out")
    p.add_argument("--rows", default="", help="comma-separated glob patterns of row ids (see --list), e.g. "
                                              "'train/*/b4,eval' or 'layers/coolnet/b32'")
    p.add_argument("--list", action="store_true", help="print the row ids and exit")
    p.add_argument("--with-epochs", action="store_true",
                   help="also run the epoch/ rows (whole hw5 epochs in subprocesses: minutes; left out by default)")
    p.add_argument("--out", default=None, help="directory for BENCHMARKS.md and results.json "
                                               "(default: repo root and benchmarks/)")
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads for both (default 2)")
    p.add_argument("--no-torch", action="store_true", help="time minitorch alone")
    p.add_argument("--default-malloc", action="store_true",
                   help="leave glibc's malloc as it is (by default the process keeps freed memory for reuse, "
                        "as hw5's training processes do: minitorch.utils.keep_freed_memory; both frameworks share it)")
    p.add_argument("--render", action="store_true",
                   help="time nothing: rewrite BENCHMARKS.md from the results.json beside it (default: the "
                        "committed one), with the kept whole-report and GPU tables (after python -m "
                        "benchmarks.whole_report)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="soft time budget: past half of it the remaining rows get fewer rounds "
                        "(default 8, quick: none; 0 disables)")
    return p.parse_args(argv)


def load_torch(threads: int):
    """PyTorch with ``threads`` threads, or None (then minitorch is timed alone)."""
    try:
        import torch
    except ImportError:
        log("PyTorch is not installed: timing minitorch alone")
        return None
    torch.set_num_threads(threads)
    return torch


def measure(bench: Bench) -> None:
    """Every selected row, in the order of ``all_row_ids``."""
    layers_wanted = [b for b in LAYER_BATCHES if bench.wanted(f"layers/coolnet/b{b}")]
    if bench.wanted("gemm/sgemm1024") or layers_wanted:
        bench.bench_gemm()
    for batch in BATCHES:
        for net in NETS:
            if bench.wanted(f"train/{net}/b{batch}") or bench.wanted(f"captured/{net}/b{batch}"):
                bench.pace()
                bench.bench_train(net, batch)
    if bench.wanted(f"eval/coolnet/b{EVAL_BATCH}"):
        bench.pace()
        bench.bench_eval()
    for batch in layers_wanted:
        bench.pace()
        bench.bench_layers(batch)
    if bench.wanted(f"memory/coolnet/b{MEM_BATCH}"):
        bench.bench_memory()
    if bench.wanted("startup/import") or bench.wanted("startup/first-step"):
        bench.bench_startup()
    if any(bench.wanted(f"epoch/{epochs.RUN}/{key}") for key in EPOCH_ROWS):
        bench.bench_epochs()


def output_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """Where BENCHMARKS.md and results.json go: ``--out``, a temporary folder for ``--quick``, else the repo."""
    if args.out:
        out_dir = Path(args.out)
    elif args.quick:
        out_dir = Path(tempfile.gettempdir()) / "minitorch-bench-quick"
    else:
        return REPO / "BENCHMARKS.md", REPO / "benchmarks" / "results.json"
    return out_dir / "BENCHMARKS.md", out_dir / "results.json"


def report(res: dict) -> str:
    """BENCHMARKS.md for these results, with the kept GPU table and whole-report section."""
    gpu_table = GPU_TABLE.read_text() if GPU_TABLE.exists() else None
    whole = WHOLE_REPORT.read_text() if WHOLE_REPORT.exists() else None
    return document(res, gpu_table, str(GPU_TABLE.relative_to(REPO)), whole)


def render_results(args: argparse.Namespace) -> dict:
    """``--render``: BENCHMARKS.md rewritten from the results.json beside it, nothing timed (the report is a
    function of the results; the sections kept from their own runs are read anew)."""
    md_path, json_path = output_paths(args)
    try:
        res = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"benchmarks.run --render: no results at {json_path} (run python -m benchmarks.run "
                         "first)") from None
    except json.JSONDecodeError as e:
        raise SystemExit(f"benchmarks.run --render: {json_path} is not valid JSON ({e})") from None
    md_path.write_text(report(res) + "\n")
    print(f"wrote {md_path} from {json_path}")
    return res


def bounds_of_misses(rows: list[dict]) -> list[dict]:
    """What bounds each captured row that misses its target: its replay timed call by call
    (:func:`benchmarks.profile_step.replay_profile`), beside the time the target allows (PyTorch's step
    times the target ratio)."""
    out = []
    for row in rows:
        if not row["id"].startswith("captured/") or row["met"] is not False or row["torch"] is None:
            continue
        _, net, batch = row["id"].split("/")
        replays = min(2000, max(20, int(1000 / row["minitorch"]["median"])))   # about a second of replays
        log(f"[bounds] {row['id']}: {replays} replays, call by call")
        profile = replay_profile(net, int(batch[1:]), replays)
        out.append({**profile, "row": row["label"], "torch_ms": row["torch"]["median"],
                    "target": row["target"]["value"], "budget_ms": row["torch"]["median"] * row["target"]["value"]})
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.max_minutes is None:
        args.max_minutes = 0.0 if args.quick else 8.0
    if args.list:
        print("\n".join(all_row_ids()))
        return {}
    if args.render:
        return render_results(args)
    import minitorch  # (loaded before threadpool_limits so that its BLAS is limited)

    kept_memory = False if args.default_malloc else minitorch.utils.keep_freed_memory()

    t_start = time.perf_counter()
    torch = None if args.no_torch else load_torch(args.threads)
    bench = Bench(Plan.quick() if args.quick else Plan(), args.threads, torch, args.rows, args.max_minutes,
                  with_opt_in=args.with_epochs)
    command = " ".join(["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)])
    contention = {}
    with threadpool_limits(args.threads):
        env = environment(torch, args.threads)
        env["keep_freed_memory"] = kept_memory
        log(f"[env] {env['cpu']}, {env['logical_cores']} cores, threads {args.threads}, "
            f"BLAS {[b['internal_api'] + '/' + str(b['architecture']) for b in env['blas']]}, "
            f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, torch {env['torch']}")
        contention["start"] = contention_probe("start", args.threads)
        measure(bench)
        bounds = [] if args.quick else bounds_of_misses(bench.rows)
        contention["end"] = contention_probe("end", args.threads)
        env["loadavg_end"] = list(os.getloadavg())
    res = {
        "command": command,
        "quick": args.quick,
        "runtime_s": time.perf_counter() - t_start,
        "environment": env,
        "regime": {"batches": pool_source(), "pool_images": POOL_IMAGES, "lr": LR, "momentum": MOMENTUM},
        "targets": {"train": TRAIN_TARGETS, "captured": CAPTURED_TARGETS, "eval_time_ratio": EVAL_TARGET,
                    "memory_ratio": MEMORY_TARGET,
                    "import_ms": IMPORT_TARGET_MS, "first_step_ms": FIRST_STEP_TARGET_MS},
        "rows": bench.rows,
        "layers": bench.layers,
        "gemm": bench.gemm,
        "parity": bench.parity,
        "contention": contention,
        "notes": bench.notes,
        "bounds": bounds,
    }
    md = report(res)
    md_path, json_path = output_paths(args)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(res, indent=1, default=float) + "\n")
    md_path.write_text(md + "\n")
    banner = contention_banner(res)
    if banner:
        print(banner[0])
    print(summary_table(bench.rows))
    if bench.layers:
        print("\nWhere minitorch loses most (per-layer, beyond PyTorch):")
        print("\n".join(losses(bench.layers)))
    print(f"\nwrote {md_path} and {json_path} in {res['runtime_s']:.0f} s")
    return res


if __name__ == "__main__":
    main()
