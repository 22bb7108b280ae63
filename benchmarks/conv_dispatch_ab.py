"""A/B of the CPU conv kernels' dispatch: captured CoolNet steps with cpu_conv's kernels against cpu_simd's.

    python -m benchmarks.conv_dispatch_ab                    # batch 4, 32, 256
    python -m benchmarks.conv_dispatch_ab --batches 4 --rounds 30

Two captured steps in one process, from the same weights on the same pool of distinct batches (hw5's
settings, ``benchmarks/models.py``): one recorded with the CPU backend's conv kernels swapped for
:mod:`minitorch.kernels.cpu_conv`'s (what ran before the dispatch to :mod:`~minitorch.kernels.cpu_simd`),
one with today's.  Rounds alternate the two; each round times a block of steps; the best block per variant
is reported (the least disturbed by other work on a shared machine), with the ratio after / before.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from threadpoolctl import threadpool_limits

from benchmarks.models import batch_pool, minitorch_net, rotating_step

CONV = ("conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad")


def captured_coolnet(batch: int, old_kernels: bool) -> Callable[[], Any]:
    """A captured CoolNet step, recorded with cpu_conv's kernels (``old_kernels``) or the dispatching ones."""
    import minitorch as mt
    import minitorch.nn.functional as F
    from minitorch.kernels import cpu, cpu_conv

    batches = [(mt.from_numpy(x), mt.from_numpy(y)) for x, y in batch_pool(batch)[0]]
    step = rotating_step(minitorch_net("coolnet"), batches, mt.optim, F, mt.capture)
    saved = {name: getattr(cpu, name) for name in CONV}
    try:
        if old_kernels:
            for name in CONV:
                setattr(cpu, name, getattr(cpu_conv, name))
        for _ in range(4):  # recorded, then replayed: the kernels are bound from here on
            step()
    finally:
        for name, fn in saved.items():
            setattr(cpu, name, fn)
    return step


def best_block(step: Callable[[], Any], reps: int) -> float:
    t = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t) / reps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 32, 256])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--block-s", type=float, default=0.1, help="seconds a block of steps lasts, about")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        for batch in args.batches:
            steps = {"cpu_conv": captured_coolnet(batch, True), "cpu_simd": captured_coolnet(batch, False)}
            reps = max(1, int(args.block_s / best_block(steps["cpu_simd"], 3)))
            best = {name: float("inf") for name in steps}
            for r in range(args.rounds):
                order = list(steps) if r % 2 == 0 else list(reversed(steps))
                for name in order:
                    best[name] = min(best[name], best_block(steps[name], reps))
            print(f"batch {batch:4d}: cpu_conv {best['cpu_conv'] * 1e3:8.3f} ms  cpu_simd "
                  f"{best['cpu_simd'] * 1e3:8.3f} ms  ratio {best['cpu_simd'] / best['cpu_conv']:.2f}  "
                  f"(min of {args.rounds} blocks of {reps} steps, {args.threads} thread(s))", flush=True)


if __name__ == "__main__":
    main()
