"""minitorch on the GPU (CuPy) against PyTorch CUDA on the same GPU.

Run from the repository root on a machine with an NVIDIA GPU, CuPy and PyTorch (CUDA)::

    python -m benchmarks.gpu_bench [--out DIR] [--budget SECONDS]

Sections (each time-boxed; the whole run stays within ``--budget``):

0. CoolNet at batch 4 and 256 on distinct batches (16 per batch size, CIFAR-10 where present): minitorch
   eager, minitorch captured (``minitorch.capture``, replayed as CUDA graphs where it records) and
   PyTorch eager, with the captured / PyTorch targets of the GPU issue (<= 0.5 at batch 4, <= 1.0 at 256);
1. one training step (forward, cross-entropy, backward, SGD with momentum 0.9) of LazyNet,
   BoringNet and CoolNet at batch 4, 32 and 256, float32, both frameworks from the same weights
   and data.  The interleaved harness of the CPU benchmark (``benchmarks/timing.py``) times
   blocks of k steps between device synchronisations, after a warm-up; the median is reported,
   with the ratio minitorch / PyTorch (targets for CoolNet: <= 1.0 at batch 4, <= 1.5 at batch 256);
2. CoolNet steps with minitorch's CUDA kernels (kernels/cuda.py) against its array-module
   fallback (kernels/reference.py), to show what the kernels buy;
3. one CoolNet epoch at batch 32 over ``SyntheticImages`` (50 000 images by default), both
   frameworks fed the same batches from host memory (minitorch through its DataLoader with
   ``device="cuda"``); stopped at ``--epoch-seconds`` and extrapolated if slower.

PyTorch runs with TF32 off (``allow_tf32 = False`` for matmul and cuDNN), so both frameworks compute
in full float32.  The log, ``results.json`` and ``table.md`` go to ``--out`` (default: ``$GPU_RESULTS``
or ``gpu-results/``); the table is printed last.  Without a GPU the script says so and exits 0.
The measurements are in ``gpu_cases.py``, the table in ``render.py`` (and :func:`modes_table` here for
section 0); this file is the command line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import Any

from benchmarks.cases import BATCHES
from benchmarks.gpu_cases import (
    TARGETS,
    bench_coolnet_modes,
    bench_epoch,
    bench_kernel_backends,
    bench_steps,
    gpu_or_reason,
    load_torch,
)
from benchmarks.machine import gpu_versions
from benchmarks.models import NETS
from benchmarks.render import gpu_table


class Tee:
    """print() to the terminal and to a log file."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "w", buffering=1)  # open for the whole run

    def __call__(self, *args: Any) -> None:
        text = " ".join(str(a) for a in args)
        print(text, flush=True)
        self.file.write(text + "\n")


def table(results: dict[str, Any]) -> str:
    """``table.md``: a pure function of ``results.json`` (section 0's table, then render.py's GPU table)."""
    modes = results.get("coolnet_modes") or []
    head = modes_table(modes) + "\n" if modes else ""
    return head + gpu_table(results["versions"], results["steps"], results["kernel_backends"], results["epoch"],
                            TARGETS)


def modes_table(rows: list[dict[str, Any]]) -> str:
    """Section 0 as markdown: CoolNet step ms eager / captured / PyTorch, and captured / PyTorch against target."""
    lines = ["CoolNet training step on distinct batches, float32, median ms; ratios over PyTorch eager.", "",
             "| batch | eager ms | captured ms | PyTorch ms | eager/PyTorch | captured/PyTorch | target | notes |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]

    def ms(r: dict[str, Any], key: str) -> str:
        return f"{r[key]:.3f}" if key in r else "n/a"

    for r in rows:
        if "error" in r:
            lines.append(f"| {r['batch']} | {r['error']} | | | | | | |")
            continue
        ratio = r.get("captured_over_torch")
        target = r["target_captured_over_torch"]
        verdict = f"<= {target:g} " + ("n/a" if ratio is None else ("met" if ratio <= target else "MISSED"))
        notes = r.get("captured_error") or (f"launches/replay {r.get('graph_launches_per_replay')}, "
                                            f"fallback {r.get('graph_fallback')}, calls {r.get('capture_counts')}")
        lines.append(f"| {r['batch']} | {ms(r, 'eager_ms')} | {ms(r, 'captured_ms')} | {ms(r, 'torch_ms')} | "
                     f"{r.get('eager_over_torch', float('nan')):.2f} | "
                     f"{'n/a' if ratio is None else f'{ratio:.2f}'} | {verdict} | {notes} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", default=os.environ.get("GPU_RESULTS", "gpu-results"),
                   help="folder for log.txt, results.json and table.md (default: $GPU_RESULTS or gpu-results)")
    p.add_argument("--budget", type=float, default=200.0, help="seconds for the whole benchmark (default 200)")
    p.add_argument("--nets", default=",".join(NETS), help="comma-separated subset of " + ",".join(NETS))
    p.add_argument("--batches", default=",".join(map(str, BATCHES)), help="comma-separated batch sizes")
    p.add_argument("--no-modes", action="store_true", help="skip section 0 (CoolNet eager / captured / PyTorch)")
    p.add_argument("--repeats", type=int, default=7, help="interleaved repeats per configuration (median)")
    p.add_argument("--target-ms", type=float, default=40.0, help="length of one timed block, in ms")
    p.add_argument("--epoch-size", type=int, default=50_000, help="images in the epoch section (0: skip it)")
    p.add_argument("--epoch-batch", type=int, default=4, help="batch size of the epoch (default 4, fig1d's)")
    p.add_argument("--epoch-seconds", type=float, default=45.0,
                   help="stop an epoch after this many seconds per framework and extrapolate")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    deadline = start + args.budget
    reason = gpu_or_reason()
    if reason is not None:
        print(f"gpu_bench: no GPU for minitorch, nothing measured: {reason}")
        return 0  # a CPU-only machine is not an error here; gpu_check.sh stops earlier, saying so
    os.makedirs(args.out, exist_ok=True)
    log = Tee(os.path.join(args.out, "log.txt"))
    torch, why_not = load_torch()
    if torch is None:
        log(f"PyTorch CUDA unavailable ({why_not}): timing minitorch only")
    info = gpu_versions(torch)
    log("versions: " + json.dumps(info))
    log(f"budget {args.budget:.0f} s; TF32 off in PyTorch")

    results: dict[str, Any] = {"versions": info, "args": vars(args)}
    modes = [] if args.no_modes else bench_coolnet_modes(args, torch, log, start + 0.35 * args.budget)
    results["coolnet_modes"] = modes
    rows = bench_steps(args, torch, log, start + 0.6 * args.budget)
    results["steps"] = rows
    backends = []
    if "coolnet" in args.nets:
        backends = bench_kernel_backends(args, log, start + 0.65 * args.budget)
    results["kernel_backends"] = backends
    epoch = None
    if args.epoch_size > 0 and time.perf_counter() < deadline - 20:
        try:
            epoch = bench_epoch(args, torch, log, deadline - 3)
        except Exception as exc:
            epoch = {"images": args.epoch_size, "batch": args.epoch_batch,
                     "minitorch": {"error": f"{type(exc).__name__}: {exc}"}}
            log(traceback.format_exc())
    results["epoch"] = epoch
    results["seconds"] = time.perf_counter() - start

    text = table(results)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2, default=str)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    log(f"\nbenchmark took {results['seconds']:.0f} s; files in {args.out}/\n")
    log(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
