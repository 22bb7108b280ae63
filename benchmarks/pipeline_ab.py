"""Per-step cost of hw5's training batches: the DataLoader against ``hw5.epoch_batches`` (what hw5 trains on).

    python -m benchmarks.pipeline_ab [--steps 2500] [--rounds 9] [--chunk 256]

Batch 4 with random flips (fig3b's pipeline; fig1d's is the same without the flips), on
CIFAR-10 when it is on disk, else the synthetic set.  Each round takes ``steps`` batches
from each (a fresh epoch each round), interleaved; the figure is the minimum over rounds
of the time per batch, single thread.  Only the batches are made: no training step.
"""
from __future__ import annotations

import argparse
import itertools
import time

from threadpoolctl import threadpool_limits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--chunk", type=int, default=256)
    args = p.parse_args(argv)

    import minitorch as mt
    from hw5.data import load_data
    from hw5.epoch_batches import epoch_batches
    from hw5.experiments import get_experiment

    config = get_experiment("fig3b")
    data = load_data(config)
    loader = mt.data.DataLoader(data.train, config.batch_size, shuffle=True, seed=config.seed)
    ways = {"DataLoader": lambda: iter(loader), "epoch_batches": lambda: epoch_batches(loader, args.chunk)}
    best = dict.fromkeys(ways, float("inf"))
    with threadpool_limits(1):
        for r in range(args.rounds):
            for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
                t0 = time.perf_counter()
                for _ in itertools.islice(ways[name](), args.steps):
                    pass
                best[name] = min(best[name], (time.perf_counter() - t0) / args.steps)
    print(f"{data.name}, batch {config.batch_size}, flips, chunk {args.chunk}; min over {args.rounds} rounds of "
          f"{args.steps} batches, one thread (on a busy machine: indicative)")
    for name, s in best.items():
        print(f"  {name}: {s * 1e6:.1f} us per batch")
    print(f"  ratio DataLoader / epoch_batches: {best['DataLoader'] / best['epoch_batches']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
