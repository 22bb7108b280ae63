"""The report: Markdown and log lines from the benchmark results, by pure functions.

Everything here reads the results (``results.json``'s dict) and returns text; nothing
measures, reads files or changes its input, so a stored ``results.json`` renders to
the same ``BENCHMARKS.md`` as the run that wrote it.
"""
from __future__ import annotations

from typing import Any

from benchmarks.models import NET_TITLES


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


def row_summary(row: dict) -> str:
    """One row on one line, for the progress log."""
    ratio = "" if row["ratio"] is None or row.get("no_ratio") else f" ratio {row['ratio']:.2f}"
    return (f"minitorch {_cell(row['minitorch'])} {row['unit']} | torch {_cell(row['torch'])} {row['unit']}"
            f"{ratio} | target {_target_text(row)} met {_met_text(row)}")


# ------------------------------------------------------------------ reporting
def summary_table(rows: list[dict]) -> str:
    """One line per row: both frameworks' medians (± half the IQR), the ratio and the target."""
    lines = ["| row | minitorch | PyTorch | ratio mt/pt | target | met |",
             "| --- | ---: | ---: | ---: | :---: | :---: |"]
    for row in rows:
        ratio = "—" if row["ratio"] is None or row.get("no_ratio") else f"{row['ratio']:.2f}"
        lines.append(f"| {row['label']} [{row['unit']}] | {_cell(row['minitorch'])} | {_cell(row['torch'])} | "
                     f"{ratio} | {_target_text(row)} | {_met_text(row)} |")
    return "\n".join(lines)


def captured_table(rows: list[dict]) -> str:
    """The captured steps beside the eager ones of the same interleaving (the capture targets)."""
    lines = ["| step | eager ms | captured ms | captured / eager | captured / PyTorch | target | met | parity |",
             "| --- | ---: | ---: | ---: | ---: | :---: | :---: | ---: |"]
    for r in rows:
        if not r["id"].startswith("captured/"):
            continue
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['label'].removesuffix(', captured')} | {_cell(r['eager'])} | "
                     f"{_cell(r['minitorch'])} | {r['vs_eager']:.2f} | {ratio} | {_target_text(r)} | "
                     f"{_met_text(r)} | {r['capture_parity']:.1e} |")
    return "\n".join(lines)


def layer_tables(layers: list[dict], rows: list[dict]) -> str:
    """Per batch: each layer's forward and backward, their sums, and the whole train step for comparison."""
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
            if pf is not None and pb is not None:
                tot["pf"] += pf
                tot["pb"] += pb
            out.append(f"| {e['name']} | {_fmt(mf)} | {_fmt(pf)} | {_ratio(mf, pf)} | {_fmt(mb)} | {_fmt(pb)} | "
                       f"{_ratio(mb, pb)} | {_fmt(None if pf is None or pb is None else mf + mb - pf - pb)} |")
        pf, pb = (tot["pf"], tot["pb"]) if has_torch else (None, None)
        out.append(f"| **sum of layers** | {_fmt(tot['mf'])} | {_fmt(pf)} | {_ratio(tot['mf'], pf)} | "
                   f"{_fmt(tot['mb'])} | {_fmt(pb)} | {_ratio(tot['mb'], pb)} | "
                   f"{_fmt(None if pf is None or pb is None else tot['mf'] + tot['mb'] - pf - pb)} |")
        step = next((r for r in rows if r["id"] == f"train/coolnet/b{batch}"), None)
        if step is not None:
            ms = step["minitorch"]["median"]
            ps = step["torch"]["median"] if step["torch"] else None
            out.append(f"| whole train step (row above) | {_fmt(ms)} | {_fmt(ps)} | {_ratio(ms, ps)} | | | | |")
    return "\n".join(out)


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def layer_gflops(entry: dict) -> dict[str, float]:
    """Achieved GFLOP/s of a Conv2d or Linear layer entry per framework: analytic FLOPs / median fwd+bwd time."""
    if entry["flops"] is None:
        return {}
    flop = entry["flops"]["fwd"] + entry["flops"]["bwd"]
    return {fw: flop / ((entry[fw]["fwd"]["median"] + entry[fw]["bwd"]["median"]) * 1e-3) / 1e9
            for fw in ("minitorch", "torch") if entry[fw] is not None}


def gflops_table(layers: list[dict], gemm: dict | None) -> str:
    peak = gemm["numpy"]["gflops"] if gemm else None
    lines = ["| layer | batch | GFLOP fwd+bwd | minitorch GFLOP/s | % of NumPy sgemm | PyTorch GFLOP/s "
             "| % of NumPy sgemm |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in layers:
        if e["flops"] is None:
            continue
        flop = e["flops"]["fwd"] + e["flops"]["bwd"]
        gflops = layer_gflops(e)
        cells = []
        for fw in ("minitorch", "torch"):
            if fw not in gflops:
                cells += ["—", "—"]
                continue
            g = gflops[fw]
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
    """``BENCHMARKS.md`` without its GPU section (see :func:`gpu_section`)."""
    env, rows = res["environment"], res["rows"]
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['user_api']}, kernel {b['architecture']}, "
                     f"{b['num_threads']} threads, {b['prefix']})" for b in env["blas"])
    git = env["git"]
    changes = git["minitorch_changes"]
    changed = f", {len(changes)} uncommitted change(s) under minitorch/" if changes else ""
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
        "- Memory: " + ("the process keeps freed memory for reuse, as hw5's training processes do "
                        "(`minitorch.utils.keep_freed_memory()`: glibc's `M_MMAP_THRESHOLD` 32 MiB, "
                        "`M_TRIM_THRESHOLD` 256 MiB), for both frameworks; eager steps and evaluation no longer "
                        "fault their large arrays' pages in anew each call"
                        if env.get("keep_freed_memory") else "glibc's malloc as it comes"),
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
    if any(r["id"].startswith("captured/") for r in rows):
        parts += ["### Captured steps", "",
                  "`minitorch.capture(step)` records the step once and replays its kernels into preallocated "
                  "buffers (no Tensor, graph or Python dispatch per op). Each captured row was timed in the same "
                  "interleaving as its eager row and PyTorch. Parity: the largest difference between ten captured "
                  "and ten eager steps from the same weights, relative to each parameter's scale (0: "
                  "bit-identical).", "", captured_table(rows), ""]
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
    if res.get("bounds"):
        parts += ["## What bounds the captured rows that miss their target", "",
                  "Each such step replayed again after the timed rounds, its program's calls timed one by one "
                  "(`python -m benchmarks.profile_step --captured --net NET --batch N` prints the same), beside the "
                  "time its target allows (PyTorch's step times the target ratio).", "",
                  *[bound_line(b) for b in res["bounds"]], ""]
    parts += ["## Method", "", *[f"- {m}" for m in method(res)], *[f"- Note: {n}." for n in res["notes"]], ""]
    return "\n".join(parts)


def bound_line(b: dict) -> str:
    """One missed row: its replay against its allowance, and the calls that take the most of it."""
    top = b["callees"][:4]
    calls = "; ".join(f"{c['name']} {_fmt(c['ms'])} ms ({c['ms'] / b['in_calls_ms']:.0%}, {c['calls']}×)"
                      for c in top)
    line = (f"- **{b['row']}**: {_fmt(b['step_ms'])} ms a replay; the target allows {_fmt(b['budget_ms'])} ms "
            f"(≤ {b['target']:g}× PyTorch's {_fmt(b['torch_ms'])} ms). Its {b['calls']} calls, one by one, "
            f"{_fmt(b['in_calls_ms'])} ms: {calls}.")
    if top and top[0]["ms"] > b["budget_ms"]:
        line += f" The largest call alone is {top[0]['ms'] / b['budget_ms']:.1f}× the whole allowance."
    return line


def contention_banner(res: dict) -> list[str]:
    """A warning when the machine was oversubscribed (see ``machine.contention_probe``), else one plain line."""
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


# How the rows were timed.  Results written before the training rows took distinct batches at hw5's rate have
# no "regime" entry and render with the words of their time (_METHOD_FIXED_BATCH).
_METHOD_FIXED_BATCH = [
    "One process runs both frameworks. Networks are defined in `benchmarks/models.py` for both; PyTorch's copy is "
    "loaded from the minitorch `state_dict` (weights and BatchNorm buffers), inputs are random normal "
    "(N, 3, 32, 32) float32 images with random int64 labels in [0, 10).",
    "Training step: forward, `cross_entropy`, `zero_grad`, `backward`, SGD (momentum 0.9), float32, the same "
    "batch every step, at learning rate 0: the update is computed and applied but moves nothing, so every timed "
    "step sees the gradients of an untrained net. At any useful rate both nets memorise the one batch within a "
    "few hundred steps, the gradients underflow into denormals and float32 kernels slow down for it (PyTorch's "
    "BoringNet batch-4 step took 2.07 ms there against 0.80 ms), a regime no real run is in; runs before "
    "2026-12-01 were timed that way. Parity of captured against eager steps is checked at lr 0.01.",
]


def _method_regime(regime: dict) -> list[str]:
    return [
        "One process runs both frameworks. Networks are defined in `benchmarks/models.py` for both; PyTorch's copy "
        "is loaded from the minitorch `state_dict` (weights and BatchNorm buffers).",
        f"Training step: forward, `cross_entropy`, `zero_grad`, `backward`, SGD at hw5's settings (learning rate "
        f"{regime['lr']:g}, momentum {regime['momentum']:g}), float32. Every timed step trains on the next batch "
        f"of a pool of distinct batches ({regime['pool_images']:,} images, at least 16 batches, cycled; both "
        f"frameworks the same batches in the same order): {regime['batches']}. So the weights move as in "
        "training and no step sees a batch the net has memorised (on one fixed batch at this rate the nets "
        "memorise it within a few hundred steps, the gradients underflow into denormals and float32 kernels slow "
        "down for it; runs before 2026-12-01 were timed on a fixed batch at lr 0.01, later ones until this change "
        "on a fixed batch at lr 0). Parity of captured against eager steps: ten steps over the same pool.",
        "Eval and per-layer rows use random normal (N, 3, 32, 32) float32 images (their timing does not depend on "
        "the values).",
        "Epoch rows (`--with-epochs`): `python -m hw5 run fig1d --epochs 1` in a fresh one-thread process into a "
        "temporary runs folder, its epoch `time` (training, then evaluation of the 50,000 training and 10,000 test "
        "images at batch 1000) read from `metrics.jsonl`: everything an epoch does counts (data pipeline, "
        "`.item()` per step, logging); PyTorch: the same loop over the same images preloaded as normalised "
        "tensors (`python -m benchmarks.epochs torch`, one thread). \"Two\": two processes of one framework "
        "side by side, each one's epoch a sample. A shortened epoch (`--set train_size`) is scaled to the full "
        "one, as the row's label says.",
    ]


def method(res: dict) -> list[str]:
    """The Method section's items for these results."""
    regime = res.get("regime")
    head = _METHOD_FIXED_BATCH if regime is None else _method_regime(regime)
    return [*head, *_METHOD_COMMON]


_METHOD_COMMON = [
    "Each callable is warmed up (≥ 0.3 s and ≥ 2 calls), then timed in alternating rounds (minitorch, PyTorch; "
    "PyTorch, minitorch; ...), one block of k calls per framework per round, k chosen so a block lasts about "
    "0.25 s (training), 0.06 s (layers); a 50 ms pause (so the other framework's spinning worker threads go to "
    "sleep) and `gc.collect()` precede each block, outside the timer. One sample = "
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


def document(res: dict, gpu_table: str | None, gpu_where: str, whole_report: str | None) -> str:
    """``BENCHMARKS.md``: this run's results, then the sections kept from runs of their own (the whole report
    end to end, ``benchmarks/whole_report.md``; the last GPU check)."""
    whole = ("\n" + whole_report.strip() + "\n\n(Kept from its own run, `python -m benchmarks.whole_report`: "
             "the run above did not measure it.)\n") if whole_report else ""
    return markdown(res) + whole + gpu_section(gpu_table, gpu_where)


def gpu_section(table: str | None, where: str) -> str:
    """The last GPU check's table (``benchmarks/gpu_check.sh`` on a GPU machine), kept beside the CPU results."""
    if table is None:
        return ""
    return (
        "\n\n## GPU\n\nFrom the last `bash benchmarks/gpu_check.sh` on a GPU machine "
        f"(copied into `{where}` with its log; this CPU run did not measure it).\n\n"
        + table.strip().replace("### ", "#### ", 1)
    )


def gpu_table(info: dict[str, str], rows: list[dict[str, Any]], backends: list[dict[str, Any]],
              epoch: dict[str, Any] | None, targets: dict[tuple[str, int], float]) -> str:
    """``table.md`` of ``gpu_bench.py``: training steps, the kernel backends, one epoch."""
    gpu = info.get("gpu", "GPU")
    lines = [f"### minitorch (CuPy {info.get('cupy')}) vs PyTorch {info.get('torch', 'n/a')} on {gpu}", "",
             "Training step, float32, median ms (lower is better); ratio = minitorch / PyTorch.", "",
             "| net | batch | minitorch ms | PyTorch ms | ratio | target |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        title, target = NET_TITLES[r["net"]], targets.get((r["net"], r["batch"]))
        if "error" in r:
            lines.append(f"| {title} | {r['batch']} | {r['error']} | | | |")
            continue
        pt = f"{r['torch_ms']:.3f}" if "torch_ms" in r else "n/a"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "n/a"
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g} " + ("n/a" if "ratio" not in r else ("met" if r["ratio"] <= target else "MISSED"))
        lines.append(f"| {title} | {r['batch']} | {r['minitorch_ms']:.3f} | {pt} | {ratio} | {verdict} |")
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
        for name, label in (("minitorch", "minitorch"), ("torch", "pytorch")):
            e = epoch.get(name)
            if not e:
                continue
            if "error" in e:
                lines.append(f"- {label}: {e['error']}")
            else:
                extra = "" if e["batches"] == e["of"] else f" (extrapolated from {e['batches']}/{e['of']} batches)"
                lines.append(f"- {label}: {e['epoch_seconds']:.2f} s{extra}")
    return "\n".join(lines) + "\n"
