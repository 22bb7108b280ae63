"""minitorch against PyTorch, side by side in one process: ``python -m benchmarks.run``.

What it measures (every row on identical networks, weights, batches and thread counts):

* ``train/<net>/b<N>``: one full training step (forward, cross-entropy, backward,
  SGD with momentum 0.9, float32) of LazyNet, BoringNet and CoolNet at batch 4, 32, 256;
* ``eval/coolnet/b1000``: CoolNet in eval mode without autograd over 10,000 images
  in batches of 1000;
* ``layers/coolnet/b<N>``: each CoolNet layer's forward and backward, timed
  separately, at batch 32 and 256 (a single layer under each framework's autograd,
  with a fixed upstream gradient), and the GFLOP/s of its Conv2d/Linear layers
  against the NumPy float32 matmul rate of this machine (``gemm/sgemm1024``);
* ``memory/coolnet/b256``: the peak memory a CoolNet batch-256 training step adds,
  one fresh subprocess per framework;
* ``startup/import`` and ``startup/first-step``: a cold ``import minitorch`` and the
  first CoolNet batch-4 step of a new process.

Timing: every callable is warmed up, then the two frameworks run in alternating
rounds (A B, B A, A B, ...), each round a block of repeats sized to about a fixed
time; a block's time divided by its repeats is one sample, and rows report the
median sample, its interquartile range and the ratio of medians minitorch/PyTorch.

Writes ``BENCHMARKS.md`` (repository root) and ``benchmarks/results.json``, or both
into ``--out``.  ``--quick`` is a smoke run: few repeats, and it writes into a
temporary directory unless ``--out`` is given, so it never replaces the real results.
Without PyTorch it times minitorch alone.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from threadpoolctl import threadpool_limits

from benchmarks.models import (
    NET_TITLES,
    NETS,
    layer_flops,
    layer_names,
    make_batch,
    minitorch_net,
    minitorch_train_step,
    torch_net_like,
    torch_train_step,
)

REPO = Path(__file__).resolve().parent.parent
BATCHES = (4, 32, 256)
LAYER_BATCHES = (32, 256)
EVAL_IMAGES, EVAL_BATCH = 10_000, 1000
MEM_BATCH = 256
GEMM_N = 1024

TRAIN_TARGETS = {
    4: {"lazynet": 0.33, "boringnet": 0.33, "coolnet": 0.33},
    32: {"lazynet": 0.8, "boringnet": 0.8, "coolnet": 0.8},
    256: {"lazynet": 1.0, "boringnet": 1.0, "coolnet": 1.1},
}
EVAL_TARGET = 1.0          # time ratio: minitorch throughput >= PyTorch's
MEMORY_TARGET = 1.5        # peak-memory ratio
IMPORT_TARGET_MS = 500.0
FIRST_STEP_TARGET_MS = 1000.0


@dataclass
class Plan:
    """Repeat counts: ``target_s`` is the length of one timed block, ``budget_s`` caps a row."""

    train_block_s: float = 0.25
    train_rounds: int = 9
    train_budget_s: float = 20.0
    layer_block_s: float = 0.06
    layer_rounds: int = 7
    layer_budget_s: float = 4.0
    eval_rounds: int = 5
    eval_budget_s: float = 45.0
    gemm_block_s: float = 0.2
    gemm_rounds: int = 9
    warmup_s: float = 0.3
    warmup_min: int = 2
    settle_s: float = 0.05     # pause before each timed block (see run_interleaved)
    mem_runs: int = 2
    import_runs: int = 5
    first_step_runs: int = 3
    torch_import_runs: int = 3

    def hurried(self, rounds: int) -> "Plan":
        """Fewer and shorter rounds, for when the run is falling behind its time budget."""
        return replace(
            self, train_block_s=self.train_block_s / 2, train_rounds=min(self.train_rounds, rounds),
            train_budget_s=self.train_budget_s / 2, layer_block_s=self.layer_block_s / 2,
            layer_rounds=min(self.layer_rounds, rounds), layer_budget_s=self.layer_budget_s / 2,
            eval_rounds=min(self.eval_rounds, 3), eval_budget_s=self.eval_budget_s / 2, warmup_s=self.warmup_s / 2,
        )

    @classmethod
    def quick(cls) -> "Plan":
        return cls(
            train_block_s=0.03, train_rounds=3, train_budget_s=3.0,
            layer_block_s=0.01, layer_rounds=3, layer_budget_s=0.5,
            eval_rounds=2, eval_budget_s=10.0, gemm_block_s=0.05, gemm_rounds=3,
            warmup_s=0.05, warmup_min=2, settle_s=0.01, mem_runs=1, import_runs=2, first_step_runs=1, torch_import_runs=1,
        )


_T_START = time.perf_counter()


def log(msg: str) -> None:
    print(f"{time.perf_counter() - _T_START:6.0f}s {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------- statistics
def summarize(samples_s: list[float], reps: int, scale: float = 1e3) -> dict:
    """Median and quartiles of per-call times (seconds), reported in ``1/scale`` units (ms by default)."""
    xs = sorted(s * scale for s in samples_s)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "rounds": len(xs), "reps": reps, "samples": xs}


def _layer_block(layer: Any, x: Any, g: Any) -> Callable[[int], dict]:
    """A timed block for one layer, in either framework: k forward+backward passes, the two timed apart.

    Both frameworks spell it the same (call, ``backward(g)``, ``zero_grad(set_to_none=True)``), so one
    closure serves both and they are timed by identical code.
    """
    def block(k: int) -> dict:
        fwd = bwd = 0.0
        perf = time.perf_counter
        for _ in range(k):
            t0 = perf()
            y = layer(x)
            t1 = perf()
            y.backward(g)
            t2 = perf()
            fwd += t1 - t0
            bwd += t2 - t1
            x.grad = None
            layer.zero_grad(set_to_none=True)
        return {"fwd": fwd, "bwd": bwd}

    return block


def run_interleaved(
    blocks: dict[str, Callable[[int], dict[str, float] | None]],
    block_s: float,
    rounds: int,
    budget_s: float,
    plan: Plan,
) -> dict[str, dict[str, dict]]:
    """Warm up each block function, then time alternating rounds of the frameworks.

    ``blocks[name](k)`` runs k calls; it returns None (the whole block is timed here)
    or a dict of its own per-metric total seconds (the per-layer forward/backward).
    Returns ``{name: {metric: summary}}`` with per-call times in ms.

    Before each block: a short pause, so that the other framework's worker threads
    (OpenBLAS and OpenMP spin for a while after their last task) are asleep and not
    competing for the cores, and ``gc.collect()``; both outside the timer.
    """
    est: dict[str, float] = {}
    for name, block in blocks.items():
        times: list[float] = []
        t_end = time.perf_counter() + plan.warmup_s
        while len(times) < plan.warmup_min or (time.perf_counter() < t_end and len(times) < 500):
            t0 = time.perf_counter()
            block(1)
            times.append(time.perf_counter() - t0)
        est[name] = statistics.median(times[-max(3, len(times) // 2):])
    reps = {n: max(1, min(5000, round(block_s / max(est[n], 1e-9)))) for n in blocks}
    round_s = sum(reps[n] * est[n] for n in blocks)
    n_rounds = rounds
    if round_s * rounds > budget_s:
        n_rounds = max(min(rounds, 3), int(budget_s / round_s))
    names = list(blocks)
    samples: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for r in range(n_rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(plan.settle_s)
            gc.collect()
            k = reps[name]
            t0 = time.perf_counter()
            out = blocks[name](k)
            elapsed = time.perf_counter() - t0
            for metric, total in (out or {"time": elapsed}).items():
                samples[name].setdefault(metric, []).append(total / k)
    return {n: {m: summarize(v, reps[n]) for m, v in samples[n].items()} for n in names}


def _loop(fn: Callable[[], Any]) -> Callable[[int], None]:
    def block(k: int) -> None:
        for _ in range(k):
            fn()
    return block


# ------------------------------------------------------------------------ rows
def make_row(
    row_id: str, label: str, unit: str, mt: dict | None, th: dict | None, target: dict | None, **extra: Any
) -> dict:
    ratio = None
    if mt is not None and th is not None and th["median"] > 0:
        ratio = mt["median"] / th["median"]
    met = None
    if target is not None:
        if target["on"] == "ratio" and ratio is not None:
            met = ratio <= target["value"]
        elif target["on"] == "minitorch" and mt is not None:
            met = mt["median"] < target["value"]
    return {"id": row_id, "label": label, "unit": unit, "minitorch": mt, "torch": th, "ratio": ratio,
            "target": target, "met": met, **extra}


class Bench:
    def __init__(self, args: argparse.Namespace, plan: Plan) -> None:
        self.args, self.plan = args, plan
        self.patterns = [p.strip() for p in (args.rows or "").split(",") if p.strip()]
        self.torch = None
        if not args.no_torch:
            try:
                import torch

                torch.set_num_threads(args.threads)
                self.torch = torch
            except ImportError:
                log("PyTorch is not installed: timing minitorch alone")
        self.rows: list[dict] = []
        self.layers: list[dict] = []
        self.gemm: dict | None = None
        self.parity: dict[str, float] = {}
        self.notes: list[str] = []
        self.contention: dict[str, dict] = {}
        self.t0 = time.perf_counter()
        self.hurried = 0

    def pace(self) -> None:
        """Past half the time budget, and again past all of it: fewer, shorter rounds for the remaining rows."""
        budget = self.args.max_minutes * 60
        elapsed = time.perf_counter() - self.t0
        for level, fraction, rounds in ((1, 0.5, 5), (2, 1.0, 3)):
            if budget > 0 and self.hurried < level and elapsed > budget * fraction:
                self.hurried = level
                self.plan = self.plan.hurried(rounds)
                note = (f"the run passed {'half its' if level == 1 else 'its whole'} {self.args.max_minutes:g}-minute "
                        "budget, so later rows used fewer and shorter rounds (see rounds/reps in results.json)")
                self.notes.append(note)
                log("[pace] " + note)

    def contention_probe(self, when: str, reps: int = 3) -> None:
        """A small GEMM (6x25088 @ 25088x75, conv1's weight gradient at batch 32) with 1 and 2 BLAS threads.

        On an idle machine 2 threads take at most about as long as 1; when other processes
        keep the cores busy, the threads wait for each other at every synchronisation and
        the 2-thread call becomes many times slower: the sign that this run's 2-thread
        timings (of both frameworks) are inflated by the machine, not by the code.
        """
        rng = np.random.default_rng(4)
        a = rng.standard_normal((6, 25088), dtype=np.float32)
        b = rng.standard_normal((25088, 75), dtype=np.float32)
        out: dict[str, Any] = {"loadavg": list(os.getloadavg())}
        many = max(2, self.args.threads)  # a machine check: 1 against 2+ threads even for a --threads 1 run
        for threads in (1, many):
            with threadpool_limits(threads, user_api="blas"):
                a @ b
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    a @ b
                    times.append(time.perf_counter() - t0)
            out[f"ms_{threads}_threads"] = statistics.median(times) * 1e3
        out["threads"] = many
        out["slowdown"] = out[f"ms_{many}_threads"] / out["ms_1_threads"]
        # the start's load average is the other processes' (this one has barely begun); at the end it includes ours
        busy = when == "start" and out["loadavg"][0] > (os.cpu_count() or 1) + 0.5
        out["contended"] = out["slowdown"] > 2.0 or busy
        self.contention[when] = out
        log(f"[contention {when}] small GEMM: {out['ms_1_threads']:.2f} ms with 1 thread, "
            f"{out[f'ms_{many}_threads']:.2f} ms with {many} "
            f"({out['slowdown']:.1f}x); load average {out['loadavg'][0]:.2f}"
            + (" -> OVERSUBSCRIBED" if out["contended"] else ""))

    # ------------------------------------------------------------ selection
    def wanted(self, row_id: str) -> bool:
        if not self.patterns:
            return True
        return any(fnmatch.fnmatch(row_id, p) or fnmatch.fnmatch(row_id, p.rstrip("/") + "/*") for p in self.patterns)

    def _blocks(self, mt_fn: Callable[[], Any], th_fn: Callable[[], Any] | None) -> dict:
        blocks = {"minitorch": _loop(mt_fn)}
        if th_fn is not None:
            blocks["torch"] = _loop(th_fn)
        return blocks

    # ---------------------------------------------------------------- gemm
    def bench_gemm(self) -> None:
        n = GEMM_N
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        blocks = {"numpy": _loop(lambda: np.matmul(a, b, out=c))}
        if self.torch is not None:
            ta, tb, tc = self.torch.from_numpy(a), self.torch.from_numpy(b), self.torch.from_numpy(c.copy())
            blocks["torch"] = _loop(lambda: self.torch.mm(ta, tb, out=tc))
        one = _loop(lambda: np.matmul(a, b, out=c))

        def numpy_1thread(k: int) -> None:
            with threadpool_limits(1, user_api="blas"):
                one(k)

        blocks["numpy_1thread"] = numpy_1thread
        res = run_interleaved(blocks, self.plan.gemm_block_s, self.plan.gemm_rounds, 30.0, self.plan)
        flop = 2.0 * n ** 3
        self.gemm = {"n": n, "flop": flop}
        for name, r in res.items():
            st = r["time"]
            self.gemm[name] = {"ms": st, "gflops": flop / (st["median"] * 1e-3) / 1e9}
        msg = (f"[gemm] NumPy sgemm {n}^3: {self.gemm['numpy']['gflops']:.1f} GFLOP/s "
               f"({self.gemm['numpy_1thread']['gflops']:.1f} with 1 thread)")
        if "torch" in self.gemm:
            msg += f", torch.mm: {self.gemm['torch']['gflops']:.1f} GFLOP/s"
        log(msg)

    # --------------------------------------------------------------- train
    def bench_train(self, net: str, batch: int) -> None:
        row_id = f"train/{net}/b{batch}"
        mt_step, mt_model = minitorch_train_step(net, batch)
        th_step = None
        if self.torch is not None:
            th_step, _ = torch_train_step(net, batch, mt_model)
            # parity: both start from the same weights, so the first losses agree
            self.parity[row_id] = abs(float(mt_step().item()) - float(th_step().item()))
        res = run_interleaved(self._blocks(mt_step, th_step), self.plan.train_block_s, self.plan.train_rounds,
                              self.plan.train_budget_s, self.plan)
        target = {"on": "ratio", "op": "<=", "value": TRAIN_TARGETS[batch][net]}
        row = make_row(row_id, f"{NET_TITLES[net]} train step, batch {batch}", "ms", res["minitorch"]["time"],
                       res.get("torch", {}).get("time"), target)
        self._add(row)

    # ---------------------------------------------------------------- eval
    def bench_eval(self) -> None:
        import minitorch as mt

        row_id = f"eval/coolnet/b{EVAL_BATCH}"
        rng = np.random.default_rng(2)
        images = rng.standard_normal((EVAL_IMAGES, 3, 32, 32), dtype=np.float32)
        model = minitorch_net("coolnet")
        mt_step, _ = minitorch_train_step("coolnet", 32, model)
        for _ in range(3):  # non-trivial BN running statistics, copied to torch below
            mt_step()
        model.eval()
        mt_batches = [mt.tensor(images[i:i + EVAL_BATCH]) for i in range(0, EVAL_IMAGES, EVAL_BATCH)]

        def mt_pass() -> None:
            with mt.no_grad():
                for xb in mt_batches:
                    model(xb)

        th_pass = None
        if self.torch is not None:
            torch = self.torch
            tmodel = torch_net_like("coolnet", model).eval()
            th_batches = [torch.from_numpy(images[i:i + EVAL_BATCH]) for i in range(0, EVAL_IMAGES, EVAL_BATCH)]

            def th_pass() -> None:
                with torch.no_grad():
                    for xb in th_batches:
                        tmodel(xb)

            with mt.no_grad(), torch.no_grad():
                diff = np.abs(model(mt_batches[0]).numpy() - tmodel(th_batches[0]).numpy()).max()
            self.parity[row_id] = float(diff)
        res = run_interleaved(self._blocks(mt_pass, th_pass), 0.0, self.plan.eval_rounds, self.plan.eval_budget_s,
                              Plan(warmup_s=0.0, warmup_min=1))
        mt_st, th_st = res["minitorch"]["time"], res.get("torch", {}).get("time")
        extra = {"images": EVAL_IMAGES, "throughput_img_s": {
            "minitorch": EVAL_IMAGES / (mt_st["median"] * 1e-3),
            "torch": None if th_st is None else EVAL_IMAGES / (th_st["median"] * 1e-3)}}
        row = make_row(row_id, f"CoolNet eval, {EVAL_IMAGES:,} images at batch {EVAL_BATCH}", "ms", mt_st, th_st,
                       {"on": "ratio", "op": "<=", "value": EVAL_TARGET, "text": "throughput ≥ PyTorch"}, **extra)
        self._add(row)

    # -------------------------------------------------------------- layers
    def bench_layers(self, batch: int) -> None:
        import minitorch as mt

        net = "coolnet"
        model = minitorch_net(net)
        names = layer_names(net)
        xn, _ = make_batch(batch)
        inputs = []
        with mt.no_grad():
            h = mt.tensor(xn)
            for layer in model:
                inputs.append(h.numpy())
                h = layer(h)
        tmodel = torch_net_like(net, model) if self.torch is not None else None
        rng = np.random.default_rng(3)
        for i, layer in enumerate(model):
            x_np = inputs[i]
            needs_input_grad = i > 0  # the network's input needs no gradient in training either
            with mt.no_grad():
                out_shape = layer(mt.tensor(x_np)).shape
            g_np = rng.standard_normal(out_shape, dtype=np.float32)
            x_mt = mt.tensor(x_np, requires_grad=needs_input_grad)
            blocks = {"minitorch": _layer_block(layer, x_mt, g_np)}
            if tmodel is not None:
                torch = self.torch
                tlayer = tmodel[i]
                x_th = torch.from_numpy(x_np.copy()).requires_grad_(needs_input_grad)
                blocks["torch"] = _layer_block(tlayer, x_th, torch.from_numpy(g_np))
            res = run_interleaved(blocks, self.plan.layer_block_s, self.plan.layer_rounds, self.plan.layer_budget_s,
                                  self.plan)
            flops = layer_flops(layer, x_np.shape, needs_input_grad)
            entry = {"id": f"layers/{net}/b{batch}", "batch": batch, "index": i, "name": names[i],
                     "input_shape": list(x_np.shape), "output_shape": list(out_shape),
                     "minitorch": res["minitorch"], "torch": res.get("torch"),
                     "flops": None if flops is None else {"fwd": flops[0], "bwd": flops[1]}}
            self.layers.append(entry)
            m = res["minitorch"]
            msg = f"[layers b{batch}] {names[i]:<22} minitorch fwd {m['fwd']['median']:.3f} bwd {m['bwd']['median']:.3f} ms"
            if "torch" in res:
                t = res["torch"]
                msg += f" | torch fwd {t['fwd']['median']:.3f} bwd {t['bwd']['median']:.3f} ms"
            log(msg)

    # -------------------------------------------------------- subprocesses
    def _env(self, **updates: str | None) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        for key, value in updates.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def _run(self, cmd: list[str], env: dict, timeout: float = 300) -> str:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return proc.stdout.strip().splitlines()[-1]

    def _probe(self, *probe_args: str, env: dict) -> dict:
        cmd = [sys.executable, "-m", "benchmarks._probe", *probe_args, "--threads", str(self.args.threads)]
        return json.loads(self._run(cmd, env))

    def bench_memory(self) -> None:
        env = self._env(MALLOC_MMAP_THRESHOLD_="131072")
        frameworks = ["minitorch"] + (["torch"] if self.torch is not None else [])
        runs: dict[str, list[dict]] = {f: [] for f in frameworks}
        for r in range(self.plan.mem_runs):
            for fw in frameworks if r % 2 == 0 else frameworks[::-1]:
                runs[fw].append(self._probe("memory", "--framework", fw, "--net", "coolnet", "--batch",
                                            str(MEM_BATCH), env=env))
        stats = {}
        for fw, rs in runs.items():
            deltas = [x["step_peak_delta_kib"] / 1024 for x in rs]
            stats[fw] = {"median": statistics.median(deltas), "q1": min(deltas), "q3": max(deltas),
                         "rounds": len(deltas), "reps": 1, "samples": deltas,
                         "process_peak_mib": statistics.median(x["hwm_kib"] / 1024 for x in rs),
                         "baseline_rss_mib": statistics.median(x["rss_baseline_kib"] / 1024 for x in rs),
                         "peak_reset": all(x["peak_reset"] for x in rs)}
        row = make_row(f"memory/coolnet/b{MEM_BATCH}", f"CoolNet train step peak memory, batch {MEM_BATCH}", "MiB",
                       stats["minitorch"], stats.get("torch"), {"on": "ratio", "op": "<=", "value": MEMORY_TARGET},
                       probes=runs)
        self._add(row)

    def bench_startup(self) -> None:
        import_code = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"
        tmp = Path(tempfile.mkdtemp(prefix="minitorch-bench-"))
        try:
            # cached bytecode (the normal case) in a private prefix, so nothing is written into the repository
            cached = self._env(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
            as_is = self._env()
            want_import, want_first = self.wanted("startup/import"), self.wanted("startup/first-step")
            # warm-up process: compiles the bytecode into the prefix and makes sure numba's cache is filled
            self._probe("firststep", "--net", "coolnet", "--batch", "4", env=cached)
            if want_import:
                cmd = [sys.executable, "-c", import_code.format(mod="minitorch")]
                imports = [float(self._run(cmd, cached)) for _ in range(self.plan.import_runs)]
                imports_as_is = [float(self._run(cmd, as_is)) for _ in range(max(1, self.plan.import_runs // 2))]
                torch_imports = None
                if self.torch is not None:
                    tcmd = [sys.executable, "-c", import_code.format(mod="torch")]
                    torch_imports = [float(self._run(tcmd, as_is)) for _ in range(self.plan.torch_import_runs)]
                mt_st = summarize(imports, 1)
                th_st = None if torch_imports is None else summarize(torch_imports, 1)
                row = make_row("startup/import", "cold `import minitorch` (fresh process)", "ms", mt_st, th_st,
                               {"on": "minitorch", "op": "<", "value": IMPORT_TARGET_MS},
                               no_ratio=True, as_is_env=summarize(imports_as_is, 1),
                               python_dont_write_bytecode=os.environ.get("PYTHONDONTWRITEBYTECODE"))
                self._add(row)
            if want_first:
                probes = [self._probe("firststep", "--net", "coolnet", "--batch", "4", env=cached)
                          for _ in range(self.plan.first_step_runs)]
                st = summarize([p["first_step_s"] for p in probes], 1)
                row = make_row("startup/first-step", "first CoolNet train step (b4) of a new process", "ms", st, None,
                               {"on": "minitorch", "op": "<", "value": FIRST_STEP_TARGET_MS}, no_ratio=True,
                               probes=probes)
                self._add(row)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------- util
    def _add(self, row: dict) -> None:
        self.rows.append(row)
        log("[" + row["id"] + "] " + _row_summary(row))


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _cell(st: dict | None) -> str:
    if st is None:
        return "—"
    spread = (st["q3"] - st["q1"]) / 2 / st["median"] * 100 if st["median"] else 0.0
    return f"{_fmt(st['median'])} (±{spread:.0f}%)"


def _target_text(row: dict) -> str:
    t = row["target"]
    if t is None:
        return "—"
    if "text" in t:
        return t["text"]
    if t["on"] == "ratio":
        return f"≤ {t['value']:g}×"
    return f"< {t['value']:g} {row['unit']}"


def _met_text(row: dict) -> str:
    return {True: "yes", False: "**no**", None: "—"}[row["met"]]


def _row_summary(row: dict) -> str:
    ratio = "" if row["ratio"] is None or row.get("no_ratio") else f" ratio {row['ratio']:.2f}"
    return (f"minitorch {_cell(row['minitorch'])} {row['unit']} | torch {_cell(row['torch'])} {row['unit']}"
            f"{ratio} | target {_target_text(row)} met {_met_text(row)}")


# ---------------------------------------------------------------- environment
def environment(bench: Bench, threads: int) -> dict:
    import numba
    import threadpoolctl

    import minitorch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    blas = [{k: info.get(k) for k in ("user_api", "internal_api", "version", "architecture", "num_threads",
                                        "threading_layer", "prefix")}
            for info in threadpoolctl.threadpool_info()]
    env = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "minitorch": minitorch.__version__,
        "torch": None,
        "threads": threads,
        "blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "loadavg_start": list(os.getloadavg()),
        "git": _git_state(),
    }
    if bench.torch is not None:
        torch = bench.torch
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["torch_backends"] = {"mkl": torch.backends.mkl.is_available(), "mkldnn": torch.backends.mkldnn.is_available()}
    return env


def _git_state() -> dict:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "minitorch").splitlines() if ln.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "minitorch_changes": dirty}


# ------------------------------------------------------------------ reporting
def summary_table(rows: list[dict]) -> str:
    lines = ["| row | minitorch | PyTorch | ratio mt/pt | target | met |", "| --- | ---: | ---: | ---: | :---: | :---: |"]
    for row in rows:
        ratio = "—" if row["ratio"] is None or row.get("no_ratio") else f"{row['ratio']:.2f}"
        lines.append(f"| {row['label']} [{row['unit']}] | {_cell(row['minitorch'])} | {_cell(row['torch'])} | "
                     f"{ratio} | {_target_text(row)} | {_met_text(row)} |")
    return "\n".join(lines)


def layer_tables(layers: list[dict], rows: list[dict]) -> str:
    out = []
    for batch in sorted({e["batch"] for e in layers}):
        es = [e for e in layers if e["batch"] == batch]
        has_torch = any(e["torch"] for e in es)
        out.append(f"\n### CoolNet, batch {batch}\n")
        out.append("| layer | mt fwd | pt fwd | fwd ratio | mt bwd | pt bwd | bwd ratio | mt − pt (fwd+bwd) |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        tot = {"mf": 0.0, "pf": 0.0, "mb": 0.0, "pb": 0.0}
        for e in es:
            mf, mb = e["minitorch"]["fwd"]["median"], e["minitorch"]["bwd"]["median"]
            pf = e["torch"]["fwd"]["median"] if has_torch else None
            pb = e["torch"]["bwd"]["median"] if has_torch else None
            tot["mf"] += mf
            tot["mb"] += mb
            if has_torch:
                tot["pf"] += pf
                tot["pb"] += pb
            out.append(f"| {e['name']} | {_fmt(mf)} | {_fmt(pf)} | {_ratio(mf, pf)} | {_fmt(mb)} | {_fmt(pb)} | "
                       f"{_ratio(mb, pb)} | {_fmt(None if pf is None else mf + mb - pf - pb)} |")
        pf, pb = (tot["pf"], tot["pb"]) if has_torch else (None, None)
        out.append(f"| **sum of layers** | {_fmt(tot['mf'])} | {_fmt(pf)} | {_ratio(tot['mf'], pf)} | "
                   f"{_fmt(tot['mb'])} | {_fmt(pb)} | {_ratio(tot['mb'], pb)} | "
                   f"{_fmt(None if pf is None else tot['mf'] + tot['mb'] - pf - pb)} |")
        step = next((r for r in rows if r["id"] == f"train/coolnet/b{batch}"), None)
        if step is not None:
            ms = step["minitorch"]["median"]
            ps = step["torch"]["median"] if step["torch"] else None
            out.append(f"| whole train step (row above) | {_fmt(ms)} | {_fmt(ps)} | {_ratio(ms, ps)} | | | | |")
    return "\n".join(out)


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def gflops_table(layers: list[dict], gemm: dict | None) -> str:
    peak = gemm["numpy"]["gflops"] if gemm else None
    lines = ["| layer | batch | GFLOP fwd+bwd | minitorch GFLOP/s | % of NumPy sgemm | PyTorch GFLOP/s | % of NumPy sgemm |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in layers:
        if e["flops"] is None:
            continue
        flop = e["flops"]["fwd"] + e["flops"]["bwd"]
        cells = []
        for fw in ("minitorch", "torch"):
            r = e[fw]
            if r is None:
                cells += ["—", "—"]
                continue
            g = flop / ((r["fwd"]["median"] + r["bwd"]["median"]) * 1e-3) / 1e9
            e.setdefault("gflops", {})[fw] = g
            cells += [f"{g:.2f}", "—" if peak is None else f"{100 * g / peak:.1f}%"]
        lines.append(f"| {e['name']} | {e['batch']} | {flop / 1e9:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def losses(layers: list[dict], top: int = 6) -> list[str]:
    """The layer passes where minitorch spends the most time beyond PyTorch."""
    items = []
    for e in layers:
        if not e["torch"]:
            continue
        for phase in ("fwd", "bwd"):
            m, p = e["minitorch"][phase]["median"], e["torch"][phase]["median"]
            items.append((m - p, m, p, e["batch"], e["name"], phase))
    items.sort(reverse=True)
    out = []
    for excess, m, p, batch, name, phase in items[:top]:
        out.append(f"- batch {batch}, {name} {'forward' if phase == 'fwd' else 'backward'}: "
                   f"{_fmt(m)} ms vs {_fmt(p)} ms (+{_fmt(excess)} ms, {m / p:.1f}×)")
    return out


def markdown(res: dict) -> str:
    env, rows = res["environment"], res["rows"]
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['user_api']}, kernel {b['architecture']}, "
                     f"{b['num_threads']} threads, {b['prefix']})" for b in env["blas"])
    git = env["git"]
    changed = f", {len(git['minitorch_changes'])} uncommitted change(s) under minitorch/" if git["minitorch_changes"] else ""
    parts = [
        "# minitorch vs PyTorch: benchmarks",
        "",
        f"Generated by `{res['command']}` on {env['date']} in {res['runtime_s'] / 60:.1f} min "
        f"(minitorch at git {git['commit']}{changed}). "
        + ("**Quick smoke run: few repeats, not representative.** " if res["quick"] else "")
        + "Rerun the command to refresh this file; do not edit it by hand.",
        "",
        *contention_banner(res),
        "## Machine and settings",
        "",
        f"- CPU: {env['cpu']}, {env['logical_cores']} logical cores; load average "
        f"{' / '.join(f'{x:.2f}' for x in env['loadavg_start'])} at the start, "
        f"{' / '.join(f'{x:.2f}' for x in env['loadavg_end'])} at the end (1/5/15 min)",
        f"- Python {env['python']}, NumPy {env['numpy']}, numba {env['numba']}, "
        f"PyTorch {env['torch'] or 'not installed'}, threadpoolctl {env['threadpoolctl']}; {env['platform']}",
        f"- Threads: {env['threads']} for both (`threadpool_limits({env['threads']})` around the whole run"
        + (f", `torch.set_num_threads({env['threads']})`" if env["torch"] else "") + ")",
        f"- BLAS (threadpoolctl): {blas}; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or 'unset'}"
        + (f"; PyTorch: MKL {env['torch_backends']['mkl']}, oneDNN {env['torch_backends']['mkldnn']}"
           if env["torch"] else ""),
    ]
    if res["gemm"]:
        g = res["gemm"]
        parts.append(f"- Machine limit: NumPy float32 {g['n']}³ matmul: **{g['numpy']['gflops']:.1f} GFLOP/s** with "
                     f"{env['threads']} threads ({g['numpy_1thread']['gflops']:.1f} with 1"
                     + (f"; torch.mm: {g['torch']['gflops']:.1f}" if "torch" in g else "") + ")")
    parts += [
        "",
        "## Summary",
        "",
        "Times are medians over interleaved rounds, ± half the interquartile range; ratio = median minitorch / "
        "median PyTorch (below 1: minitorch is faster).",
        "",
        summary_table(rows),
        "",
    ]
    if res["parity"]:
        worst = max(res["parity"].values())
        parts += [f"Parity check: both frameworks start from the same weights; the largest first-step loss (or eval "
                  f"logit) difference over all rows is {worst:.2e}.", ""]
    if res["layers"]:
        parts += [
            "## Per-layer forward and backward (ms)",
            "",
            "Each layer alone under its framework's autograd: its recorded input from a CoolNet forward (requiring a "
            "gradient except for the first layer, as in training), forward timed, then `backward` of a fixed random "
            "upstream gradient timed; gradients cleared between calls, outside the timers. BatchNorm runs in training "
            "mode. The sum of the layers leaves out the loss, the optimizer step and the graph walk across layers.",
            layer_tables(res["layers"], rows),
            "",
            "## Achieved GFLOP/s of the Conv2d and Linear layers",
            "",
            "Analytic FLOPs (2 per multiply-add): forward, plus backward = weight gradient + input gradient (no input "
            "gradient for the first layer); divided by the median forward+backward time above.",
            "",
            gflops_table(res["layers"], res["gemm"]),
            "",
        ]
        worst = losses(res["layers"])
        if worst:
            parts += ["## Where minitorch loses most", "", "Layer passes with the largest time beyond PyTorch's:", "",
                      *worst, ""]
    parts += ["## Method", "", *[f"- {m}" for m in METHOD], *[f"- Note: {n}." for n in res["notes"]], ""]
    return "\n".join(parts)


def contention_banner(res: dict) -> list[str]:
    """A warning when the machine was oversubscribed (see ``Bench.contention_probe``), else one plain line."""
    probes = res.get("contention") or {}
    if not probes:
        return []
    desc = "; ".join(
        f"at the {when}: load average {p['loadavg'][0]:.2f}, a small GEMM took {p['ms_1_threads']:.1f} ms with 1 "
        f"thread and {p['slowdown']:.1f}× that with {p['threads']}"
        for when, p in probes.items()
    )
    if any(p["contended"] for p in probes.values()):
        return [f"> **Warning: the machine was oversubscribed during this run** ({desc}). Other processes kept the "
                "cores busy, so multi-threaded BLAS/OpenMP calls of both frameworks waited on each other at every "
                "synchronisation: the 2-thread timings of both frameworks are inflated, by up to the slowdown above "
                "and unevenly between rows and frameworks. Rerun on a quiet machine before trusting ratios "
                "(on a busy one, `--threads 1` avoids the thread synchronisation and gives steadier ratios).", ""]
    return [f"Contention check: {desc} (no oversubscription detected).", ""]


METHOD = [
    "One process runs both frameworks. Networks are defined in `benchmarks/models.py` for both; PyTorch's copy is "
    "loaded from the minitorch `state_dict` (weights and BatchNorm buffers), inputs are random normal "
    "(N, 3, 32, 32) float32 images with random int64 labels in [0, 10).",
    "Training step: forward, `cross_entropy`, `zero_grad`, `backward`, SGD (lr 0.01, momentum 0.9), float32, "
    "the same batch every step.",
    "Each callable is warmed up (≥ 0.3 s and ≥ 2 calls), then timed in alternating rounds (minitorch, PyTorch; "
    "PyTorch, minitorch; ...), one block of k calls per framework per round, k chosen so a block lasts about "
    "0.25 s (training), 0.06 s (layers); a 50 ms pause (so the other framework's spinning worker threads go to sleep) and `gc.collect()` precede each block, outside the timer. One sample = "
    "block time / k.",
    "Eval: 10 batches of 1000 images in eval mode under `no_grad`, one pass per sample.",
    "Peak memory: a fresh subprocess per framework (`python -m benchmarks._probe memory`): build the model, "
    "optimizer and batch, run one warm-up step, read VmRSS, reset the peak (VmHWM) by writing 5 to "
    "`/proc/self/clear_refs`, run 3 steps and read VmHWM; the row is VmHWM − that baseline: what a step adds at "
    "its peak (activations, saved tensors, gradients, temporaries). `MALLOC_MMAP_THRESHOLD_=131072` is set for "
    "both, so large blocks are returned to the OS on free and the peak is not hidden by heap reuse; the process's "
    "absolute peak RSS is in `results.json`.",
    "Cold import: `import minitorch` timed inside a fresh `python -c` process (interpreter start excluded), with "
    "bytecode cached in a private `PYTHONPYCACHEPREFIX` after one warm-up process (the normal installed case); "
    "`results.json` also has the figure for the inherited environment. The PyTorch column is `import torch`, "
    "for reference only.",
    "First step: a fresh process (`python -m benchmarks._probe firststep`) imports minitorch, builds CoolNet and "
    "times its first batch-4 training step; numba's on-disk cache is filled by one warm-up process first.",
    "GFLOP/s reference: `np.matmul` of two 1024×1024 float32 matrices into a preallocated output, same threads.",
    "Contention check, at the start and the end: a small GEMM (6×25088 by 25088×75) with 1 and 2 BLAS threads; "
    "more than 2× slower with 2 threads, or a load average above the core count before the run starts, marks "
    "the run as oversubscribed (the warning at the top).",
    "The machine is shared and noisy (±30% is common): compare ratios rather than absolute times, and look at "
    "the load average above.",
]


# ------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: few repeats; writes to a temp dir unless --out")
    p.add_argument("--rows", default="", help="comma-separated glob patterns of row ids (see --list), e.g. "
                                              "'train/*/b4,eval' or 'layers/coolnet/b32'")
    p.add_argument("--list", action="store_true", help="print the row ids and exit")
    p.add_argument("--out", default=None, help="directory for BENCHMARKS.md and results.json "
                                               "(default: repo root and benchmarks/)")
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads for both (default 2)")
    p.add_argument("--no-torch", action="store_true", help="time minitorch alone")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="soft time budget: past half of it the remaining rows get fewer rounds "
                        "(default 8, quick: none; 0 disables)")
    return p.parse_args(argv)


def all_row_ids() -> list[str]:
    ids = ["gemm/sgemm1024"]
    ids += [f"train/{n}/b{b}" for b in BATCHES for n in NETS]
    ids += [f"eval/coolnet/b{EVAL_BATCH}"]
    ids += [f"layers/coolnet/b{b}" for b in LAYER_BATCHES]
    ids += [f"memory/coolnet/b{MEM_BATCH}", "startup/import", "startup/first-step"]
    return ids


GPU_TABLE = REPO / "benchmarks" / "gpu_results" / "table.md"


def gpu_section() -> str:
    """The last GPU check's table (``benchmarks/gpu_check.sh`` on a GPU machine), kept beside the CPU results."""
    if not GPU_TABLE.exists():
        return ""
    return (
        "\n\n## GPU\n\nFrom the last `bash benchmarks/gpu_check.sh` on a GPU machine "
        f"(copied into `{GPU_TABLE.relative_to(REPO)}` with its log; this CPU run did not measure it).\n\n"
        + GPU_TABLE.read_text().strip().replace("### ", "#### ", 1)
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.max_minutes is None:
        args.max_minutes = 0.0 if args.quick else 8.0
    if args.list:
        print("\n".join(all_row_ids()))
        return {}
    import minitorch  # noqa: F401  (loaded before threadpool_limits so that its BLAS is limited)

    plan = Plan.quick() if args.quick else Plan()
    t_start = time.perf_counter()
    bench = Bench(args, plan)
    command = " ".join(["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)])
    with threadpool_limits(args.threads):
        env = environment(bench, args.threads)
        log(f"[env] {env['cpu']}, {env['logical_cores']} cores, threads {args.threads}, "
            f"BLAS {[b['internal_api'] + '/' + str(b['architecture']) for b in env['blas']]}, "
            f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, torch {env['torch']}")
        bench.contention_probe("start")
        layers_wanted = [b for b in LAYER_BATCHES if bench.wanted(f"layers/coolnet/b{b}")]
        if bench.wanted("gemm/sgemm1024") or layers_wanted:
            bench.bench_gemm()
        for batch in BATCHES:
            for net in NETS:
                if bench.wanted(f"train/{net}/b{batch}"):
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
        bench.contention_probe("end")
        env["loadavg_end"] = list(os.getloadavg())
    res = {
        "command": command,
        "quick": args.quick,
        "runtime_s": time.perf_counter() - t_start,
        "environment": env,
        "targets": {"train": TRAIN_TARGETS, "eval_time_ratio": EVAL_TARGET, "memory_ratio": MEMORY_TARGET,
                    "import_ms": IMPORT_TARGET_MS, "first_step_ms": FIRST_STEP_TARGET_MS},
        "rows": bench.rows,
        "layers": bench.layers,
        "gemm": bench.gemm,
        "parity": bench.parity,
        "contention": bench.contention,
        "notes": bench.notes,
    }
    md = markdown(res) + gpu_section()  # markdown() also fills layers[*]["gflops"]
    if args.out:
        out_dir = Path(args.out)
        md_path, json_path = out_dir / "BENCHMARKS.md", out_dir / "results.json"
    elif args.quick:
        out_dir = Path(tempfile.gettempdir()) / "minitorch-bench-quick"
        md_path, json_path = out_dir / "BENCHMARKS.md", out_dir / "results.json"
    else:
        md_path, json_path = REPO / "BENCHMARKS.md", REPO / "benchmarks" / "results.json"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(md + "\n")
    json_path.write_text(json.dumps(res, indent=1, default=float) + "\n")
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
