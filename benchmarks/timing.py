"""The timing harness shared by the CPU benchmark (``run.py``) and the GPU one (``gpu_bench.py``).

Frameworks are timed in alternating rounds (A B, B A, A B, ...), so that a slow
spell of a shared machine falls on both; each round runs one block of k calls per
framework, k sized so that a block lasts about a fixed time, and a block's time
divided by k is one sample.  On a GPU, work is queued and runs later, so a
``sync`` (a device-wide synchronisation) is called before the timer starts and
before it stops.
"""
from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

Block = Callable[[int], dict[str, float] | None]

_T_START = time.perf_counter()


def log(msg: str) -> None:
    """A progress line on stderr, stamped with the seconds since the benchmark started."""
    print(f"{time.perf_counter() - _T_START:6.0f}s {msg}", file=sys.stderr, flush=True)


def summarize(samples_s: list[float], reps: int, scale: float = 1e3) -> dict:
    """Median and quartiles of per-call times (seconds), reported in ``1/scale`` units (ms by default)."""
    xs = sorted(s * scale for s in samples_s)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "rounds": len(xs), "reps": reps, "samples": xs}


def loop(fn: Callable[[], Any]) -> Callable[[int], None]:
    """A block that calls ``fn`` k times."""
    def block(k: int) -> None:
        for _ in range(k):
            fn()
    return block


def run_interleaved(
    blocks: Mapping[str, Block],
    block_s: float,
    rounds: int,
    budget_s: float,
    *,
    warmup_s: float = 0.3,
    warmup_min: int = 2,
    settle_s: float = 0.05,
    sync: Callable[[], None] | None = None,
    max_reps: int = 5000,
) -> dict[str, dict[str, dict]]:
    """Warm up each block function, then time alternating rounds of them.

    ``blocks[name](k)`` runs k calls; it returns None (the whole block is timed here)
    or a dict of its own per-metric total seconds (the per-layer forward/backward).
    Warm-up runs each block with k = 1 at least ``warmup_min`` times and for
    ``warmup_s`` seconds; the median of the later half of those calls sizes the
    blocks.  ``budget_s`` caps the rounds (but not below three).
    Returns ``{name: {metric: summary}}`` with per-call times in ms.

    Before each block: a pause of ``settle_s``, so that the other framework's worker
    threads (OpenBLAS and OpenMP spin for a while after their last task) are asleep
    and not competing for the cores, and ``gc.collect()``; both outside the timer.
    """
    sync = sync or (lambda: None)

    def timed(block: Block, k: int) -> tuple[float, dict[str, float] | None]:
        sync()
        t0 = time.perf_counter()
        out = block(k)
        sync()
        return time.perf_counter() - t0, out

    est: dict[str, float] = {}
    for name, block in blocks.items():
        times: list[float] = []
        t_end = time.perf_counter() + warmup_s
        while len(times) < warmup_min or (time.perf_counter() < t_end and len(times) < 500):
            times.append(timed(block, 1)[0])
        est[name] = statistics.median(times[-max(3, len(times) // 2):])
    reps = {n: max(1, min(max_reps, round(block_s / max(est[n], 1e-9)))) for n in blocks}
    round_s = sum(reps[n] * est[n] for n in blocks)
    n_rounds = rounds
    if round_s * rounds > budget_s:
        n_rounds = max(min(rounds, 3), int(budget_s / round_s))
    names = list(blocks)
    samples: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for r in range(n_rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(settle_s)
            gc.collect()
            k = reps[name]
            elapsed, out = timed(blocks[name], k)
            for metric, total in (out or {"time": elapsed}).items():
                samples[name].setdefault(metric, []).append(total / k)
    return {n: {m: summarize(v, reps[n]) for m, v in samples[n].items()} for n in names}
