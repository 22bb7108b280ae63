"""The SIMD convolution kernels against today's direct ones and torch's, on CoolNet's two layers.

    python -m benchmarks.conv_ab                 # batch 4, 32, 256; 101 rounds of 2 ms blocks
    python -m benchmarks.conv_ab --batches 32 --rounds 31

For each layer (conv1: 3->6 channels 5x5 on 32x32; conv2: 6->16 5x5 on 14x14) and batch,
the forward pass, the weight gradient and the input gradient (conv2 only: the network's
input needs none) are timed three ways, interleaved in one process with one thread:
``minitorch.kernels.cpu_simd`` writing into preallocated outputs, ``cpu_conv``'s kernels
the same way, and (when installed) torch's ``conv2d`` and its two gradients
(``torch.nn.grad``, oneDNN).  Each round times a block of calls per variant, in rotating
order; a variant's figure is its fastest block (min over rounds), the estimate least
disturbed by other processes on a shared machine.  Before timing, each SIMD kernel is
checked against ``cpu_conv``'s result.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

LAYERS = {"conv1": (3, 6, 32), "conv2": (6, 16, 14)}   # in channels, out channels, input size; 5x5 kernels
K = 5


def best_ms(fns: dict[str, Callable[[], object]], rounds: int, block_s: float) -> dict[str, float]:
    """Min over ``rounds`` of a block's time per call (ms), the variants interleaved in rotating order."""
    reps = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        reps[name] = max(1, int(block_s / max(time.perf_counter() - t0, 1e-6)))
    best = {name: float("inf") for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, k = fns[name], reps[name]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / k * 1e3)
    return best


def layer_rows(layer: str, batch: int, rounds: int, block_s: float, torch) -> list[dict]:
    from minitorch.kernels import cpu_conv, cpu_simd

    c, o, h = LAYERS[layer]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, c, h, h), dtype=np.float32)
    w = (rng.standard_normal((o, c, K, K), dtype=np.float32) * 0.1).astype(np.float32)
    b = rng.standard_normal(o, dtype=np.float32)
    ho = h - K + 1
    g = rng.standard_normal((batch, o, ho, ho), dtype=np.float32)
    y, y2 = np.empty((batch, o, ho, ho), np.float32), np.empty((batch, o, ho, ho), np.float32)
    gw, gw2 = np.empty_like(w), np.zeros_like(w)
    gx, gx2 = np.empty_like(x), np.empty_like(x)

    def old_wgrad() -> None:
        gw2[:] = 0
        cpu_conv._weight_grad(x, g, gw2)

    passes = {
        "forward": (lambda: cpu_simd.conv2d_forward_into(x, w, b, y), lambda: cpu_conv._forward(x, w, b, y2), y, y2),
        "weight grad": (lambda: cpu_simd.conv2d_weight_grad_into(x, g, gw), old_wgrad, gw, gw2),
        "input grad": (lambda: cpu_simd.conv2d_input_grad_into(g, w, gx), lambda: cpu_conv._input_grad(g, w, gx2),
                       gx, gx2),
    }
    if layer == "conv1":
        del passes["input grad"]
    if torch is not None:
        tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
        F, grad = torch.nn.functional, torch.nn.grad
        torch_fns = {"forward": lambda: F.conv2d(tx, tw, tb),
                     "weight grad": lambda: grad.conv2d_weight(tx, tw.shape, tg),
                     "input grad": lambda: grad.conv2d_input(tx.shape, tw, tg)}
    rows = []
    for name, (simd, old, out_simd, out_old) in passes.items():
        simd()
        old()
        scale = max(float(np.abs(out_old).max()), 1e-30)
        diff = float(np.abs(out_simd - out_old).max()) / scale
        fns = {"simd": simd, "cpu_conv": old}
        if torch is not None:
            fns["torch"] = torch_fns[name]
        ms = best_ms(fns, rounds, block_s)
        flop = 2.0 * batch * o * ho * ho * c * K * K
        rows.append({"layer": layer, "batch": batch, "pass": name, "ms": ms, "rel_diff": diff,
                     "gflops": {k: flop / (v * 1e-3) / 1e9 for k, v in ms.items()}})
    return rows


def _single_threaded_torch() -> ModuleType | None:
    """torch set to one thread, or None when it is not installed (its rows are then left out)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.conv_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", nargs="+", type=int, default=[4, 32, 256])
    p.add_argument("--layers", nargs="+", choices=list(LAYERS), default=list(LAYERS))
    p.add_argument("--rounds", type=int, default=101)
    p.add_argument("--block", type=float, default=0.002,
                   help="seconds per timed block (default 0.002: short, so that some blocks fall between "
                        "other processes' time slices)")
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args(argv)
    torch = None if args.no_torch else _single_threaded_torch()
    from minitorch.kernels import cpu_simd

    print(f"one thread; cpu_simd lanes {cpu_simd.LANES}; min over {args.rounds} interleaved rounds "
          "(on a busy machine: indicative)")
    print("| layer | batch | pass | simd ms | cpu_conv ms | torch ms | cpu_conv / simd | torch / simd "
          "| simd GFLOP/s | max rel diff vs cpu_conv |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with threadpool_limits(1):
        for batch in args.batches:
            for layer in args.layers:
                for r in layer_rows(layer, batch, args.rounds, args.block, torch):
                    ms = r["ms"]
                    th = ms.get("torch")
                    th_ms = "—" if th is None else f"{th:.3f}"
                    th_ratio = "—" if th is None else f"{th / ms['simd']:.2f}"
                    print(f"| {r['layer']} | {batch} | {r['pass']} | {ms['simd']:.3f} | {ms['cpu_conv']:.3f} | "
                          f"{th_ms} | {ms['cpu_conv'] / ms['simd']:.2f} | {th_ratio} | {r['gflops']['simd']:.1f} | "
                          f"{r['rel_diff']:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
