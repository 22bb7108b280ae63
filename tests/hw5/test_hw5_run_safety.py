"""Runs never lose or mix data: one writer, no silent overwrite, resume checks what it resumes,
and damaged or foreign state fails in one line (exit status 2) without touching anything."""
from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hw5_helpers import (
    TINY_ARGS,
    epochs_in,
    hw5,
    hw5_env,
    one_line_error,
    snapshot,
    tiny,
    without_timing,
)

import hw5.train as train_module
import minitorch as mt
from hw5.runfiles import RunFiles, RunStateError
from hw5.train import train


@pytest.fixture
def finished(tmp_path):
    """A finished 2-epoch run made by the CLI, and its runs folder."""
    runs = str(tmp_path / "runs")
    result = hw5("run", "fig1a", "--epochs", "2", "--runs-dir", runs, *TINY_ARGS)
    assert result.returncode == 0, result.stderr
    return runs


# ---------------------------------------------------------------- one writer
def test_a_second_process_on_the_same_run_exits_2_naming_the_holder(tmp_path):
    runs = str(tmp_path / "runs")
    first = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--epochs", "1000", "--runs-dir", runs,
                              *TINY_ARGS], env=hw5_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        metrics = os.path.join(runs, "fig1a", "metrics.jsonl")
        deadline = time.monotonic() + 60
        while not (os.path.isfile(metrics) and epochs_in(metrics)):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for extra in ([], ["--resume"], ["--overwrite"]):
            result = hw5("run", "fig1a", "--epochs", "1000", "--runs-dir", runs, *TINY_ARGS, *extra)
            one_line_error(result, os.path.join(runs, "fig1a"), f"pid {first.pid}")
            assert first.poll() is None                       # the first writer runs on, undisturbed
        assert os.path.isfile(os.path.join(runs, "fig1a", "checkpoint.npz"))
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
    epochs = [r["epoch"] for r in RunFiles(runs, "fig1a").epochs()]
    assert epochs == list(range(1, len(epochs) + 1))          # never two writers interleaved


def test_the_lock_is_released_when_the_holder_dies(tmp_path):
    files = RunFiles(str(tmp_path), "fig1a")
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; from hw5.runfiles import RunFiles\n"
                              "with RunFiles(sys.argv[1], 'fig1a').lock():\n print('held', flush=True); "
                              "time.sleep(60)", str(tmp_path)], env=hw5_env(), stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    with pytest.raises(RunStateError, match=f"pid {child.pid}"):
        with files.lock():
            pass
    child.kill()
    child.wait()
    with files.lock():                                         # no stale lock after kill -9
        pass


# --------------------------------------------------------- no silent overwrite
def test_run_over_records_refuses_and_names_the_ways_out(finished):
    before = snapshot(finished)
    line = one_line_error(hw5("run", "fig1a", "--epochs", "1", "--runs-dir", finished, *TINY_ARGS),
                           "already holds a run (2 epoch(s) recorded)")
    for option in ("--resume", "--overwrite", "--runs-dir"):
        assert option in line
    assert snapshot(finished) == before
    assert hw5("run", "fig1a", "--epochs", "1", "--overwrite", "--runs-dir", finished, *TINY_ARGS).returncode == 0
    assert [r["epoch"] for r in RunFiles(finished, "fig1a").epochs()] == [1]


def test_resume_of_a_committed_run_without_its_checkpoint_refuses(finished):
    """A fresh clone has config.json and metrics.jsonl but no checkpoint: --resume must not truncate them."""
    os.remove(os.path.join(finished, "fig1a", "checkpoint.npz"))
    before = snapshot(finished)
    one_line_error(hw5("run", "fig1a", "--resume", "--runs-dir", finished, "--quiet"),
                    "holds 2 epoch(s) of records but no checkpoint.npz", "--overwrite")
    assert snapshot(finished) == before


def test_a_stale_checkpoint_is_not_paired_with_other_metrics(tmp_path):
    """A 1-epoch run's leftover checkpoint, resumed over a longer run's restored metrics, must refuse."""
    runs = str(tmp_path / "runs")
    assert hw5("run", "fig1a", "--epochs", "1", "--runs-dir", runs, *TINY_ARGS).returncode == 0
    stale = open(os.path.join(runs, "fig1a", "checkpoint.npz"), "rb").read()
    assert hw5("run", "fig1a", "--epochs", "3", "--overwrite", "--runs-dir", runs, *TINY_ARGS).returncode == 0
    open(os.path.join(runs, "fig1a", "checkpoint.npz"), "wb").write(stale)
    before = snapshot(runs)
    one_line_error(hw5("run", "fig1a", "--resume", "--runs-dir", runs, "--quiet"), "metrics.jsonl does not match")
    assert snapshot(runs) == before


# ---------------------------------------------------- damaged or foreign state
def _garble(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _edit_config(path, **changes):
    config = json.load(open(path))
    config.update(changes)
    json.dump(config, open(path, "w"))


DAMAGE = {
    "truncated checkpoint": ("checkpoint.npz", lambda p: _garble(p, open(p, "rb").read()[:300]), "checkpoint.npz"),
    "garbled checkpoint": ("checkpoint.npz", lambda p: _garble(p, os.urandom(2000)), "checkpoint.npz"),
    "empty checkpoint": ("checkpoint.npz", lambda p: _garble(p, b""), "checkpoint.npz"),
    "foreign npz": ("checkpoint.npz", lambda p: mt.save({"weights": [1, 2]}, p), "not a checkpoint of an hw5 run"),
    "garbled config": ("config.json", lambda p: _garble(p, b"{\"epochs\": 2,"), "config.json is not valid JSON"),
    "config as a list": ("config.json", lambda p: _garble(p, b"[1, 2]"), "holds a JSON list"),
    "config of wrong types": ("config.json", lambda p: _edit_config(p, lr="fast"), "'lr' is 'fast'"),
    "missing config": ("config.json", os.remove, "config.json is missing"),
    "edited lr": ("config.json", lambda p: _edit_config(p, lr=0.5), "lr=0.5"),
    "edited model": ("config.json", lambda p: _edit_config(p, model="coolnet"), "model='coolnet'"),
    "name escaping the folder": ("config.json", lambda p: _edit_config(p, name="../../escaped"),
                                 "name='../../escaped'"),
    "garbled metrics line": ("metrics.jsonl", lambda p: _garble(p, open(p, "rb").read().replace(b"}", b"?", 1)),
                             "does not match"),
    "fewer metrics lines": ("metrics.jsonl", lambda p: _garble(p, b"".join(open(p, "rb").readlines()[:-1])),
                            "does not match"),
    "missing metrics": ("metrics.jsonl", os.remove, "does not match"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_or_foreign_state_is_a_one_line_error_that_changes_nothing(finished, case):
    filename, damage, message = DAMAGE[case]
    damage(os.path.join(finished, "fig1a", filename))
    before = snapshot(finished)
    one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"), message)
    assert snapshot(finished) == before
    assert not os.path.exists(os.path.join(os.path.dirname(finished), "escaped"))


def test_a_checkpoint_of_another_model_is_refused(finished):
    assert hw5("run", "fig1b", "--epochs", "1", "--runs-dir", finished, *TINY_ARGS).returncode == 0
    shutil.copy(os.path.join(finished, "fig1b", "checkpoint.npz"), os.path.join(finished, "fig1a", "checkpoint.npz"))
    one_line_error(hw5("run", "fig1a", "--resume", "--runs-dir", finished, "--quiet"), "model='boringnet'")


@pytest.mark.parametrize("command", [["list"], ["report", "--out", "REPORT-OUT"]])
def test_a_torn_metrics_line_is_reported_not_dropped(finished, tmp_path, command):
    path = os.path.join(finished, "fig1a", "metrics.jsonl")
    torn = len(open(path).readlines()) + 1
    with open(path, "a") as f:
        f.write('{"type": "iteration", "epo')                # what a kill during an append leaves
    args = [a.replace("REPORT-OUT", str(tmp_path / "report")) for a in command]
    one_line_error(hw5(*args, "--runs-dir", finished), f"metrics.jsonl, line {torn}, is damaged", "--resume")


def test_resume_repairs_a_torn_line_after_the_checkpoint_and_says_so(finished):
    path = os.path.join(finished, "fig1a", "metrics.jsonl")
    with open(path, "a") as f:
        f.write('{"type": "iteration", "epo')
    result = hw5("run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "dropped 1 line(s) of metrics.jsonl written after the checkpoint of epoch 2" in result.stdout
    assert [r["epoch"] for r in RunFiles(finished, "fig1a").epochs()] == [1, 2, 3]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_runs_folder_is_aone_line_error(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        one_line_error(hw5("run", "fig1a", "--runs-dir", str(runs), *TINY_ARGS), "Permission denied", str(runs))
    finally:
        runs.chmod(0o755)


def test_a_read_only_run_is_a_one_line_error_even_for_root(finished, monkeypatch):
    """Root ignores permission bits, so the refusal is simulated where the lock file is opened."""
    monkeypatch.setattr(os, "open", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied", a[0])))
    from hw5.cli import main
    assert main(["run", "fig1a", "--resume", "--runs-dir", finished, "--quiet"]) == 2


def test_report_over_no_runs_exits_2_and_leaves_the_report(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "REPORT.md").write_text("kept")
    one_line_error(hw5("report", "--runs-dir", str(tmp_path / "nonexistent"), "--out", str(out)), "no runs in")
    assert (out / "REPORT.md").read_text() == "kept"


# ------------------------------------------------------------------ full disk
def test_a_full_disk_during_a_checkpoint_loses_only_that_epoch(tmp_path, monkeypatch):
    config = tiny("fig1d", epochs=3)
    whole = str(tmp_path / "whole")
    train(config, whole, quiet=True)

    runs, save, calls = str(tmp_path / "runs"), mt.save, []

    def save_fails_the_second_time(obj, f):
        calls.append(f)
        if len(calls) == 2:
            f.write(b"PK")                               # half written, as a real ENOSPC leaves it
            with open(os.path.join(runs, "fig1d", ".tmp-left-behind"), "wb") as left:   # as a kill -9 leaves
                left.write(b"PK")
            raise OSError(errno.ENOSPC, "No space left on device")   # a write names no file
        return save(obj, f)
    monkeypatch.setattr(mt, "save", save_fails_the_second_time)
    with pytest.raises(RunStateError, match="No space left on device.*epoch 2 is lost.*intact up to epoch 1"):
        train(config, runs, quiet=True)
    files = RunFiles(runs, "fig1d")
    assert os.listdir(files.dir).count(".tmp-left-behind") == 1   # the failed save removed its own temporary
    assert [r["epoch"] for r in files.epochs()] == [1]           # the metrics did not run ahead of the checkpoint
    assert mt.load(files.checkpoint)["position"]["epoch"] == 1

    monkeypatch.setattr(mt, "save", save)
    assert train(config, runs, resume=True, quiet=True).status == "finished"
    assert not any(name.startswith(".tmp-") for name in os.listdir(files.dir))   # cleaned up on the next start
    assert without_timing(files.records()) == without_timing(RunFiles(whole, "fig1d").records())


def test_checkpoint_has_the_permissions_of_the_other_run_files(finished):
    mode = lambda name: os.stat(os.path.join(finished, "fig1a", name)).st_mode & 0o777   # noqa: E731
    assert mode("checkpoint.npz") == mode("config.json") == mode("metrics.jsonl")


# ----------------------------------------------------------- runs you can watch
def test_evaluation_shows_progress(runs_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    train(tiny("fig1a", train_size=100, test_size=50, eval_batch_size=25), runs_dir)
    err = capsys.readouterr().err
    assert "fig1a 1/1 evaluating" in err and "0/6" in err        # 4 batches of training images, 2 of test


def test_the_start_says_which_data_and_every_run_writes_train_log(runs_dir, capsys):
    train(tiny("fig1a"), runs_dir)
    out = capsys.readouterr().out
    assert "fig1a: synthetic data from generated images (seed 0) (120 training, 60 test images)" in out
    log = open(os.path.join(runs_dir, "fig1a", "train.log")).read()
    assert "fig1a epoch   1/1" in log and "synthetic data from" in log


def test_curves_are_redrawn_while_the_run_goes(runs_dir, monkeypatch):
    monkeypatch.setattr(train_module, "REDRAW_SECONDS", 0.0)
    drawn = []
    plot = train_module.Run.draw_curves

    def counting(self, force=False):
        plot(self, force)
        drawn.append(os.path.getmtime(self.files.path("curves.png")))
    monkeypatch.setattr(train_module.Run, "draw_curves", counting)
    train(tiny("fig1a", epochs=3), runs_dir, quiet=True)
    assert len(drawn) == 3


def test_the_synthetic_banner_is_printed_once_per_command(tmp_path):
    result = hw5("run", "fig1a", "fig1b", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"), "--dataset", "auto",
                 "--data-dir", str(tmp_path / "none"), "--set", "train_size=50", "--set", "test_size=20", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("CIFAR-10 IS NOT AVAILABLE") == 1


# ------------------------------------------------------------------- kill -9
def _epochs_written(path) -> int:
    return len(epochs_in(path))  # 0 while the run has written nothing


@pytest.mark.slow
def test_twenty_kills_at_random_moments_end_bit_identical(tmp_path):
    """kill -9 twenty times: a quarter while the process starts or resumes, the rest at a random moment of
    an epoch (training, evaluation, the metrics line or the checkpoint), then resume to the end."""
    args = ["--epochs", "100", *TINY_ARGS]
    whole = str(tmp_path / "whole")
    assert hw5("run", "fig1d", "--runs-dir", whole, *args).returncode == 0
    runs, rng = str(tmp_path / "killed"), random.Random(0)
    metrics = os.path.join(runs, "fig1d", "metrics.jsonl")
    for kill in range(20):
        proc = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1d", "--resume", "--runs-dir", runs, *args],
                                env=hw5_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, 1.5))
        else:   # once this process has finished an epoch of its own, somewhere in the next one
            seen, deadline = _epochs_written(metrics), time.monotonic() + 60
            while _epochs_written(metrics) <= seen and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.2))
        assert proc.poll() is None, f"the run ended before kill {kill + 1}: {proc.stderr.read()}"
        proc.kill()
        proc.wait()
    result = hw5("run", "fig1d", "--resume", "--runs-dir", runs, *args)
    assert result.returncode == 0, result.stderr
    assert without_timing(RunFiles(runs, "fig1d").records()) == without_timing(RunFiles(whole, "fig1d").records())
    a, b = mt.load(os.path.join(runs, "fig1d", "checkpoint.npz")), mt.load(os.path.join(whole, "fig1d",
                                                                                      "checkpoint.npz"))
    for key, value in b["model"].items():
        assert (a["model"][key].numpy() == value.numpy()).all(), key
