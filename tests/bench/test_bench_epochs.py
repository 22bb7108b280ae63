"""benchmarks/epochs.py: reading an hw5 epoch record and scaling a shortened epoch to a whole one.

No epoch is run here (that takes minutes); the smoke run of the row is ``python -m benchmarks.run --quick
--rows epoch``.
"""
from __future__ import annotations

import json

import pytest

from benchmarks import epochs


def test_a_whole_epoch_is_not_scaled():
    raw = {"time_s": 14.0, "train_s": 11.0, "eval_s": 3.0, "dataset": "cifar10",
           "train_images": 50_000, "test_images": 10_000}
    out = epochs.scaled(raw)
    assert (out["epoch_s"], out["full_train_s"], out["full_eval_s"], out["scaled"]) == (14.0, 11.0, 3.0, False)


def test_a_shortened_epoch_scales_training_and_evaluation_apart():
    raw = {"time_s": 3.0, "train_s": 2.0, "eval_s": 1.0, "dataset": "cifar10",
           "train_images": 10_000, "test_images": 10_000}
    out = epochs.scaled(raw)
    assert out["full_train_s"] == pytest.approx(2.0 * 5)          # 50,000 / 10,000 training images
    assert out["full_eval_s"] == pytest.approx(1.0 * 60 / 20)     # 60,000 / (10,000 + 10,000) evaluated
    assert out["epoch_s"] == pytest.approx(13.0) and out["scaled"]


def test_read_hw5_epoch(tmp_path):
    run = tmp_path / epochs.RUN
    run.mkdir()
    lines = [{"type": "iteration", "epoch": 1, "iteration": 0, "loss": 2.3},
             {"type": "epoch", "epoch": 1, "time": 5.0, "train_time": 4.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (run / "config.json").write_text(json.dumps({"data": {"name": "synthetic", "train_images": 400,
                                                          "test_images": 200}}))
    got = epochs.read_hw5_epoch(str(tmp_path))
    assert got == {"time_s": 5.0, "train_s": 4.0, "eval_s": 1.0, "dataset": "synthetic", "train_images": 400,
                   "test_images": 200}


def test_commands():
    cmd = epochs.minitorch_command("/tmp/r", 2000, None)
    assert cmd[1:] == ["-m", "hw5", "run", "fig1d", "--epochs", "1", "--runs-dir", "/tmp/r", "--quiet",
                       "--overwrite", "--set", "train_size=2000"]
    assert epochs.torch_command(None, 300)[1:] == ["-m", "benchmarks.epochs", "torch", "--test-size", "300"]
