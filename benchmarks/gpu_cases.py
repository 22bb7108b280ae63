"""The GPU measurements of ``gpu_bench.py``: CoolNet eager / captured / PyTorch, training steps, the kernel
backends, one epoch.

Both frameworks run on the same GPU from the same weights and data; the networks and the
training step are those of the CPU benchmark (``benchmarks/models.py``), timed by the same
interleaved harness (``benchmarks/timing.py``) with a device synchronisation around each block.
Each section keeps going past a broken configuration (the error goes into its row) and stays
within its deadline.
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.models import (
    NET_TITLES,
    make_batch,
    minitorch_net,
    sgd_step,
    torch_net_like,
    training_step,
)
from benchmarks.timing import loop, run_interleaved

TARGETS = {("coolnet", 4): 1.0, ("coolnet", 256): 1.5}   # step time ratio minitorch / PyTorch
GRAPH_TARGETS = {4: 0.5, 256: 1.0}  # CoolNet step time ratio, captured (CUDA graph) minitorch / PyTorch eager
Log = Callable[..., None]


def gpu_or_reason() -> str | None:
    """None when minitorch can use the GPU, else why not."""
    from minitorch import backend

    try:
        backend._load_cupy()
    except backend.DeviceError as exc:
        return str(exc)
    return None


def load_torch() -> tuple[Any, str | None]:
    """(torch, None) when it is installed with a usable CUDA device, else (None, the reason)."""
    try:
        import torch
    except ImportError as exc:
        return None, f"PyTorch is not installed ({exc})"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} sees no CUDA device"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch, None


def device_sync() -> None:
    """Wait for all work queued on the GPU, by either framework (``cudaDeviceSynchronize``)."""
    import cupy

    cupy.cuda.Device().synchronize()


def make_models(net: str, torch: Any) -> tuple[Any, Any]:
    """(minitorch model on cuda, PyTorch twin on cuda or None) with the same initial weights."""
    model = minitorch_net(net)
    twin = None if torch is None else torch_net_like(net, model).cuda().train()
    return model.to("cuda").train(), twin


def mt_step(model: Any, xn: np.ndarray, yn: np.ndarray) -> Callable[[], Any]:
    import minitorch as mt
    import minitorch.nn.functional as F

    return training_step(model, mt.tensor(xn, device="cuda"), mt.tensor(yn, device="cuda"), mt.optim, F)


def torch_step(torch: Any, model: Any, xn: np.ndarray, yn: np.ndarray) -> Callable[[], Any]:
    x, y = torch.from_numpy(xn).cuda(), torch.from_numpy(yn).cuda()
    return training_step(model, x, y, torch.optim, torch.nn.functional)


def compare(steps: dict[str, Callable[[], Any]], repeats: int, block_s: float, budget_s: float) -> dict[str, float]:
    """Median ms per step of each framework: interleaved repeats of k-step blocks between device syncs."""
    res = run_interleaved({name: loop(fn) for name, fn in steps.items()}, block_s, repeats, budget_s,
                          warmup_s=0.5, warmup_min=5, settle_s=0.0, sync=device_sync)
    return {name: r["time"]["median"] for name, r in res.items()}


def _device_batches(batch: int, count: int, move: Callable[[np.ndarray], Any]) -> list[tuple[Any, Any]]:
    """``count`` distinct batches of ``batch`` images (CIFAR-10 where present), moved to the GPU once."""
    from benchmarks.models import batch_pool

    pool, _ = batch_pool(batch, images=count * batch)
    return [(move(x), move(y)) for x, y in pool[:count]]


def bench_coolnet_modes(args: Any, torch: Any, log: Log, deadline: float) -> list[dict[str, Any]]:
    """Section 1: a CoolNet training step at batch 4 and 256 on distinct batches: minitorch eager,
    minitorch captured (``minitorch.capture``: replayed as CUDA graphs where it records), PyTorch eager.

    Each variant starts from the same weights and trains on the same rotation of batches (hw5's SGD,
    lr 0.01).  A variant that fails (capture refusing the step, say) gets its error in the row and the
    others are still timed.  The captured row also reports how its calls went (recorded, replayed, eager)
    and how many graph launches a replay takes, so a fast row is known to be a graph and not a fallback.
    """
    import minitorch as mt
    import minitorch.nn.functional as F
    from benchmarks.models import rotating_step

    rows = []
    log("\n== 1. CoolNet training step on distinct batches: minitorch eager / captured (CUDA graph) / PyTorch ==")
    for batch in (4, 256):
        row: dict[str, Any] = {"batch": batch, "target_captured_over_torch": GRAPH_TARGETS[batch]}
        rows.append(row)
        if time.perf_counter() > deadline - 5:
            row["error"] = "skipped: out of time"
            log(f"CoolNet batch {batch}: skipped (out of time)")
            continue
        steps: dict[str, Callable[[], Any]] = {}
        try:
            count = 16
            mt_batches = _device_batches(batch, count, lambda a: mt.tensor(a, device="cuda"))
            model, twin = make_models("coolnet", torch)
            steps["eager"] = rotating_step(model, mt_batches, mt.optim, F)
            captured_model, _ = make_models("coolnet", None)
            captured: dict[str, Any] = {}

            def wrap(step, captured=captured):
                captured["step"] = mt.capture(step, strict=False)
                return captured["step"]

            candidate = rotating_step(captured_model, mt_batches, mt.optim, F, wrap)
            try:
                for _ in range(4):  # discover, record, replay: a captured step replays from its third call
                    float(candidate().item())
                if not captured["step"].counts["replayed"]:  # it runs eagerly: not a captured row to time
                    why = next(iter(captured["step"].eager.values()), "no replay")
                    raise RuntimeError(f"the step is not replayed ({captured['step'].counts}): {why}")
                steps["captured"] = candidate
                row["capture_counts"] = dict(captured["step"].counts)
                graphs = [r.program for rs in captured["step"].recordings.values() for r in rs]
                row["graph_launches_per_replay"] = [getattr(g, "launches", None) for g in graphs]
                row["graph_fallback"] = [getattr(g, "fallback", None) for g in graphs]
            except Exception as exc:  # the captured variant is reported, not allowed to stop the others
                row["captured_error"] = f"{type(exc).__name__}: {exc}"
                log(f"CoolNet batch {batch}: captured step failed: {row['captured_error']}")
            if twin is not None:
                torch_batches = _device_batches(batch, count, lambda a: torch.from_numpy(a).cuda())
                steps["torch"] = rotating_step(twin, torch_batches, torch.optim, torch.nn.functional)
            times = compare(steps, args.repeats, args.target_ms / 1000, 0.9 * (deadline - time.perf_counter()) / 2)
            row.update({f"{name}_ms": t for name, t in times.items()})
            for name in ("eager", "captured"):
                if f"{name}_ms" in row and "torch_ms" in row:
                    row[f"{name}_over_torch"] = row[f"{name}_ms"] / row["torch_ms"]
            log(f"CoolNet batch {batch:4d}: " + "   ".join(f"{n} {row[n + '_ms']:8.3f} ms" for n in steps)
                + "".join(f"   {n}/torch {row[n + '_over_torch']:.2f}" for n in ("eager", "captured")
                          if n + "_over_torch" in row)
                + f"   (captured target <= {GRAPH_TARGETS[batch]})")
            if "capture_counts" in row:
                log(f"    capture counts {row['capture_counts']}, graph launches per replay "
                    f"{row['graph_launches_per_replay']}, fallback {row['graph_fallback']}")
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
            log(f"CoolNet batch {batch}: ERROR {row['error']}")
            log(traceback.format_exc())
    return rows


def bench_steps(args: Any, torch: Any, log: Log, deadline: float) -> list[dict[str, Any]]:
    """Section 1: a training step of each network at each batch size."""
    nets = [n for n in args.nets.split(",") if n]
    batches = [int(b) for b in args.batches.split(",") if b]
    configs = [(n, b) for n in nets for b in batches]
    rows = []
    log("\n== 1. training step (forward, cross-entropy, backward, SGD momentum 0.9), float32 ==")
    for i, (net, batch) in enumerate(configs):
        title = NET_TITLES[net]
        row: dict[str, Any] = {"net": net, "batch": batch}
        rows.append(row)
        remaining = deadline - time.perf_counter()
        if remaining < 3:
            row["error"] = "skipped: out of time"
            log(f"{title:9s} batch {batch:4d}: skipped (out of time)")
            continue
        share = remaining / (len(configs) - i)
        try:
            model, twin = make_models(net, torch)
            xn, yn = make_batch(batch)
            steps = {"minitorch": mt_step(model, xn, yn)}
            if twin is not None:
                steps["torch"] = torch_step(torch, twin, xn, yn)
            # the first step from the same weights and data: the losses must agree
            first = {name: float(fn().item()) for name, fn in steps.items()}
            row["loss0"] = first
            times = compare(steps, args.repeats, args.target_ms / 1000, 0.8 * share)
            row.update({f"{name}_ms": t for name, t in times.items()})
            if "torch_ms" in row:
                row["ratio"] = row["minitorch_ms"] / row["torch_ms"]
            msg = f"{title:9s} batch {batch:4d}: minitorch {row['minitorch_ms']:8.3f} ms"
            if "torch_ms" in row:
                msg += f"   torch {row['torch_ms']:8.3f} ms   ratio {row['ratio']:6.2f}"
                msg += f"   first loss {first['minitorch']:.6f} / {first['torch']:.6f}"
            log(msg)
        except Exception as exc:  # keep going: one broken configuration must not hide the rest
            row["error"] = f"{type(exc).__name__}: {exc}"
            log(f"{title:9s} batch {batch:4d}: ERROR {row['error']}")
            log(traceback.format_exc())
    return rows


def bench_kernel_backends(args: Any, log: Log, deadline: float) -> list[dict[str, Any]]:
    """Section 2: CoolNet steps with kernels/cuda.py against kernels/reference.py (minitorch only)."""
    from minitorch import kernels
    from minitorch.kernels import reference

    log("\n== 2. minitorch CoolNet step: CUDA kernels (kernels/cuda.py) vs array-module reference ==")
    rows = []
    import cupy

    original = kernels.backend(cupy.zeros(1))
    try:
        for batch in (4, 256):
            if time.perf_counter() > deadline - 3:
                log(f"batch {batch}: skipped (out of time)")
                continue
            row: dict[str, Any] = {"batch": batch}
            try:
                steps: dict[str, Callable[[], Any]] = {}
                for name, module in (("cuda", original), ("reference", reference)):
                    model, _ = make_models("coolnet", None)
                    xn, yn = make_batch(batch)
                    fn = mt_step(model, xn, yn)

                    def run(fn=fn, module=module):
                        kernels.BACKENDS["cuda"] = module
                        return fn()
                    steps[name] = run
                times = compare(steps, 5, args.target_ms / 1000, deadline - time.perf_counter())
                row.update({f"{n}_ms": t for n, t in times.items()})
                log(f"CoolNet batch {batch:4d}: cuda kernels {row['cuda_ms']:8.3f} ms   "
                    f"reference {row['reference_ms']:8.3f} ms")
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
                log(f"batch {batch}: ERROR {row['error']}")
                log(traceback.format_exc())
            rows.append(row)
    finally:
        kernels.BACKENDS["cuda"] = original
    return rows


def bench_epoch(args: Any, torch: Any, log: Log, deadline: float) -> dict[str, Any]:
    """Section 3: one CoolNet epoch over SyntheticImages, both frameworks fed the same host batches."""
    import minitorch as mt
    import minitorch.nn.functional as F
    from minitorch.data import CIFAR10_MEAN, CIFAR10_STD, DataLoader, SyntheticImages, TensorDataset
    from minitorch.data import transforms as T

    result: dict[str, Any] = {"images": args.epoch_size, "batch": args.epoch_batch}
    log(f"\n== 3. one CoolNet epoch: {args.epoch_size} SyntheticImages, batch {args.epoch_batch} ==")
    t0 = time.perf_counter()
    ds = SyntheticImages(train=True, size=args.epoch_size, seed=0)
    images = T.Compose([T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)])(ds.data)
    labels = ds.targets.astype(np.int64)
    result["data_seconds"] = time.perf_counter() - t0
    log(f"data generated and normalised on the host in {result['data_seconds']:.1f} s")
    n_batches = -(-len(labels) // args.epoch_batch)
    model, twin = make_models("coolnet", torch)

    def run(name: str, batches, step) -> None:
        budget = min(args.epoch_seconds, max(0.0, deadline - time.perf_counter()))
        if budget < 2:
            result[name] = {"error": "skipped: out of time"}
            log(f"{name}: skipped (out of time)")
            return
        done = 0
        loss: Any = None  # set by the first batch (main() asks for at least one)
        device_sync()
        start = time.perf_counter()
        for xb, yb in batches:
            loss = step(xb, yb)
            done += 1
            if done % 50 == 0 and time.perf_counter() - start > budget:
                break
        device_sync()
        seconds = time.perf_counter() - start
        entry = {"batches": done, "of": n_batches, "seconds": seconds,
                 "epoch_seconds": seconds * n_batches / max(done, 1), "last_loss": float(loss.item())}
        result[name] = entry
        note = "" if done == n_batches else f" (stopped after {done}/{n_batches} batches; extrapolated)"
        log(f"{name:9s}: epoch {entry['epoch_seconds']:7.2f} s{note}, last loss {entry['last_loss']:.4f}")

    # minitorch: its DataLoader gathers each batch on the host and copies it to the GPU
    dataset = TensorDataset(images, labels)
    warm = iter(DataLoader(dataset, batch_size=args.epoch_batch, device="cuda"))
    warm_step = sgd_step(model, mt.optim, F)
    for _ in range(2):  # warm-up on two batches (most kernels were compiled in section 1)
        warm_step(*next(warm))
    loader = DataLoader(dataset, batch_size=args.epoch_batch, shuffle=True, seed=0, device="cuda")
    model, twin = make_models("coolnet", torch)  # fresh weights for the timed epoch
    try:
        run("minitorch", loader, sgd_step(model, mt.optim, F))
    except Exception as exc:
        result["minitorch"] = {"error": f"{type(exc).__name__}: {exc}"}
        log(traceback.format_exc())

    if twin is not None:
        def torch_batches():  # the same permutation as the minitorch loader (seed 0), same host gather
            order = np.random.default_rng(0).permutation(len(labels))
            for b in range(n_batches):
                idx = order[b * args.epoch_batch:(b + 1) * args.epoch_batch]
                yield torch.from_numpy(images[idx]).cuda(), torch.from_numpy(labels[idx]).cuda()

        try:
            run("torch", torch_batches(), sgd_step(twin, torch.optim, torch.nn.functional))
        except Exception as exc:
            result["torch"] = {"error": f"{type(exc).__name__}: {exc}"}
            log(traceback.format_exc())
    return result
