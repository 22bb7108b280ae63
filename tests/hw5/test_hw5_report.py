"""Plots and REPORT.md from run folders alone, including diverged, partial and missing runs."""
from __future__ import annotations

import json
import math
import os

from hw5.report import write_report
from hw5.results import load_runs
from hw5.runfiles import RunFiles


def fake_run(runs_dir, name, accuracies, dataset="cifar10", epochs=None, diverge_at=None, model="coolnet"):
    """A run folder as train() leaves it, written by hand (no training)."""
    files = RunFiles(runs_dir, name)
    files.start_fresh()
    files.write_config({"name": name, "title": f"title of {name}", "epochs": epochs or len(accuracies),
                        "model": model, "batch_size": 4, "lr": 0.01, "log_every": 250,
                        "data": {"name": dataset, "train_images": 50000, "test_images": 10000,
                                 "fallback_reason": "" if dataset == "cifar10" else "no CIFAR here"}})
    for epoch, acc in enumerate(accuracies, start=1):
        bad = diverge_at == epoch
        files.append({"type": "iteration", "epoch": epoch, "iteration": 250 * epoch,
                      "loss": math.nan if bad else 2.0 / epoch, "lr": 0.01})
        files.append({"type": "epoch", "epoch": epoch, "train_loss": math.inf if bad else 2.0 / epoch,
                      "train_acc": acc + 0.05, "test_acc": acc, "test_loss": math.nan if bad else 1.0,
                      "lr": 0.01, "time": 60.0, "elapsed": 60.0 * epoch, "diverged": bad})
    return files


def test_report_table_figures_and_statuses(tmp_path):
    runs, out = str(tmp_path / "runs"), str(tmp_path / "report")
    fake_run(runs, "fig2a", [0.1, 0.1], diverge_at=2, epochs=50)
    fake_run(runs, "fig2c", [0.40, 0.55, 0.50])
    fake_run(runs, "fig3a", [0.3], epochs=200)
    report = open(write_report(runs, out)).read()
    row = next(line for line in report.splitlines() if line.startswith("| `fig2c`"))
    assert "50.00%" in row and "55.00% (2)" in row and "3 / 3" in row and "3m00s" in row and "finished" in row
    assert "diverged in epoch 2" in report and "1 / 200" in report
    assert "WARNING" not in report                       # every run used CIFAR-10
    assert "![fig2](fig2.png)" in report and "![fig3](fig3.png)" in report and "fig1.png" not in report
    for path in ("fig2.png", "fig3.png"):
        assert os.path.getsize(os.path.join(out, path)) > 1000
    assert os.path.getsize(os.path.join(runs, "fig2a", "curves.png")) > 1000   # NaN points skipped


def test_any_synthetic_run_is_flagged(tmp_path):
    runs, out = str(tmp_path / "runs"), str(tmp_path / "report")
    fake_run(runs, "fig1a", [0.2])
    fake_run(runs, "fig1b", [0.3], dataset="synthetic")
    report = open(write_report(runs, out)).read()
    assert "**WARNING: NOT CIFAR-10.**" in report and "`fig1b`" in report.split("\n\n")[2]
    assert "no CIFAR here" in report and "**synthetic**" in report


def test_report_without_runs(tmp_path):
    report = open(write_report(str(tmp_path / "none"), str(tmp_path / "report"))).read()
    assert "No runs found" in report and ".png" not in report


def test_metrics_are_strict_json_and_read_back_as_nan(tmp_path):
    runs = str(tmp_path / "runs")
    files = fake_run(runs, "fig2a", [0.1], diverge_at=1)
    for line in open(files.path("metrics.jsonl")):
        json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    run = load_runs(runs)["fig2a"]
    assert run.diverged and math.isnan(run.series("train_loss")[0]) and run.best_test_acc == (0.1, 1)


def test_truncation_keeps_only_checkpointed_epochs(tmp_path):
    files = fake_run(str(tmp_path), "fig1a", [0.1, 0.2, 0.3])
    files.append({"type": "iteration", "epoch": 4, "iteration": 1000, "loss": 1.0})
    files.truncate_to_epoch(2)
    assert [(r["type"], r["epoch"]) for r in files.records()] == [
        ("iteration", 1), ("epoch", 1), ("iteration", 2), ("epoch", 2)]
