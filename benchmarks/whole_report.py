"""The whole report, end to end: ``python -m benchmarks.whole_report`` (about an hour; run it on a quiet machine).

The user's figure for hw5 is the wall clock of ``python -m hw5 run all --jobs 2 --dataset cifar10``: every
run behind the report's 15 panels, two at a time, into a scratch runs folder.  It is measured around the
command, not projected; the epochs each run trained and their times are read from the runs' own records.

Beside it, PyTorch's same recipe, projected from measured epochs (``benchmarks.epochs``): one PyTorch epoch
of each distinct setting among the runs (network, batch size, loss, flips), two processes side by side as
``--jobs 2`` runs them and one thread each, times the epochs the minitorch run trained, scheduled two at a
time as the report schedules its compute (``hw5.report.two_at_a_time``: longest first).  PyTorch's epochs
may be shortened (``--torch-train-size``) and are then scaled to whole ones.

Writes ``benchmarks/whole_report.json`` and ``benchmarks/whole_report.md``; ``python -m benchmarks.run``
puts the latter into ``BENCHMARKS.md``.  ``--runs-dir DIR --wall-s S`` summarises a run of the same command
that was timed outside this script (``/usr/bin/time``) instead of starting one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import epochs
from benchmarks.machine import environment, git_state

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "benchmarks"   # whole_report.json and whole_report.md
TARGET_S = 1.5 * 3600   # the figure: the whole report in 1.5 hours on two cores


def report_command(runs_dir: str) -> list[str]:
    return [sys.executable, "-m", "hw5", "run", "all", "--jobs", "2", "--dataset", "cifar10",
            "--runs-dir", runs_dir, "--quiet"]


def setting(config: Any) -> tuple:
    """What decides an epoch's cost: network, activations, batch size, loss, flips (not lr, seed or epochs)."""
    return (config.model, config.activation, config.batch_size, config.loss, config.flip)


def trained_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Each run's name, epochs trained and their summed times (training and evaluation), read by hw5's own
    :class:`~hw5.runfiles.RunFiles`."""
    from hw5.runfiles import find_runs

    runs = []
    for files in find_runs(str(runs_dir)):
        done = files.epochs()
        runs.append({"run": files.name, "epochs": len(done), "seconds": sum(r["time"] for r in done),
                     "train_seconds": sum(r["train_time"] for r in done),
                     "diverged": bool(done and done[-1].get("diverged"))})
    return runs


def torch_epochs(runs: list[dict[str, Any]], train_size: int | None, test_size: int | None) -> dict[str, Any]:
    """One PyTorch epoch, two processes side by side, per distinct setting of ``runs``: {setting: result}."""
    from hw5.experiments import get_experiment

    env = epochs.epoch_environment(dict(os.environ), REPO)
    out: dict[str, Any] = {}
    for run in runs:
        key = repr(setting(get_experiment(run["run"])))
        if key not in out:
            print(f"[whole_report] PyTorch epoch of {run['run']} {key}, two side by side", flush=True)
            both = epochs.side_by_side("torch", 2, env, REPO, train_size, test_size, run=run["run"])
            out[key] = {"as": run["run"], "epoch_s": statistics.mean(r["epoch_s"] for r in both),
                        "samples": [r["epoch_s"] for r in both], "scaled": both[0]["scaled"]}
    return out


def summary(runs: list[dict[str, Any]], wall_s: float, torch: dict[str, Any] | None) -> dict[str, Any]:
    from hw5.experiments import get_experiment
    from hw5.report import two_at_a_time

    compute = [r["seconds"] for r in runs]
    res: dict[str, Any] = {"wall_s": wall_s, "target_s": TARGET_S, "runs": runs,
                           "epochs": sum(r["epochs"] for r in runs), "compute_s": sum(compute),
                           "two_at_a_time_s": two_at_a_time(compute)}
    if torch:
        projected = []
        for run in runs:
            per_epoch = torch[repr(setting(get_experiment(run["run"])))]["epoch_s"]
            run["torch_projected_s"] = run["epochs"] * per_epoch
            projected.append(run["torch_projected_s"])
        res.update(torch_epochs=torch, torch_compute_s=sum(projected), torch_two_at_a_time_s=two_at_a_time(projected))
    return res


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def markdown(res: dict[str, Any]) -> str:
    env = res["environment"]
    met = "met" if res["wall_s"] <= res["target_s"] else "**not met**"
    lines = [
        "## The whole report, end to end",
        "",
        f"`{res['command']}` (a scratch runs folder) at git {res['commit']} on {env['date'][:10]}, {env['cpu']}, "
        f"{env['logical_cores']} logical cores; load average {' / '.join(f'{x:.2f}' for x in res['load_start'])} "
        f"before and {' / '.join(f'{x:.2f}' for x in res['load_end'])} after (1/5/15 min); written by "
        f"`{res['summarised_by']}`. Rerun `python -m benchmarks.whole_report` (about an hour) to refresh it.",
        "",
        f"- **Wall clock of `python -m hw5 run all --jobs 2 --dataset cifar10`: {_hm(res['wall_s'])}** "
        f"({res['wall_s']:.0f} s; target {_hm(res['target_s'])}: {met}), {len(res['runs'])} runs, "
        f"{res['epochs']:,} epochs; the runs' own epoch times sum to {_hm(res['compute_s'])} of compute "
        f"({_hm(res['two_at_a_time_s'])} two at a time, longest first).",
    ]
    if "torch_compute_s" in res:
        lines.append(f"- PyTorch's same recipe, projected from one measured epoch per setting (two processes side by "
                     f"side, one thread each) times the same epochs: {_hm(res['torch_compute_s'])} of compute, "
                     f"**{_hm(res['torch_two_at_a_time_s'])} two at a time** (minitorch/PyTorch: "
                     f"{res['two_at_a_time_s'] / res['torch_two_at_a_time_s']:.2f} on the runs' compute).")
    lines += ["", "| run | epochs | minitorch s/epoch | PyTorch s/epoch (projected) | minitorch compute | "
                  "PyTorch compute |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in res["runs"]:
        n = max(r["epochs"], 1)
        pt = r.get("torch_projected_s")
        lines.append(f"| {r['run']}{' (diverged)' if r['diverged'] else ''} | {r['epochs']} | {r['seconds'] / n:.1f} | "
                     + (f"{pt / n:.1f} | {_hm(r['seconds'])} | {_hm(pt)} |" if pt is not None
                        else f"— | {_hm(r['seconds'])} | — |"))
    if res.get("note"):
        lines += ["", res["note"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.whole_report", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs-dir", help="where the runs go (default: a new temporary folder, removed after)")
    p.add_argument("--wall-s", type=float, help="with --runs-dir: summarise that finished run, timed outside")
    p.add_argument("--load", nargs=6, type=float, metavar="L", help="with --wall-s: the load averages (1/5/15 min) "
                   "before and after it, as uptime gave them")
    p.add_argument("--commit", help="with --wall-s: the commit it ran at (default: HEAD)")
    p.add_argument("--no-torch", action="store_true", help="leave out PyTorch's projection")
    p.add_argument("--torch-train-size", type=int, default=10_000,
                   help="training images in each measured PyTorch epoch (with 2,000 test images), scaled to a whole "
                        "epoch (default 10,000)")
    p.add_argument("--note", default="", help="a line to print under the table (e.g. what else ran)")
    p.add_argument("--out", default=str(OUT_DIR),
                   help="the folder for whole_report.json and .md (default: benchmarks/)")
    args = p.parse_args(argv)
    if args.wall_s is not None and not args.runs_dir:
        p.error("--wall-s summarises a finished run: name its --runs-dir")

    env = environment(None, 1)
    command = "python -m benchmarks.whole_report" + "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    scratch = None
    if args.wall_s is None:
        runs_dir = args.runs_dir or (scratch := tempfile.mkdtemp(prefix="hw5-whole-report-"))
        load_start = list(os.getloadavg())
        start = time.perf_counter()
        subprocess.run(report_command(runs_dir), cwd=REPO, check=True)
        wall_s = time.perf_counter() - start
        load_end = list(os.getloadavg())
        commit = git_state()["commit"]
    else:
        runs_dir, wall_s = args.runs_dir, args.wall_s
        load_start, load_end = (args.load[:3], args.load[3:]) if args.load else ([], [])
        commit = args.commit or git_state()["commit"]
    ran = " ".join(["python -m hw5", *report_command("RUNS")[3:]])
    runs = trained_runs(Path(runs_dir))
    torch = None
    if not args.no_torch:
        try:
            import torch as _torch  # noqa: F401
            torch = torch_epochs(runs, args.torch_train_size, 2_000)
        except ImportError:
            print("[whole_report] PyTorch is not installed: no projection", flush=True)
    res = {**summary(runs, wall_s, torch), "command": ran, "summarised_by": command, "commit": commit,
           "environment": env, "load_start": load_start, "load_end": load_end, "note": args.note}
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    out = Path(args.out)
    (out / "whole_report.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "whole_report.md").write_text(markdown(res))
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
