"""The training loop: it learns, it resumes to the same numbers, and it survives divergence."""
from __future__ import annotations

import json
import math
import os
import signal

import numpy as np
import pytest
from hw5_helpers import tiny, without_timing

import hw5.train as train_module
import minitorch as mt
from hw5.experiments import with_overrides
from hw5.plots import plot_run
from hw5.results import load_run
from hw5.runfiles import RunFiles, RunStateError, split_records
from hw5.train import evaluate, make_loss, train


def test_coolnet_learns_the_synthetic_set(runs_dir):
    """Chance is 10%; 2 epochs of 150 steps must reach far beyond it on held-out images."""
    config = tiny("fig1d", train_size=1500, test_size=300, epochs=2, batch_size=20, lr=0.05)
    result = train(config, runs_dir, quiet=True)
    assert result.status == "finished" and result.epochs == 2
    assert result.test_acc > 0.45


def test_records_are_written_as_documented(runs_dir):
    train(tiny("fig1b", epochs=2), runs_dir, quiet=True)
    files = RunFiles(runs_dir, "fig1b")
    iterations, epochs = split_records(files.records())
    # 12 steps per epoch, a point every 5 steps, the window running across epochs
    assert [r["iteration"] for r in iterations] == [5, 10, 15, 20]
    assert [r["epoch"] for r in iterations] == [1, 1, 2, 2]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for r in epochs:
        assert {"train_loss", "train_acc", "test_loss", "test_acc", "class_acc", "lr", "time", "elapsed"} <= set(r)
        assert len(r["class_acc"]) == 10 and r["diverged"] is False
    config = files.read_config()
    assert config["epochs"] == 2 and config["data"]["name"] == "synthetic"
    assert os.path.isfile(files.checkpoint)


def test_evaluate_counts_per_class():
    class Constant(mt.nn.Module):  # always predicts class 3
        def forward(self, x):
            out = np.zeros((len(x), 10), dtype=np.float32)
            out[:, 3] = 1
            return mt.tensor(out)

    labels = np.array([3, 3, 1, 0, 3, 1], dtype=np.int64)
    loader = mt.data.DataLoader(mt.data.TensorDataset(np.zeros((6, 3, 32, 32), np.float32), labels), 4)
    result = evaluate(Constant(), loader, make_loss("cross_entropy"), 10)
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["per_class"][3] == 1.0 and result["per_class"][1] == 0.0 and math.isnan(result["per_class"][5])


def test_mse_loss_uses_one_hot_targets():
    outputs = mt.tensor(np.eye(3, dtype=np.float32))
    labels = mt.tensor(np.array([0, 1, 2]))
    assert make_loss("mse")(outputs, labels).item() == 0.0
    assert make_loss("mse")(outputs, mt.tensor(np.array([1, 1, 2]))).item() == pytest.approx(2 / 9)


def _interrupt_epoch(monkeypatch, epoch: int, after: int) -> None:
    """Make epoch ``epoch`` raise KeyboardInterrupt after ``after`` steps, as Ctrl-C would (counted from the
    start of the run: the runs interrupted here start afresh)."""
    make_step = train_module.training_step

    def interrupting(model, loss_fn, optimizer, **kwargs):
        step, calls = make_step(model, loss_fn, optimizer, **kwargs), []

        def counted(images, labels):
            if len(calls) == steps_per_epoch[0] * (epoch - 1) + after:
                raise KeyboardInterrupt
            calls.append(1)
            return step(images, labels)
        return counted
    steps_per_epoch = []
    make_run = train_module.Run.__init__

    def noting_the_epoch_length(self, *args, **kwargs):
        make_run(self, *args, **kwargs)
        steps_per_epoch.append(len(self.loader))
    monkeypatch.setattr(train_module, "training_step", interrupting)
    monkeypatch.setattr(train_module.Run, "__init__", noting_the_epoch_length)


def test_interrupted_and_resumed_run_ends_with_the_samewithout_timing(tmp_path, monkeypatch):
    # flips, a schedule and batch norm: every piece of state a checkpoint must carry
    config = tiny("fig3b", epochs=3, flip=True, lr_step=1, lr_gamma=0.5)
    whole = train(config, str(tmp_path / "whole"), quiet=True)

    _interrupt_epoch(monkeypatch, epoch=2, after=9)
    stopped = train(config, str(tmp_path / "split"), quiet=True)
    assert stopped.status == "interrupted" and stopped.epochs == 1
    split = RunFiles(str(tmp_path / "split"), "fig3b")
    assert any(r["epoch"] == 2 for r in split.records())     # the interrupted epoch left records behind
    assert mt.load(split.checkpoint)["position"]["epoch"] == 1

    monkeypatch.undo()
    mt.manual_seed(12345)                                     # the global generator is restored, not reused
    resumed = train(config, str(tmp_path / "split"), resume=True, quiet=True)
    assert resumed.status == "finished"

    expected = RunFiles(str(tmp_path / "whole"), "fig3b")
    assert without_timing(split.records()) == without_timing(expected.records())
    a, b = mt.load(split.checkpoint), mt.load(expected.checkpoint)
    for key, value in b["model"].items():
        np.testing.assert_array_equal(a["model"][key].numpy(), value.numpy(), err_msg=key)
    assert resumed.test_acc == whole.test_acc


def test_interrupt_message_says_how_to_resume(runs_dir, monkeypatch, capsys):
    _interrupt_epoch(monkeypatch, epoch=2, after=3)
    result = train(tiny("fig1a", epochs=2), runs_dir, quiet=True)
    assert result.status == "interrupted"
    out = capsys.readouterr().out
    assert "checkpoint after epoch 1 is kept" in out
    assert f"python -m hw5 run fig1a --resume --runs-dir {runs_dir}" in out


def test_ctrl_c_between_the_metrics_line_and_the_checkpoint_keeps_both(runs_dir, monkeypatch, capsys):
    # a real SIGINT, sent at the worst moment: the epoch's record is written, its checkpoint not yet
    append = RunFiles.append

    def append_then_ctrl_c(self, record):
        append(self, record)
        if record.get("type") == "epoch":
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(RunFiles, "append", append_then_ctrl_c)
    result = train(tiny("fig1a", epochs=3), runs_dir, quiet=True)
    assert result.status == "interrupted" and result.epochs == 1
    files = RunFiles(runs_dir, "fig1a")
    assert mt.load(files.checkpoint)["position"]["epoch"] == 1
    assert [r["epoch"] for r in files.records() if r["type"] == "epoch"] == [1]
    assert "checkpoint after epoch 1 is kept" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # the handler is put back


def test_interrupt_in_the_first_epoch_says_nothing_was_kept(runs_dir, monkeypatch, capsys):
    _interrupt_epoch(monkeypatch, epoch=1, after=2)
    assert train(tiny("fig1a", epochs=2), runs_dir, quiet=True).status == "interrupted"
    assert "no epoch had finished yet" in capsys.readouterr().out


def test_resuming_a_finished_run_does_nothing(runs_dir):
    config = tiny("fig1a")
    train(config, runs_dir, quiet=True)
    before = RunFiles(runs_dir, "fig1a").records()
    assert train(config, runs_dir, resume=True, quiet=True).status == "already done"
    assert RunFiles(runs_dir, "fig1a").records() == before


def test_resume_can_extend_a_run(runs_dir):
    train(tiny("fig1a", epochs=1), runs_dir, quiet=True)
    result = train(tiny("fig1a", epochs=2), runs_dir, resume=True, quiet=True)
    assert result.epochs == 2
    assert [r["epoch"] for r in split_records(RunFiles(runs_dir, "fig1a").records())[1]] == [1, 2]


def _check_diverged_run(runs_dir, name, tmp_path):
    files = RunFiles(runs_dir, name)
    epochs = split_records(files.records())[1]
    assert epochs[-1]["diverged"] is True
    assert epochs[-1]["train_loss"] is None                # NaN/inf is stored as null: strict JSON
    for line in open(files.path("metrics.jsonl")):
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    png = plot_run(load_run(files), str(tmp_path / "curves.png"))
    assert os.path.getsize(png) > 1000


def test_learning_rate_10_diverges_cleanly(runs_dir, tmp_path, capsys):
    config = tiny("fig2a", model="boringnet", batch_size=4, epochs=3)
    result = train(config, runs_dir)
    assert result.status == "diverged" and result.epochs < 3
    assert "became NaN or infinite" in capsys.readouterr().out
    _check_diverged_run(runs_dir, "fig2a", tmp_path)
    assert train(config, runs_dir, resume=True, quiet=True).status == "diverged"  # and stays stopped


def test_a_forced_nan_is_recorded(runs_dir, tmp_path, monkeypatch):
    calls = []

    def nan_on_third_step(outputs, labels):
        calls.append(1)
        loss = make_loss("cross_entropy")(outputs, labels)
        return loss * float("nan") if len(calls) == 3 else loss
    monkeypatch.setattr(train_module, "make_loss", lambda name: nan_on_third_step)
    # the NaN comes from Python state (a call counter), which a captured step replays without running
    result = train(tiny("fig1d", epochs=2, capture=False), runs_dir, quiet=True)
    assert result.status == "diverged" and result.epochs == 1
    _check_diverged_run(runs_dir, "fig1d", tmp_path)


def test_a_new_run_replaces_an_old_one_of_the_same_name_only_when_told(runs_dir):
    train(tiny("fig1a", epochs=2), runs_dir, quiet=True)
    with pytest.raises(RunStateError, match="already holds a run .2 epoch.s. recorded.; --resume .* --overwrite"):
        train(tiny("fig1a", epochs=1), runs_dir, quiet=True)
    assert [r["epoch"] for r in RunFiles(runs_dir, "fig1a").epochs()] == [1, 2]
    train(tiny("fig1a", epochs=1), runs_dir, quiet=True, overwrite=True)
    assert [r["epoch"] for r in RunFiles(runs_dir, "fig1a").epochs()] == [1]


def test_same_seed_same_numbers_other_seed_otherwithout_timing(tmp_path):
    runs = [train(tiny("fig1b", seed=s), str(tmp_path / str(i)), quiet=True)
            for i, s in enumerate((0, 0, 1))]
    records = [without_timing(RunFiles(r.run_dir.rsplit("/", 1)[0], "fig1b").records()) for r in runs]
    assert records[0] == records[1] and records[0] != records[2]


def test_captured_training_equals_eager_training(tmp_path, monkeypatch):
    """hw5 trains through minitorch.capture by default; the numbers are those of eager steps, bit for bit."""
    config = tiny("fig1d", epochs=2, momentum=0.9)
    runs = {c: str(tmp_path / str(c)) for c in (True, False)}
    steps = []
    make_run = train_module.Run.__init__

    def keeping_the_step(self, *args, **kwargs):
        make_run(self, *args, **kwargs)
        steps.append(self.train_step)
    monkeypatch.setattr(train_module.Run, "__init__", keeping_the_step)
    for captured, folder in runs.items():
        train(with_overrides(config, {"capture": captured}), folder, quiet=True)
    assert steps[0].counts["replayed"] >= 20 and steps[0].counts["eager"] == 0   # it did replay
    replayed, eager = (without_timing(RunFiles(runs[flag], "fig1d").records()) for flag in (True, False))
    assert replayed == eager
    a, b = mt.load(RunFiles(runs[True], "fig1d").checkpoint), mt.load(RunFiles(runs[False], "fig1d").checkpoint)
    for key, value in b["model"].items():
        np.testing.assert_array_equal(a["model"][key].numpy(), value.numpy(), err_msg=key)


def _textbook_records(config, runs_dir) -> list[dict]:
    """The iteration records and epoch losses of the plainest loop over the DataLoader's own batches: a line
    written as soon as its ``log_every`` steps are done, the sums kept step by step."""
    run = train_module.Run(config, runs_dir, quiet=True)
    records, iteration, window, epoch_losses = [], 0, [], []
    for epoch in range(1, config.epochs + 1):
        losses = []
        for images, labels in run.loader:
            value = run.train_step(images, labels).item()
            losses.append(value)
            iteration += 1
            window.append(value)
            if len(window) == config.log_every:
                records.append({"type": "iteration", "epoch": epoch, "iteration": iteration,
                                "loss": _sequential_sum(window) / len(window), "lr": run.lr})
                window = []
        epoch_losses.append(_sequential_sum(losses) / len(losses))
        evaluate(run.model, run.eval_loaders["test"], run.loss_fn, 10)   # as the real loop: eval-mode passes
        evaluate(run.model, run.eval_loaders["train"], run.loss_fn, 10)  # between epochs touch no weights
    return records + [{"train_loss": loss} for loss in epoch_losses]


def _sequential_sum(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


@pytest.mark.parametrize("model,flip", [("coolnet", True), ("boringnet", False)])
def test_the_records_are_those_of_the_textbook_loop(tmp_path, model, flip):
    """The loop saves its records up and moves its bar a chunk at a time; the numbers are those of a loop that
    writes each line at once, bit for bit (a window of 7 steps carries over the end of the epoch)."""
    config = tiny("fig1d", model=model, flip=flip, train_size=90, epochs=2, batch_size=4, log_every=7)
    train(config, str(tmp_path / "loop"), quiet=True)
    records = RunFiles(str(tmp_path / "loop"), "fig1d").records()
    got = [r for r in records if r["type"] == "iteration"] + [{"train_loss": r["train_loss"]}
                                                              for r in records if r["type"] == "epoch"]
    want = _textbook_records(config, str(tmp_path / "textbook"))
    assert len(got) == 46 // 7 + 2 and got == want


def test_the_loss_points_are_written_while_the_epoch_runs(runs_dir, monkeypatch):
    """`watch` follows a run through its iteration records: they reach the file during the epoch."""
    monkeypatch.setattr(train_module, "FLUSH_SECONDS", 0.0)
    seen = []
    make_step = train_module.training_step

    def looking(model, loss_fn, optimizer, **kwargs):
        step = make_step(model, loss_fn, optimizer, **kwargs)

        def counted(images, labels):
            seen.append(len(RunFiles(runs_dir, "fig1a").records()))
            return step(images, labels)
        return counted
    monkeypatch.setattr(train_module, "training_step", looking)
    # batches of 256 come 4 to a chunk: 10 steps in chunks of 4, 4 and 2, a record every 4 steps
    train(tiny("fig1a", train_size=2560, batch_size=256, log_every=4), runs_dir, quiet=True)
    assert seen == [0] * 4 + [1] * 4 + [2] * 2
    assert [r["iteration"] for r in RunFiles(runs_dir, "fig1a").records() if r["type"] == "iteration"] == [4, 8]
