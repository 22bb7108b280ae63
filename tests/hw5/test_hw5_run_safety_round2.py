"""Runs safe, round 2: the attacks a second adversarial pass found, each ending in one line and exit status 2
with nothing changed, or in a run that goes on correctly.

1. a run's folder moved or its lock replaced while it trains; 2. quick over earlier runs; 3. resume on other
images; 4. links planted among a run's files; 8. a run stopped inside its first epoch; 9. crafted checkpoints;
10. the one-liners.  (5 and 6 are in tests/data/test_data_cifar10.py and tests/core/test_serialization.py,
7 in test_hw5_sweep.py.)
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hw5_helpers import TINY_ARGS, hw5, hw5_env, one_line_error, snapshot, tiny, without_timing
from test_hw5_data import write_fake_cifar10

import minitorch as mt
from hw5.cli import main
from hw5.runfiles import RunFiles, RunStateError
from hw5.train import train


def _epochs(runs, name):
    return [r["epoch"] for r in RunFiles(runs, name).epochs()]


def _wait_for(condition, what, proc=None, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc is None or proc.poll() is None, f"the process ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# ------------------------------------------------------- 1. the lock follows the run
@pytest.mark.parametrize("how", ["folder moved", "lock replaced"])
def test_a_run_whose_folder_is_taken_away_stops_and_never_writes_into_the_new_one(tmp_path, how):
    runs = str(tmp_path / "runs")
    first = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--epochs", "1000", "--runs-dir", runs,
                              *TINY_ARGS], env=hw5_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: os.path.isfile(os.path.join(runs, "fig1a", "checkpoint.npz")), "an epoch", first)
        if how == "folder moved":
            os.rename(os.path.join(runs, "fig1a"), os.path.join(runs, "fig1a.bak"))
            second = hw5("run", "fig1a", "--epochs", "2", "--runs-dir", runs, *TINY_ARGS)
        else:   # the lock file deleted: a second process makes its own and takes the folder over
            os.remove(os.path.join(runs, "fig1a", ".lock"))
            second = hw5("run", "fig1a", "--epochs", "2", "--overwrite", "--runs-dir", runs, *TINY_ARGS)
        assert second.returncode == 0, second.stderr
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    lines = [line for line in first.stderr.read().splitlines() if line.strip()]
    assert first.returncode == 2 and len(lines) == 1, lines
    assert "is no longer the folder this process locked" in lines[0]
    assert _epochs(runs, "fig1a") == [1, 2]                           # the second run's own, not interleaved
    if how == "folder moved":
        moved = _epochs(runs, "fig1a.bak")
        assert moved == list(range(1, len(moved) + 1))


# ------------------------------------------------------------ 2. quick never destroys
def test_quick_refuses_to_replace_earlier_runs(tmp_path):
    runs = str(tmp_path / "Q")
    assert main(["run", "fig1a", "fig1b", "--epochs", "3", "--runs-dir", runs, *TINY_ARGS]) == 0
    before = snapshot(runs)
    one_line_error(hw5("quick", "--runs-dir", runs, "--out", str(tmp_path / "report"), "--dataset", "synthetic",
                        "--set", "train_size=40", "--set", "test_size=20"),
                    "fig1a already holds a run (3 epoch(s) recorded)", "--overwrite")
    assert snapshot(runs) == before
    assert _epochs(runs, "fig1a") == [1, 2, 3]


# ------------------------------------------------------ 3. resume on the same images
def test_resume_refuses_other_images_naming_both(tmp_path):
    runs, first, other = str(tmp_path / "runs"), str(tmp_path / "first"), str(tmp_path / "other")
    write_fake_cifar10(first)
    args = ["--dataset", "cifar10", "--set", "train_size=50", "--set", "test_size=20", "--batch-size", "10",
            "--quiet"]
    assert main(["run", "fig1a", "--epochs", "1", "--data-dir", first, "--runs-dir", runs, *args]) == 0
    shutil.copytree(first, other)
    batch = os.path.join(other, "cifar-10-batches-py", "data_batch_1")   # another batch in its place
    shutil.copy(os.path.join(other, "cifar-10-batches-py", "data_batch_2"), batch)
    before = snapshot(runs)
    line = one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "2", "--data-dir", other, "--runs-dir", runs,
                               "--quiet"), "other images than", os.path.join(other, "cifar-10-batches-py"))
    trained = json.load(open(os.path.join(runs, "fig1a", "config.json")))["data"]["fingerprint"]
    assert trained[:16] in line
    assert snapshot(runs) == before
    same = str(tmp_path / "same")
    shutil.copytree(first, same)                                     # the same images elsewhere: fine
    result = hw5("run", "fig1a", "--resume", "--epochs", "2", "--data-dir", same, "--runs-dir", runs, "--quiet")
    assert result.returncode == 0, result.stderr
    assert _epochs(runs, "fig1a") == [1, 2]


# ------------------------------------------------------------ 4. links are not followed
@pytest.mark.parametrize("filename, command", [
    (".lock", ["run", "fig1a", "--epochs", "3"]),        # refused: would clobber; must not truncate the target
    (".lock", ["run", "fig1a", "--epochs", "3", "--resume"]),
    ("train.log", ["run", "fig1a", "--epochs", "3", "--resume"]),
    ("metrics.jsonl", ["run", "fig1a", "--epochs", "3", "--resume"]),
])
def test_links_among_a_runs_files_are_not_followed(finished, tmp_path, filename, command):
    outside = tmp_path / "outside.txt"
    path = os.path.join(finished, "fig1a", filename)
    if os.path.exists(path):
        shutil.copy(path, outside)
        os.remove(path)
    else:
        outside.write_text("precious\n")
    content = outside.read_bytes()
    os.symlink(outside, path)
    before = snapshot(finished)
    one_line_error(hw5(*command, "--runs-dir", finished, *TINY_ARGS), path, "link")
    assert outside.read_bytes() == content
    assert snapshot(finished) == before


# --------------------------------------------------- 8. stopped inside the first epoch
def test_a_run_stopped_in_its_first_epoch_continues_with_the_command_it_prints(tmp_path):
    # the loss points reach the file when training ends (it lasts less than FLUSH_SECONDS) and the interrupt
    # lands in the evaluation, which one image a batch makes last about half a second, many times the
    # interrupt's latency (at 50 images a batch it took milliseconds, and the epoch could finish first)
    args = ["--epochs", "1", "--set", "train_size=10000", "--set", "log_every=2", "--batch-size", "10",
            "--dataset", "synthetic", "--set", "test_size=50", "--set", "eval_batch_size=1", "--quiet"]
    whole = str(tmp_path / "whole")
    assert main(["run", "fig1a", "--runs-dir", whole, *args]) == 0
    runs = str(tmp_path / "runs")
    proc = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--runs-dir", runs, *args],
                            env=hw5_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = os.path.join(runs, "fig1a", "metrics.jsonl")
    _wait_for(lambda: os.path.isfile(metrics) and b'"iteration"' in open(metrics, "rb").read(), "a loss point",
              proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not _epochs(runs, "fig1a") and "no epoch had finished yet" in out
    command = shlex.split(out.split("Continue with:\n", 1)[1].strip().splitlines()[0])
    assert command[:3] == ["python", "-m", "hw5"]
    result = hw5(*command[3:], *[a for a in args if a not in ("--epochs", "1")])
    assert result.returncode == 0, result.stderr
    assert without_timing(RunFiles(runs, "fig1a").records()) == without_timing(RunFiles(whole, "fig1a").records())


def test_a_full_disk_at_the_first_checkpoint_can_be_resumed(tmp_path, monkeypatch):
    config = tiny("fig1a", epochs=2, log_every=3)
    whole, runs = str(tmp_path / "whole"), str(tmp_path / "runs")
    train(config, whole, quiet=True)
    save = mt.save

    def full(obj, f):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(mt, "save", full)
    with pytest.raises(RunStateError, match=r"checkpoint.npz \(No space left on device\); epoch 1 is lost.*--resume"):
        train(config, runs, quiet=True)
    monkeypatch.setattr(mt, "save", save)
    assert train(config, runs, resume=True, quiet=True).status == "finished"
    assert without_timing(RunFiles(runs, "fig1a").records()) == without_timing(RunFiles(whole, "fig1a").records())


# ---------------------------------------------------------------- 9. crafted checkpoints
def _drop(key):
    return lambda state: state.pop(key)


def _set(path, value):
    def change(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


CRAFTED = {
    "no dataset": (_drop("dataset"), "it lacks 'dataset'"),
    "metrics as text": (_set(["metrics"], "abc"), "'metrics' is a str, not a dict"),
    "loader none": (_set(["loader"], None), "'loader' is a none, not a dict"),
    "epoch as text": (_set(["position", "epoch"], "two"), "position.epoch is 'two'"),
    "config as a list": (_set(["config"], [1, 2]), "'config' is a list, not a dict"),
    "another learning rate": (_set(["optimizer", "param_groups", 0, "lr"], 5.0), "its optimizer has lr=5.0"),
    "another momentum": (_set(["optimizer", "param_groups", 0, "momentum"], 0.9), "momentum=0.9"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_checkpoint_is_refused_whole_before_anything_changes(finished, case):
    change, message = CRAFTED[case]
    path = os.path.join(finished, "fig1a", "checkpoint.npz")
    state = mt.load(path)
    change(state)
    mt.save(state, path)
    before = snapshot(finished)
    one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"),
                    path, message)
    assert snapshot(finished) == before


def test_honest_hyper_parameters_resume_including_a_learning_rate_schedule(tmp_path):
    """The check computes what the config gives after each epoch by the code that trains: equal to the bit."""
    config = tiny("fig2e", epochs=3, lr_step=1, lr_gamma=0.7, momentum=0.5)
    whole, runs = str(tmp_path / "whole"), str(tmp_path / "runs")
    train(config, whole, quiet=True)
    train(tiny("fig2e", epochs=2, lr_step=1, lr_gamma=0.7, momentum=0.5), runs, quiet=True)
    assert train(config, runs, resume=True, quiet=True).status == "finished"
    assert without_timing(RunFiles(runs, "fig2e").records()) == without_timing(RunFiles(whole, "fig2e").records())
    state = mt.load(os.path.join(runs, "fig2e", "checkpoint.npz"))
    state["scheduler"]["gamma"] = 0.9
    mt.save(state, os.path.join(runs, "fig2e", "checkpoint.npz"))
    with pytest.raises(RunStateError, match="its learning-rate schedule has gamma=0.9, but the config gives "
                                            "gamma=0.7"):
        train(tiny("fig2e", epochs=4, lr_step=1, lr_gamma=0.7, momentum=0.5), runs, resume=True, quiet=True)


# ------------------------------------------------------------------------ 10. one-liners
@pytest.mark.parametrize("args, message", [
    (["--lr", "nan"], "--lr must be a finite number, got nan"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--set", "momentum=nan"], "--set momentum= must be a finite number, got nan"),
])
def test_non_finite_numbers_are_refused(tmp_path, capsys, args, message):
    assert main(["run", "fig1a", *args, "--runs-dir", str(tmp_path), *TINY_ARGS]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_a_runs_folder_whose_name_is_not_utf8_is_aone_line_error(tmp_path):
    runs = os.path.join(os.fsencode(tmp_path), b"runs-\xff")
    result = subprocess.run([sys.executable, "-m", "hw5", "run", "fig1a", "--runs-dir", runs, *TINY_ARGS],
                            capture_output=True, text=True, env=hw5_env(), timeout=120)
    one_line_error(result, "--runs-dir", "is not valid UTF-8")
    assert not os.path.exists(runs)


def test_label_names_that_are_not_utf8_are_aone_line_error(tmp_path):
    folder = write_fake_cifar10(str(tmp_path / "data"))
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [b"\xff\xfe"] * 10}, f, protocol=2)
    one_line_error(hw5("run", "fig1a", "--dataset", "cifar10", "--data-dir", str(tmp_path / "data"),
                        "--runs-dir", str(tmp_path / "runs"), "--quiet"), "batches.meta", "not UTF-8")


def test_a_write_that_fails_names_its_file(tmp_path):
    """A file-size limit fails the first large write the way a full disk does: no file in the error."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))
    runs = str(tmp_path / "runs")
    result = subprocess.run([sys.executable, "-m", "hw5", "run", "fig1a", "--runs-dir", runs, *TINY_ARGS],
                            capture_output=True, text=True, env=hw5_env(), timeout=120, preexec_fn=limit)
    one_line_error(result, "File too large", os.path.join(runs, "fig1a", "config.json"))


def test_a_text_file_given_as_a_checkpoint_is_named_without_pickle_advice(finished):
    path = os.path.join(finished, "fig1a", "checkpoint.npz")
    with open(path, "w") as f:
        f.write("these are my notes\n")
    line = one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"),
                           path, "not a minitorch checkpoint")
    assert "pickle" not in line


def test_a_synthetic_fallback_run_resumes_on_synthetic_once_cifar10_appears(tmp_path):
    """The hw5 conftest points $MINITORCH_DATA at an empty folder: `auto` falls back to the synthetic set."""
    args = ["--dataset", "auto", "--set", "train_size=100", "--set", "test_size=50", "--set", "eval_batch_size=50",
            "--batch-size", "25", "--quiet"]
    whole, runs = str(tmp_path / "whole"), str(tmp_path / "runs")
    assert main(["run", "fig1a", "--epochs", "2", "--runs-dir", whole, *args]) == 0
    assert main(["run", "fig1a", "--epochs", "1", "--runs-dir", runs, *args]) == 0
    write_fake_cifar10(os.environ["MINITORCH_DATA"])
    result = hw5("run", "fig1a", "--epochs", "2", "--resume", "--runs-dir", runs, *args)
    assert result.returncode == 0, result.stderr
    assert "goes on with the synthetic set" in result.stderr
    assert without_timing(RunFiles(runs, "fig1a").records()) == without_timing(RunFiles(whole, "fig1a").records())
    assert RunFiles(runs, "fig1a").read_config()["data"]["name"] == "synthetic"


def test_one_damaged_run_does_not_stop_list_from_listing_the_others(finished, capsys):
    assert main(["run", "fig1b", "--epochs", "1", "--runs-dir", finished, *TINY_ARGS]) == 0
    with open(os.path.join(finished, "fig1a", "config.json"), "w") as f:
        f.write("{")
    capsys.readouterr()
    assert main(["list", "--runs-dir", finished]) == 2
    out, err = capsys.readouterr()
    assert "1/1 epochs" in out and "damaged" in out
    assert err.count("\n") == 1 and "fig1a/config.json is not valid JSON" in err


def test_report_on_a_read_only_runs_folder_writes_only_to_out(finished, tmp_path, monkeypatch, capsys):
    """Root ignores permission bits, so the runs folder refuses where files are renamed into it."""
    out = str(tmp_path / "report")
    curves = os.path.join(finished, "fig1a", "curves.png")
    inode = os.stat(curves).st_ino
    assert main(["report", "--runs-dir", finished, "--out", out]) == 0
    assert os.stat(curves).st_ino == inode                       # the run drew it: not written again
    with open(os.path.join(finished, "fig1a", "metrics.jsonl"), "a") as f:   # now its drawing is out of date
        last = json.loads(open(os.path.join(finished, "fig1a", "metrics.jsonl")).readlines()[-1])
        assert last["epoch"] == 2
        f.write(json.dumps({**last, "epoch": 3}) + "\n")
    before = snapshot(finished)
    replace, runs = os.replace, os.path.abspath(finished)

    def read_only(src, dst, *args, **kwargs):
        if os.path.abspath(dst).startswith(runs + os.sep):
            raise PermissionError(errno.EROFS, "Read-only file system", dst)
        return replace(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "replace", read_only)
    assert main(["report", "--runs-dir", finished, "--out", out]) == 0, capsys.readouterr().err
    assert snapshot(finished) == before
    assert not [n for n in os.listdir(os.path.join(finished, "fig1a")) if n.startswith(".tmp-")]
    report = open(os.path.join(out, "REPORT.md")).read()
    assert "[png](curves/fig1a.png)" in report and os.path.isfile(os.path.join(out, "curves", "fig1a.png"))


def test_lowering_epochs_below_those_run_is_refused(finished):
    before = snapshot(finished)
    one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "1", "--runs-dir", finished, "--quiet"),
                    "has run 2 epochs already", "--epochs 2 or more")
    assert snapshot(finished) == before


def test_report_clears_what_a_killed_report_left(finished, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    dead = 2 ** 22 + 12345                                       # above Linux's largest pid: no such process
    for folder in (out, os.path.join(finished, "fig1a")):
        with open(os.path.join(folder, f".tmp-{dead}-abc"), "wb") as f:
            f.write(b"\x89PNG half")
    alive = out / f".tmp-{os.getpid()}-xyz"                      # a live writer's: kept
    alive.write_bytes(b"")
    result = hw5("report", "--runs-dir", finished, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert [n for n in os.listdir(out) if n.startswith(".tmp-")] == [alive.name]
    assert not [n for n in os.listdir(os.path.join(finished, "fig1a")) if n.startswith(".tmp-")]
