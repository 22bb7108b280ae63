"""minitorch on the GPU (CuPy) against PyTorch CUDA on the same GPU.

Run from the repository root on a machine with an NVIDIA GPU, CuPy and PyTorch (CUDA)::

    PYTHONPATH=. python benchmarks/gpu_bench.py [--out DIR] [--budget SECONDS]

Sections (each time-boxed; the whole run stays within ``--budget``):

1. one training step (forward, cross-entropy, backward, SGD with momentum 0.9) of LazyNet,
   BoringNet and CoolNet at batch 4, 32 and 256, float32, both frameworks from the same weights
   and data.  Each measurement runs k steps between device synchronisations
   (``cupy.cuda.Device().synchronize()`` / ``torch.cuda.synchronize()``), after a warm-up; the two
   frameworks alternate, and the median of the repeats is reported, with the ratio
   minitorch / PyTorch (targets for CoolNet: <= 1.0 at batch 4, <= 1.5 at batch 256);
2. CoolNet steps with minitorch's CUDA kernels (kernels/cuda.py) against its array-module
   fallback (kernels/reference.py), to show what the kernels buy;
3. one CoolNet epoch at batch 32 over ``SyntheticImages`` (50 000 images by default), both
   frameworks fed the same batches from host memory (minitorch through its DataLoader with
   ``device="cuda"``); stopped at ``--epoch-seconds`` and extrapolated if slower.

PyTorch runs with TF32 off (``allow_tf32 = False`` for matmul and cuDNN), so both frameworks compute
in full float32.  The log, ``results.json`` and ``table.md`` go to ``--out`` (default: ``$GPU_RESULTS``
or ``gpu-results/``); the table is printed last.  Without a GPU the script says so and exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback
from typing import Any, Callable

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:  # run as a script from anywhere: minitorch is found in the repository
    sys.path.insert(0, _ROOT)

from benchmarks.models import LR, MOMENTUM, build_layers, training_step  # noqa: E402  (the same networks as the CPU benchmark)

NETS = ("lazynet", "boringnet", "coolnet")
TITLES = {"lazynet": "LazyNet", "boringnet": "BoringNet", "coolnet": "CoolNet"}
BATCHES = (4, 32, 256)
TARGETS = {("coolnet", 4): 1.0, ("coolnet", 256): 1.5}


class Tee:
    """print() to the terminal and to a log file."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "w", buffering=1)

    def __call__(self, *args: Any) -> None:
        text = " ".join(str(a) for a in args)
        print(text, flush=True)
        self.file.write(text + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", default=os.environ.get("GPU_RESULTS", "gpu-results"),
                   help="folder for log.txt, results.json and table.md (default: $GPU_RESULTS or gpu-results)")
    p.add_argument("--budget", type=float, default=200.0, help="seconds for the whole benchmark (default 200)")
    p.add_argument("--nets", default=",".join(NETS), help="comma-separated subset of " + ",".join(NETS))
    p.add_argument("--batches", default=",".join(map(str, BATCHES)), help="comma-separated batch sizes")
    p.add_argument("--repeats", type=int, default=7, help="interleaved repeats per configuration (median)")
    p.add_argument("--target-ms", type=float, default=40.0, help="length of one timed block, in ms")
    p.add_argument("--epoch-size", type=int, default=50_000, help="images in the epoch section (0: skip it)")
    p.add_argument("--epoch-batch", type=int, default=32)
    p.add_argument("--epoch-seconds", type=float, default=45.0,
                   help="stop an epoch after this many seconds per framework and extrapolate")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- environment
def gpu_or_reason() -> str | None:
    """None when minitorch can use the GPU, else why not."""
    from minitorch import backend

    try:
        backend._load_cupy()
    except backend.DeviceError as exc:
        return str(exc)
    return None


def load_torch():
    """torch when it is installed with a usable CUDA device, else (None, reason)."""
    try:
        import torch
    except ImportError as exc:
        return None, f"PyTorch is not installed ({exc})"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} sees no CUDA device"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch, None


def versions(torch) -> dict[str, str]:
    import cupy

    import minitorch

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cupy": cupy.__version__,
        "minitorch": minitorch.__version__,
    }
    try:
        info["cuda_runtime"] = str(cupy.cuda.runtime.runtimeGetVersion())
        info["cuda_driver"] = str(cupy.cuda.runtime.driverGetVersion())
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        info["compute_capability"] = f"{props['major']}.{props['minor']}"
    except Exception as exc:  # pragma: no cover - informative only
        info["cuda"] = f"unknown ({exc})"
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_cuda"] = str(torch.version.cuda)
        info["cudnn"] = str(torch.backends.cudnn.version())
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        pass
    return info


# ----------------------------------------------------------------------------- networks
def make_models(net: str, torch):
    """(minitorch model on cuda, PyTorch twin on cuda or None) with the same initial weights."""
    import minitorch as mt
    import minitorch.nn as nn

    mt.manual_seed(0)
    model = nn.Sequential(*build_layers(nn, net))
    twin = None
    if torch is not None:
        twin = torch.nn.Sequential(*build_layers(torch.nn, net))
        state = {k: torch.from_numpy(np.array(v.numpy(), copy=True)) for k, v in model.state_dict().items()}
        twin.load_state_dict(state, strict=True)
        twin = twin.cuda().train()
    return model.to("cuda").train(), twin


def make_batch(batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + batch)
    return rng.standard_normal((batch, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int64)


def mt_step(model, xn: np.ndarray, yn: np.ndarray) -> Callable[[], Any]:
    import minitorch as mt
    import minitorch.nn.functional as F

    return training_step(model, mt.tensor(xn, device="cuda"), mt.tensor(yn, device="cuda"), mt.optim, F)


def torch_step(torch, model, xn: np.ndarray, yn: np.ndarray) -> Callable[[], Any]:
    x, y = torch.from_numpy(xn).cuda(), torch.from_numpy(yn).cuda()
    return training_step(model, x, y, torch.optim, torch.nn.functional)


# ----------------------------------------------------------------------------- timing
def syncs(torch) -> dict[str, Callable[[], None]]:
    import cupy

    out = {"minitorch": lambda: cupy.cuda.Device().synchronize()}
    if torch is not None:
        out["pytorch"] = torch.cuda.synchronize
    return out


def timed(step: Callable[[], Any], sync: Callable[[], None], n: int) -> float:
    """Seconds per step over n steps, between two device synchronisations."""
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return (time.perf_counter() - t0) / n


def warm_up(step, sync, max_steps: int = 30, max_seconds: float = 20.0) -> float:
    """Run steps until two in a row agree within 25% (kernels compiled, pools filled); their time."""
    start = time.perf_counter()
    last = timed(step, sync, 1)
    for _ in range(max_steps):
        now = timed(step, sync, 1)
        if abs(now - last) <= 0.25 * max(now, last) or time.perf_counter() - start > max_seconds:
            return now
        last = now
    return last


def compare(steps: dict[str, Callable], sync: dict[str, Callable], repeats: int, target_s: float,
            deadline: float) -> dict[str, float]:
    """Median seconds per step of each framework: interleaved repeats of k-step timed blocks."""
    seconds = max(1.0, min(20.0, deadline - time.perf_counter()))
    single = {name: warm_up(fn, sync[name], max_seconds=seconds) for name, fn in steps.items()}
    k = {name: int(min(200, max(1, round(target_s / max(t, 1e-6))))) for name, t in single.items()}
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(repeats):
        if r >= 1 and time.perf_counter() > deadline:
            break
        for name in (names if r % 2 == 0 else names[::-1]):
            samples[name].append(timed(steps[name], sync[name], k[name]))
    return {name: statistics.median(v) for name, v in samples.items()}


# ----------------------------------------------------------------------------- sections
def bench_steps(args, torch, log, deadline: float) -> list[dict[str, Any]]:
    nets = [n for n in args.nets.split(",") if n]
    batches = [int(b) for b in args.batches.split(",") if b]
    configs = [(n, b) for n in nets for b in batches]
    sync = syncs(torch)
    rows = []
    log("\n== 1. training step (forward, cross-entropy, backward, SGD momentum 0.9), float32 ==")
    for i, (net, batch) in enumerate(configs):
        row: dict[str, Any] = {"net": net, "batch": batch}
        rows.append(row)
        remaining = deadline - time.perf_counter()
        if remaining < 3:
            row["error"] = "skipped: out of time"
            log(f"{TITLES[net]:9s} batch {batch:4d}: skipped (out of time)")
            continue
        share = remaining / (len(configs) - i)
        try:
            model, twin = make_models(net, torch)
            xn, yn = make_batch(batch)
            steps = {"minitorch": mt_step(model, xn, yn)}
            if twin is not None:
                steps["pytorch"] = torch_step(torch, twin, xn, yn)
            # the first step from the same weights and data: the losses must agree
            first = {name: float(fn().item()) for name, fn in steps.items()}
            row["loss0"] = first
            times = compare(steps, sync, args.repeats, args.target_ms / 1000,
                            time.perf_counter() + 0.8 * share)
            row.update({f"{name}_ms": t * 1000 for name, t in times.items()})
            if "pytorch_ms" in row:
                row["ratio"] = row["minitorch_ms"] / row["pytorch_ms"]
            msg = f"{TITLES[net]:9s} batch {batch:4d}: minitorch {row['minitorch_ms']:8.3f} ms"
            if "pytorch_ms" in row:
                msg += f"   pytorch {row['pytorch_ms']:8.3f} ms   ratio {row['ratio']:6.2f}"
                msg += f"   first loss {first['minitorch']:.6f} / {first['pytorch']:.6f}"
            log(msg)
        except Exception as exc:  # keep going: one broken configuration must not hide the rest
            row["error"] = f"{type(exc).__name__}: {exc}"
            log(f"{TITLES[net]:9s} batch {batch:4d}: ERROR {row['error']}")
            log(traceback.format_exc())
    return rows


def bench_kernel_backends(args, log, deadline: float) -> list[dict[str, Any]]:
    """CoolNet steps with kernels/cuda.py against kernels/reference.py (minitorch only)."""
    from minitorch import kernels
    from minitorch.kernels import reference

    log("\n== 2. minitorch CoolNet step: CUDA kernels (kernels/cuda.py) vs array-module reference ==")
    sync = syncs(None)["minitorch"]
    rows = []
    original = kernels._cuda_kernels()
    try:
        for batch in (4, 256):
            if time.perf_counter() > deadline - 3:
                log(f"batch {batch}: skipped (out of time)")
                continue
            row: dict[str, Any] = {"batch": batch}
            try:
                steps = {}
                for name, module in (("cuda", original), ("reference", reference)):
                    model, _ = make_models("coolnet", None)
                    xn, yn = make_batch(batch)
                    fn = mt_step(model, xn, yn)

                    def run(fn=fn, module=module):
                        kernels._cuda = module
                        return fn()
                    steps[name] = run
                times = compare(steps, {n: sync for n in steps}, 5, args.target_ms / 1000, deadline)
                row.update({f"{n}_ms": t * 1000 for n, t in times.items()})
                log(f"CoolNet batch {batch:4d}: cuda kernels {row['cuda_ms']:8.3f} ms   "
                    f"reference {row['reference_ms']:8.3f} ms")
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
                log(f"batch {batch}: ERROR {row['error']}")
                log(traceback.format_exc())
            rows.append(row)
    finally:
        kernels._cuda = original
    return rows


def bench_epoch(args, torch, log, deadline: float) -> dict[str, Any]:
    """One CoolNet epoch over SyntheticImages, both frameworks fed the same host batches."""
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
        sync = syncs(torch)[name]
        done, loss = 0, None
        sync()
        start = time.perf_counter()
        for xb, yb in batches:
            loss = step(xb, yb)
            done += 1
            if done % 50 == 0 and time.perf_counter() - start > budget:
                break
        sync()
        seconds = time.perf_counter() - start
        entry = {"batches": done, "of": n_batches, "seconds": seconds,
                 "epoch_seconds": seconds * n_batches / max(done, 1), "last_loss": float(loss.item())}
        result[name] = entry
        note = "" if done == n_batches else f" (stopped after {done}/{n_batches} batches; extrapolated)"
        log(f"{name:9s}: epoch {entry['epoch_seconds']:7.2f} s{note}, last loss {entry['last_loss']:.4f}")

    # minitorch: its DataLoader gathers each batch on the host and copies it to the GPU
    opt = mt.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def mt_train(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    dataset = TensorDataset(images, labels)
    warm = iter(DataLoader(dataset, batch_size=args.epoch_batch, device="cuda"))
    for _ in range(2):  # warm-up on two batches (most kernels were compiled in section 1)
        mt_train(*next(warm))
    loader = DataLoader(dataset, batch_size=args.epoch_batch, shuffle=True, seed=0, device="cuda")
    model, twin = make_models("coolnet", torch)  # fresh weights for the timed epoch
    opt = mt.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    try:
        run("minitorch", loader, mt_train)
    except Exception as exc:
        result["minitorch"] = {"error": f"{type(exc).__name__}: {exc}"}
        log(traceback.format_exc())

    if twin is not None:
        topt = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)

        def torch_train(x, y):
            loss = torch.nn.functional.cross_entropy(twin(x), y)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return loss

        def torch_batches():  # the same permutation as the minitorch loader (seed 0), same host gather
            order = np.random.default_rng(0).permutation(len(labels))
            for b in range(n_batches):
                idx = order[b * args.epoch_batch:(b + 1) * args.epoch_batch]
                yield torch.from_numpy(images[idx]).cuda(), torch.from_numpy(labels[idx]).cuda()

        try:
            run("pytorch", torch_batches(), torch_train)
        except Exception as exc:
            result["pytorch"] = {"error": f"{type(exc).__name__}: {exc}"}
            log(traceback.format_exc())
    return result


# ----------------------------------------------------------------------------- report
def table(info: dict[str, str], rows: list[dict[str, Any]], backends: list[dict[str, Any]],
          epoch: dict[str, Any] | None) -> str:
    gpu = info.get("gpu", "GPU")
    lines = [f"### minitorch (CuPy {info.get('cupy')}) vs PyTorch {info.get('torch', 'n/a')} on {gpu}", "",
             "Training step, float32, median ms (lower is better); ratio = minitorch / PyTorch.", "",
             "| net | batch | minitorch ms | PyTorch ms | ratio | target |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        target = TARGETS.get((r["net"], r["batch"]))
        if "error" in r:
            lines.append(f"| {TITLES[r['net']]} | {r['batch']} | {r['error']} | | | |")
            continue
        pt = f"{r['pytorch_ms']:.3f}" if "pytorch_ms" in r else "n/a"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "n/a"
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g} " + ("n/a" if "ratio" not in r else ("met" if r["ratio"] <= target else "MISSED"))
        lines.append(f"| {TITLES[r['net']]} | {r['batch']} | {r['minitorch_ms']:.3f} | {pt} | {ratio} | {verdict} |")
    if backends:
        lines += ["", "minitorch CoolNet step with kernels/cuda.py vs the array-module reference kernels:", "",
                  "| batch | cuda.py ms | reference ms |", "| ---: | ---: | ---: |"]
        for r in backends:
            if "error" in r:
                lines.append(f"| {r['batch']} | {r['error']} | |")
            else:
                lines.append(f"| {r['batch']} | {r['cuda_ms']:.3f} | {r['reference_ms']:.3f} |")
    if epoch:
        lines += ["", f"One CoolNet epoch ({epoch['images']} SyntheticImages, batch {epoch['batch']}), seconds:", ""]
        for name in ("minitorch", "pytorch"):
            e = epoch.get(name)
            if not e:
                continue
            if "error" in e:
                lines.append(f"- {name}: {e['error']}")
            else:
                extra = "" if e["batches"] == e["of"] else f" (extrapolated from {e['batches']}/{e['of']} batches)"
                lines.append(f"- {name}: {e['epoch_seconds']:.2f} s{extra}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    deadline = start + args.budget
    reason = gpu_or_reason()
    if reason is not None:
        print(f"gpu_bench: no GPU for minitorch, nothing measured: {reason}")
        return 0
    os.makedirs(args.out, exist_ok=True)
    log = Tee(os.path.join(args.out, "log.txt"))
    torch, why_not = load_torch()
    if torch is None:
        log(f"PyTorch CUDA unavailable ({why_not}): timing minitorch only")
    info = versions(torch)
    log("versions: " + json.dumps(info))
    log(f"budget {args.budget:.0f} s; TF32 off in PyTorch")

    results: dict[str, Any] = {"versions": info, "args": vars(args)}
    rows = bench_steps(args, torch, log, start + 0.55 * args.budget)
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

    text = table(info, rows, backends, epoch)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2, default=str)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    log(f"\nbenchmark took {results['seconds']:.0f} s; files in {args.out}/\n")
    log(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
