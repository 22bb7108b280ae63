"""The measurements: every row of the CPU benchmark, each timed the same way for both frameworks.

A row times minitorch and, when PyTorch is installed, its twin on identical networks,
weights, batches and thread counts (see ``benchmarks/models.py``), with the interleaved
harness of ``benchmarks/timing.py``.  ``Bench`` collects the rows; ``run.py`` decides
which to run and writes the report.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks import epochs
from benchmarks.machine import REPO
from benchmarks.models import (
    NET_TITLES,
    NETS,
    capture_parity,
    layer_flops,
    layer_names,
    make_batch,
    minitorch_net,
    minitorch_train_step,
    torch_net_like,
    torch_train_step,
)
from benchmarks.render import layer_gflops, row_summary
from benchmarks.timing import Block, log, loop, run_interleaved, summarize

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
# a step through minitorch.capture against PyTorch eager, over distinct batches at hw5's learning rate
CAPTURED_TARGETS = {
    4: {"lazynet": 0.2, "boringnet": 0.3, "coolnet": 0.2},
    32: {"lazynet": 0.5, "boringnet": 0.5, "coolnet": 0.5},
    256: {"lazynet": 0.8, "boringnet": 0.8, "coolnet": 0.8},
}
EVAL_TARGET = 0.5          # time ratio: minitorch takes at most half PyTorch's time
MEMORY_TARGET = 1.5        # peak-memory ratio
IMPORT_TARGET_MS = 500.0
# Rows that a plain run leaves out (they take minutes): --with-epochs, or --rows epoch, runs them.
OPT_IN = ("epoch/",)
EPOCH_ROWS = {"alone": 1, "two": 2}   # epoch/fig1d/<key>: how many processes run side by side
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
    epoch_rounds: int = 2
    epoch_train_size: int | None = None   # None: the whole 50,000 images (see benchmarks/epochs.py)
    epoch_test_size: int | None = None

    def hurried(self, rounds: int) -> Plan:
        """Fewer and shorter rounds, for when the run is falling behind its time budget."""
        return replace(
            self, train_block_s=self.train_block_s / 2, train_rounds=min(self.train_rounds, rounds),
            train_budget_s=self.train_budget_s / 2, layer_block_s=self.layer_block_s / 2,
            layer_rounds=min(self.layer_rounds, rounds), layer_budget_s=self.layer_budget_s / 2,
            eval_rounds=min(self.eval_rounds, 3), eval_budget_s=self.eval_budget_s / 2, warmup_s=self.warmup_s / 2,
        )

    @classmethod
    def quick(cls) -> Plan:
        """A smoke run: few and short rounds, not representative."""
        return cls(
            train_block_s=0.03, train_rounds=3, train_budget_s=3.0,
            layer_block_s=0.01, layer_rounds=3, layer_budget_s=0.5,
            eval_rounds=2, eval_budget_s=10.0, gemm_block_s=0.05, gemm_rounds=3,
            warmup_s=0.05, warmup_min=2, settle_s=0.01,
            mem_runs=1, import_runs=2, first_step_runs=1, torch_import_runs=1,
            epoch_rounds=1, epoch_train_size=400, epoch_test_size=200,
        )


def layer_block(layer: Any, x: Any, g: Any) -> Callable[[int], dict]:
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


def make_row(
    row_id: str, label: str, unit: str, mt: dict | None, th: dict | None, target: dict | None, **extra: Any
) -> dict:
    """A row of the report: both frameworks' summaries, their ratio, and whether the target is met."""
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
    """The rows measured so far, and what every row needs: the repeat counts, the threads, PyTorch (or None).

    ``rows``: comma-separated glob patterns of the row ids to run (empty: all but the opt-in groups,
    ``OPT_IN``); ``with_opt_in``: the opt-in groups too; ``max_minutes``: the soft time budget of
    :meth:`pace` (0: none).
    """

    def __init__(self, plan: Plan, threads: int, torch: Any = None, rows: str = "", max_minutes: float = 0.0,
                 with_opt_in: bool = False) -> None:
        self.plan, self.threads, self.torch, self.max_minutes = plan, threads, torch, max_minutes
        self.patterns = [p.strip() for p in rows.split(",") if p.strip()]
        self.with_opt_in = with_opt_in
        self.rows: list[dict] = []
        self.layers: list[dict] = []
        self.gemm: dict | None = None
        self.parity: dict[str, float] = {}
        self.notes: list[str] = []
        self.t0 = time.perf_counter()
        self.hurried = 0

    def pace(self) -> None:
        """Past half the time budget, and again past all of it: fewer, shorter rounds for the remaining rows."""
        budget = self.max_minutes * 60
        elapsed = time.perf_counter() - self.t0
        for level, fraction, rounds in ((1, 0.5, 5), (2, 1.0, 3)):
            if budget > 0 and self.hurried < level and elapsed > budget * fraction:
                self.hurried = level
                self.plan = self.plan.hurried(rounds)
                note = (f"the run passed {'half its' if level == 1 else 'its whole'} {self.max_minutes:g}-minute "
                        "budget, so later rows used fewer and shorter rounds (see rounds/reps in results.json)")
                self.notes.append(note)
                log("[pace] " + note)

    # ------------------------------------------------------------ selection
    def wanted(self, row_id: str) -> bool:
        """Whether ``row_id`` matches a pattern (a pattern also selects the rows under it: ``eval``); without
        patterns, every row but the opt-in ones (unless ``with_opt_in``)."""
        if self.with_opt_in and row_id.startswith(OPT_IN):
            return True
        if not self.patterns:
            return not row_id.startswith(OPT_IN)
        return any(fnmatch.fnmatch(row_id, p) or fnmatch.fnmatch(row_id, p.rstrip("/") + "/*") for p in self.patterns)

    def _time(self, blocks: Mapping[str, Block], block_s: float, rounds: int, budget_s: float) -> dict:
        """``run_interleaved`` with this run's warm-up and pause."""
        return run_interleaved(blocks, block_s, rounds, budget_s, warmup_s=self.plan.warmup_s,
                               warmup_min=self.plan.warmup_min, settle_s=self.plan.settle_s)

    def _blocks(self, mt_fn: Callable[[], Any], th_fn: Callable[[], Any] | None) -> dict[str, Block]:
        blocks: dict[str, Block] = {"minitorch": loop(mt_fn)}
        if th_fn is not None:
            blocks["torch"] = loop(th_fn)
        return blocks

    # ---------------------------------------------------------------- gemm
    def bench_gemm(self) -> None:
        n = GEMM_N
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        blocks: dict[str, Block] = {"numpy": loop(lambda: np.matmul(a, b, out=c))}
        if self.torch is not None:
            ta, tb, tc = self.torch.from_numpy(a), self.torch.from_numpy(b), self.torch.from_numpy(c.copy())
            blocks["torch"] = loop(lambda: self.torch.mm(ta, tb, out=tc))
        one = loop(lambda: np.matmul(a, b, out=c))

        def numpy_1thread(k: int) -> None:
            with threadpool_limits(1, user_api="blas"):
                one(k)

        blocks["numpy_1thread"] = numpy_1thread
        res = self._time(blocks, self.plan.gemm_block_s, self.plan.gemm_rounds, 30.0)
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
        """``train/`` (eager) and ``captured/`` (through ``minitorch.capture``) rows, timed in one interleaving."""
        row_id, captured_id = f"train/{net}/b{batch}", f"captured/{net}/b{batch}"
        mt_step, mt_model = minitorch_train_step(net, batch)
        blocks = {"minitorch": loop(mt_step)}
        if self.wanted(captured_id):
            blocks["captured"] = loop(minitorch_train_step(net, batch, captured=True)[0])
        if self.torch is not None:
            th_step, _ = torch_train_step(net, batch, mt_model)
            # parity: both start from the same weights, so the first losses agree
            self.parity[row_id] = abs(float(mt_step().item()) - float(th_step().item()))
            blocks["torch"] = loop(th_step)
        res = self._time(blocks, self.plan.train_block_s, self.plan.train_rounds, self.plan.train_budget_s)
        torch_time = res.get("torch", {}).get("time")
        title = f"{NET_TITLES[net]} train step, batch {batch}"
        if self.wanted(row_id):
            target = {"on": "ratio", "op": "<=", "value": TRAIN_TARGETS[batch][net]}
            self._add(make_row(row_id, title, "ms", res["minitorch"]["time"], torch_time, target))
        if "captured" in res:
            goal = CAPTURED_TARGETS[batch].get(net)
            goal_row = None if goal is None else {"on": "ratio", "op": "<=", "value": goal}
            self._add(make_row(captured_id, title + ", captured", "ms", res["captured"]["time"], torch_time, goal_row,
                               eager=res["minitorch"]["time"],
                               vs_eager=res["captured"]["time"]["median"] / res["minitorch"]["time"]["median"],
                               capture_parity=capture_parity(net, batch)))

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
                              warmup_s=0.0, warmup_min=1)
        mt_st, th_st = res["minitorch"]["time"], res.get("torch", {}).get("time")
        extra = {"images": EVAL_IMAGES, "throughput_img_s": {
            "minitorch": EVAL_IMAGES / (mt_st["median"] * 1e-3),
            "torch": None if th_st is None else EVAL_IMAGES / (th_st["median"] * 1e-3)}}
        row = make_row(row_id, f"CoolNet eval, {EVAL_IMAGES:,} images at batch {EVAL_BATCH}", "ms", mt_st, th_st,
                       {"on": "ratio", "op": "<=", "value": EVAL_TARGET,
                        "text": f"≤ {EVAL_TARGET:g}× PyTorch's time"}, **extra)
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
            blocks: dict[str, Block] = {"minitorch": layer_block(layer, x_mt, g_np)}
            if tmodel is not None:
                torch = self.torch
                tlayer = tmodel[i]
                x_th = torch.from_numpy(x_np.copy()).requires_grad_(needs_input_grad)
                blocks["torch"] = layer_block(tlayer, x_th, torch.from_numpy(g_np))
            res = self._time(blocks, self.plan.layer_block_s, self.plan.layer_rounds, self.plan.layer_budget_s)
            flops = layer_flops(layer, x_np.shape, needs_input_grad)
            entry = {"id": f"layers/{net}/b{batch}", "batch": batch, "index": i, "name": names[i],
                     "input_shape": list(x_np.shape), "output_shape": list(out_shape),
                     "minitorch": res["minitorch"], "torch": res.get("torch"),
                     "flops": None if flops is None else {"fwd": flops[0], "bwd": flops[1]}}
            if flops is not None:  # for readers of results.json; the report computes it from the times
                entry["gflops"] = layer_gflops(entry)
            self.layers.append(entry)
            m = res["minitorch"]
            msg = (f"[layers b{batch}] {names[i]:<22} "
                   f"minitorch fwd {m['fwd']['median']:.3f} bwd {m['bwd']['median']:.3f} ms")
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
        cmd = [sys.executable, "-m", "benchmarks._probe", *probe_args, "--threads", str(self.threads)]
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

    # -------------------------------------------------------------- epochs
    def bench_epochs(self) -> None:
        """``epoch/fig1d/alone`` and ``epoch/fig1d/two``: a whole hw5 epoch against PyTorch's same loop.

        Rounds alternate the frameworks' order; each sample is one process's epoch time, scaled to the whole
        epoch when the plan shortens it (see ``benchmarks/epochs.py``).  Two at a time: both processes' times
        are samples.
        """
        plan = self.plan
        env = epochs.epoch_environment(dict(os.environ), REPO)
        frameworks = ["minitorch"] + (["torch"] if self.torch is not None else [])
        for key, copies in EPOCH_ROWS.items():
            row_id = f"epoch/{epochs.RUN}/{key}"
            if not self.wanted(row_id):
                continue
            runs: dict[str, list[dict]] = {fw: [] for fw in frameworks}
            for r in range(plan.epoch_rounds):
                for fw in frameworks if r % 2 == 0 else frameworks[::-1]:
                    runs[fw] += epochs.side_by_side(fw, copies, env, REPO, plan.epoch_train_size,
                                                    plan.epoch_test_size)
            stats = {fw: {**summarize([x["epoch_s"] for x in rs], 1, scale=1.0),
                          "train_s": statistics.median(x["full_train_s"] for x in rs),
                          "eval_s": statistics.median(x["full_eval_s"] for x in rs)} for fw, rs in runs.items()}
            first = runs["minitorch"][0]
            scaled = (f", scaled from {first['train_images']:,} training and {first['test_images']:,} test images"
                      if first["scaled"] else "")
            together = "alone" if copies == 1 else f"{copies} processes side by side"
            label = f"fig1d epoch (CoolNet b4 train + eval of 60,000), {together}, 1 thread each{scaled}"
            self._add(make_row(row_id, label, "s", stats["minitorch"], stats.get("torch"), None,
                               copies=copies, datasets=sorted({x["dataset"] for rs in runs.values() for x in rs}),
                               probes=runs))

    # ---------------------------------------------------------------- util
    def _add(self, row: dict) -> None:
        self.rows.append(row)
        log("[" + row["id"] + "] " + row_summary(row))



def all_row_ids() -> list[str]:
    """Every row id, in the order of a full run."""
    ids = ["gemm/sgemm1024"]
    ids += [f"{kind}/{n}/b{b}" for b in BATCHES for n in NETS for kind in ("train", "captured")]
    ids += [f"eval/coolnet/b{EVAL_BATCH}"]
    ids += [f"layers/coolnet/b{b}" for b in LAYER_BATCHES]
    ids += [f"memory/coolnet/b{MEM_BATCH}", "startup/import", "startup/first-step"]
    ids += [f"epoch/{epochs.RUN}/{key}" for key in EPOCH_ROWS]
    return ids
