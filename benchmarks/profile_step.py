"""Where a minitorch training step spends its time: cProfile over a number of steps.

    python -m benchmarks.profile_step --net coolnet --batch 4
    python -m benchmarks.profile_step --net boringnet --batch 256 --steps 20 --sort cumulative --top 40
    python -m benchmarks.profile_step --net coolnet --batch 32 --eval     # forward only, eval mode, no_grad
    python -m benchmarks.profile_step --net coolnet --batch 4 --captured  # time per replayed kernel call

The step is the one ``benchmarks.run`` times (forward, cross-entropy, backward, SGD
momentum 0.9, float32, random normal images).  It warms up, times the steps without
the profiler (cProfile's own overhead inflates Python-heavy code), then profiles the
same number of steps and prints the top functions.  ``--captured`` records the step with
``minitorch.capture`` and times each call of the replayed program instead (summed by
what it calls): what bounds a captured step, with no Python of the engine left to see.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from typing import Any

from threadpoolctl import threadpool_limits

from benchmarks.models import NETS, batch_pool, make_batch, minitorch_net, minitorch_train_step, rotating_step


def replay_profile(net: str, batch: int, replays: int) -> dict[str, Any]:
    """Time each call of a captured step's program over ``replays`` replays: the step's time, and per callee
    its time and calls per step, largest first (what bounds a captured step)."""
    import minitorch as mt
    import minitorch.nn.functional as F

    kept: list[Any] = []

    def capture(fn):
        kept.append(mt.capture(fn))
        return kept[-1]

    batches = [(mt.from_numpy(x), mt.from_numpy(y)) for x, y in batch_pool(batch)[0]]
    step = rotating_step(minitorch_net(net), batches, mt.optim, F, capture)
    for _ in range(5):
        step()
    recordings = [r for rs in kept[0].recordings.values() for r in rs]
    replayed: list[Any] = []

    def counting(recording: Any) -> None:
        run = recording.program.run

        def run_and_note() -> Any:
            replayed.append(recording)
            return run()

        recording.program.run = run_and_note

    for r in recordings:  # one more step, seeing which recording's program runs: the one to time
        counting(r)
    step()
    for r in recordings:
        del r.program.run
    (recording,) = replayed
    program = recording.program
    t0 = time.perf_counter()
    for _ in range(replays):
        step()
    whole = (time.perf_counter() - t0) / replays
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    perf = time.perf_counter
    for _ in range(replays):
        for (fn, args, kwargs), name in zip(program.steps, program.names, strict=True):
            t = perf()
            fn(*args, **kwargs)
            spent[name] += perf() - t
            calls[name] += 1
    callees = [{"name": name, "ms": s / replays * 1e3, "calls": calls[name] // replays}
               for name, s in sorted(spent.items(), key=lambda kv: -kv[1])]
    return {"net": net, "batch": batch, "replays": replays, "step_ms": whole * 1e3, "calls": len(program),
            "in_calls_ms": sum(c["ms"] for c in callees), "callees": callees}


def replay_breakdown(net: str, batch: int, replays: int) -> None:
    """:func:`replay_profile`, printed."""
    p = replay_profile(net, batch, replays)
    print(f"{net} batch {batch} captured step: {p['step_ms']:.3f} ms/step ({p['calls']} calls; "
          f"{p['in_calls_ms']:.3f} ms in them when timed one by one, over {replays} replays)")
    print(f"{'ms/step':>9} {'share':>6} {'calls':>5}  callee")
    for c in p["callees"]:
        print(f"{c['ms']:9.4f} {c['ms'] / p['in_calls_ms']:6.1%} {c['calls']:5d}  {c['name']}")


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
    p.add_argument("--captured", action="store_true", help="time each call of the captured step's program instead")
    args = p.parse_args(argv)
    if args.captured:
        with threadpool_limits(args.threads):
            replay_breakdown(args.net, args.batch, args.steps or 200)
        return

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
