"""Where a minitorch training step spends its time: cProfile over a number of steps.

    python -m benchmarks.profile_step --net coolnet --batch 4
    python -m benchmarks.profile_step --net boringnet --batch 256 --steps 20 --sort cumulative --top 40
    python -m benchmarks.profile_step --net coolnet --batch 32 --eval     # forward only, eval mode, no_grad

The step is the one ``benchmarks.run`` times (forward, cross-entropy, backward, SGD
momentum 0.9, float32, random normal images).  It warms up, times the steps without
the profiler (cProfile's own overhead inflates Python-heavy code), then profiles the
same number of steps and prints the top functions.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time

from threadpoolctl import threadpool_limits

from benchmarks.models import NETS, make_batch, minitorch_net, minitorch_train_step


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.split("\n\n")[0])
    p.add_argument("--net", choices=NETS, default="coolnet")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=None, help="profiled steps (default: about 2 s worth)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--sort", default="tottime", help="pstats sort key: tottime, cumulative, ncalls, ...")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval", action="store_true", help="profile an eval-mode forward under no_grad instead")
    p.add_argument("--dump", default=None, help="also write the raw profile here (for snakeviz, pstats)")
    args = p.parse_args(argv)

    import minitorch as mt

    with threadpool_limits(args.threads):
        if args.eval:
            model = minitorch_net(args.net).eval()
            x = mt.tensor(make_batch(args.batch)[0])

            def step():
                with mt.no_grad():
                    return model(x)
        else:
            step, _ = minitorch_train_step(args.net, args.batch)
        for _ in range(args.warmup):
            step()
        t0 = time.perf_counter()
        step()
        one = time.perf_counter() - t0
        steps = args.steps or max(3, min(2000, int(2.0 / max(one, 1e-6))))
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        plain = (time.perf_counter() - t0) / steps
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(steps):
            step()
        prof.disable()
    what = "eval forward" if args.eval else "train step"
    print(f"{args.net} batch {args.batch} {what}: {plain * 1e3:.3f} ms/step without the profiler "
          f"({steps} steps, {args.threads} threads)")
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats(args.sort).print_stats(args.top)
    text = buf.getvalue()
    print(f"profile of {steps} steps (times below are totals over all of them; divide by {steps} for per-step):")
    print(text)
    if args.dump:
        stats.dump_stats(args.dump)
        print(f"raw profile written to {args.dump}", file=sys.stderr)


if __name__ == "__main__":
    main()
