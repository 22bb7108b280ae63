"""Runs safe, round 3: what a third adversarial pass found, each ending in one line and exit status 2 with
nothing changed, or in a run that goes on correctly.

1. a kill while the first checkpoint is saved; 2. a hard-linked snapshot of a run; 3. --overwrite and train.log;
4. settings that crashed a run; 5. odd values in valid JSON, for the report; 7. messages that said too little or
promised too much; 8. the results table and runs trained otherwise.  (6, CIFAR-10 folders that are incomplete
or hold no images, is in tests/data/test_data_cifar10.py and test_hw5_data.py.)
"""
from __future__ import annotations

import json
import os
import shutil

import pytest
from hw5_fake_runs import panel_run
from hw5_helpers import TINY_ARGS, hw5, one_line_error, snapshot, tiny, without_timing

import minitorch as mt
from hw5.cli import main
from hw5.report import table
from hw5.results import load_runs, views
from hw5.runfiles import RunFiles
from hw5.train import train


def _epochs(runs, name):
    return [r["epoch"] for r in RunFiles(runs, name).epochs()]


def _error(capsys) -> str:
    """The one line a refused in-process command printed (no traceback)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _same_weights(a, b):
    saved, other = mt.load(a)["model"], mt.load(b)["model"]
    return all((saved[key].numpy() == value.numpy()).all() for key, value in other.items())


# ------------------------------------------------- 1. killed while saving the first checkpoint
class Killed(BaseException):
    """What ``kill -9`` does to the Python code it lands in: it runs no further, and nothing catches it."""


def test_a_run_killed_while_saving_its_first_checkpoint_resumes_to_the_same_numbers(tmp_path, monkeypatch,
                                                                                     capsys):
    config = tiny("fig1d", epochs=2, log_every=3)
    whole, runs = str(tmp_path / "whole"), str(tmp_path / "runs")
    train(config, whole, quiet=True)

    def killed(obj, f):
        f.write(b"PK")                                  # the first checkpoint, half written
        with open(os.path.join(runs, "fig1d", ".tmp-4194303-dead"), "wb") as left:   # what the kill leaves
            left.write(b"PK")
        raise Killed
    monkeypatch.setattr(mt, "save", killed)
    with pytest.raises(Killed):
        train(config, runs, quiet=True)
    monkeypatch.undo()
    files = RunFiles(runs, "fig1d")
    assert _epochs(runs, "fig1d") == [1] and not files.has_checkpoint()   # epoch 1's record, no checkpoint
    lines = len(open(files.path("metrics.jsonl")).readlines())
    capsys.readouterr()

    assert train(config, runs, resume=True, quiet=True).status == "finished"
    out = capsys.readouterr().out
    assert f"dropped {lines} line(s) of metrics.jsonl of epoch 1, which was cut short before its checkpoint was " \
           "saved; starting again from epoch 1" in out
    assert without_timing(files.records()) == without_timing(RunFiles(whole, "fig1d").records())
    assert _same_weights(files.checkpoint, os.path.join(whole, "fig1d", "checkpoint.npz"))
    assert not [name for name in os.listdir(files.dir) if name.startswith(".tmp-")]
    log = open(files.path("train.log")).read()
    assert log.count("writing") == 2 and "cut short before its checkpoint" in log   # a resume keeps the log


def test_more_than_one_epoch_without_a_checkpoint_is_still_refused(finished):
    """Only the first epoch can have been cut short before any checkpoint: more is a committed run's records."""
    os.remove(os.path.join(finished, "fig1a", "checkpoint.npz"))
    before = snapshot(finished)
    assert main(["run", "fig1a", "--resume", "--runs-dir", finished, "--quiet"]) == 2
    assert snapshot(finished) == before


# --------------------------------------------------------------- 2. hard-linked snapshots
def test_a_hard_linked_snapshot_keeps_its_files_while_the_run_goes_on(finished, tmp_path):
    copy = str(tmp_path / "snapshot")
    shutil.copytree(finished, copy, copy_function=os.link)       # cp -al: every file shared with the run
    before = snapshot(copy)
    assert main(["run", "fig1a", "--resume", "--epochs", "4", "--runs-dir", finished, "--quiet"]) == 0
    assert snapshot(copy) == before
    assert _epochs(copy, "fig1a") == [1, 2] and _epochs(finished, "fig1a") == [1, 2, 3, 4]
    for name in ("metrics.jsonl", "train.log"):
        assert os.stat(os.path.join(finished, "fig1a", name)).st_nlink == 1   # the run's own copies now


# -------------------------------------------------------------------- 3. --overwrite
def test_overwrite_keeps_nothing_of_the_discarded_run(tmp_path):
    runs, fresh = str(tmp_path / "runs"), str(tmp_path / "fresh")
    assert main(["run", "fig1a", "--epochs", "2", "--lr", "0.05", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert main(["run", "fig1a", "--epochs", "1", "--overwrite", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert main(["run", "fig1a", "--epochs", "1", "--runs-dir", fresh, *TINY_ARGS]) == 0
    assert sorted(os.listdir(os.path.join(runs, "fig1a"))) == sorted(os.listdir(os.path.join(fresh, "fig1a")))
    assert without_timing(RunFiles(runs, "fig1a").records()) == without_timing(RunFiles(fresh, "fig1a").records())
    log = open(os.path.join(runs, "fig1a", "train.log")).read()
    assert log.count("writing") == 1 and "lr 0.05" not in log and "epoch   2/2" not in log
    assert [s["from_epoch"] for s in RunFiles(runs, "fig1a").read_config()["provenance"]] == [1]
    assert _same_weights(os.path.join(runs, "fig1a", "checkpoint.npz"),
                         os.path.join(fresh, "fig1a", "checkpoint.npz"))


# --------------------------------------------------------------- 4. settings that crashed a run
@pytest.mark.parametrize("args, message", [
    (["--set", "lr_gamma=-1", "--set", "lr_step=1"], "lr_gamma must be a finite number, not negative, got -1.0"),
    (["--set", "device=tpu"], "device must be cpu or cuda, not 'tpu'"),
    (["--epochs", "99999999999999999999999"], "epochs must be at most 100000"),
    (["--set", "train_size=99999999999999999999"], "train_size must be from 1 to 50000"),
])
def test_settings_that_would_crash_a_run_are_refused_before_anything_is_written(tmp_path, capsys, args, message):
    runs = str(tmp_path / "runs")
    assert main(["run", "fig1a", "--runs-dir", runs, "--dataset", "synthetic", "--quiet", *args]) == 2
    assert message in _error(capsys)
    assert not os.path.exists(runs)


@pytest.mark.parametrize("field, text", [("lr", "NaN"), ("lr_gamma", "-1"), ("device", '"tpu"'),
                                         ("epochs", "1" + "0" * 30)])
def test_an_impossible_value_in_config_json_is_named_on_resume(finished, capsys, field, text):
    path = os.path.join(finished, "fig1a", "config.json")
    config = json.load(open(path))
    with open(path, "w") as f:
        f.write(json.dumps(config, indent=2).replace(f'"{field}": {json.dumps(config[field])}',
                                                     f'"{field}": {text}'))
    before = snapshot(finished)
    assert main(["run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"]) == 2
    line = _error(capsys)
    assert f"{path}: {field} must be" in line and "--overwrite" in line
    assert snapshot(finished) == before


# ------------------------------------------------------------ 5. odd values in valid JSON
def _edit_config(change):
    def edit(folder):
        path = os.path.join(folder, "config.json")
        config = json.load(open(path))
        change(config)
        json.dump(config, open(path, "w"))
        return path
    return edit


def _edit_epoch_record(key, value):
    def edit(folder):
        path = os.path.join(folder, "metrics.jsonl")
        lines = open(path).read().splitlines()
        number = next(i for i, line in enumerate(lines) if '"type":"epoch"' in line)
        record = json.loads(lines[number])
        record[key] = value
        lines[number] = json.dumps(record)
        open(path, "w").write("\n".join(lines) + "\n")
        return f"{path}, line {number + 1}, is damaged"
    return edit


ODD = {
    "data null": (_edit_config(lambda c: c.update(data=None)), "'data' is not an object"),
    "data text": (_edit_config(lambda c: c.update(data="x")), "'data' is not an object"),
    "epochs null": (_edit_config(lambda c: c.update(epochs=None)), "'epochs' is None"),
    "epochs 10**30": (_edit_config(lambda c: c.update(epochs=10 ** 30)), "epochs must be at most"),
    "epoch as text": (_edit_epoch_record("epoch", "1"), "its 'epoch' is '1', not a whole number"),
    "epoch NaN": (_edit_epoch_record("epoch", float("nan")), "its 'epoch' is nan"),
    "accuracy as text": (_edit_epoch_record("test_acc", "high"), "its 'test_acc' is 'high', not a number"),
}


@pytest.mark.parametrize("case", list(ODD))
def test_report_refuses_odd_values_in_one_line_naming_the_file(finished, tmp_path, capsys, case):
    edit, message = ODD[case]
    where = edit(os.path.join(finished, "fig1a"))
    assert main(["report", "--runs-dir", finished, "--out", str(tmp_path / "report")]) == 2
    line = _error(capsys)
    assert where in line and message in line


# ----------------------------------------------------------------------------- 7. messages
def test_a_damaged_line_the_checkpoint_goes_with_is_not_promised_to_resume(finished, capsys):
    path = os.path.join(finished, "fig1a", "metrics.jsonl")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-20])                           # the last line, that of the checkpoint, cut
    assert main(["list", "--runs-dir", finished]) == 2
    line = _error(capsys)
    assert "is damaged (the line is cut short)" in line and "--resume cannot repair it" in line
    assert main(["run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"]) == 2
    assert "does not match" in _error(capsys)                   # as said: resume refuses it


def test_a_checkpoint_put_back_from_an_earlier_epoch_says_which_epochs_are_trained_again(tmp_path, capsys):
    whole, runs = str(tmp_path / "whole"), str(tmp_path / "runs")
    train(tiny("fig1a", epochs=3), whole, quiet=True)
    train(tiny("fig1a", epochs=1), runs, quiet=True)
    older = open(os.path.join(runs, "fig1a", "checkpoint.npz"), "rb").read()
    train(tiny("fig1a", epochs=3), runs, resume=True, quiet=True)
    open(os.path.join(runs, "fig1a", "checkpoint.npz"), "wb").write(older)
    capsys.readouterr()
    assert train(tiny("fig1a", epochs=3), runs, resume=True, quiet=True).status == "finished"
    out = capsys.readouterr().out
    assert "written after the checkpoint of epoch 1, among them 2 finished epoch(s) (2-3): the checkpoint is " \
           "older than the records" in out and "cut short" not in out
    assert without_timing(RunFiles(runs, "fig1a").records()) == without_timing(RunFiles(whole, "fig1a").records())


def test_a_folder_among_the_temporaries_is_named_with_its_path(finished, capsys):
    folder = os.path.join(finished, "fig1a", ".tmp-1-ab")
    os.mkdir(folder)
    before = snapshot(finished)
    assert main(["run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"]) == 2
    assert f"{folder} is a folder" in _error(capsys)
    assert snapshot(finished) == before and os.path.isdir(folder)


@pytest.mark.parametrize("command", [["run", "fig1a", *TINY_ARGS], ["list"], ["report"]])
def test_an_empty_runs_folder_name_is_refused(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--runs-dir", ""]) == 2
    assert "--runs-dir is empty" in _error(capsys)
    assert os.listdir(tmp_path) == []


def test_a_setting_given_twice_is_refused(tmp_path, capsys):
    assert main(["run", "fig1a", "--set", "lr=0.1", "--set", "lr=0.2", "--runs-dir", str(tmp_path),
                 *TINY_ARGS]) == 2
    assert "--set lr= is given twice (--set lr=0.1, --set lr=0.2)" in _error(capsys)
    assert os.listdir(tmp_path) == []


def test_a_damaged_checkpoint_is_named_first(finished):
    path = os.path.join(finished, "fig1a", "checkpoint.npz")
    open(path, "wb").write(b"")
    line = one_line_error(hw5("run", "fig1a", "--resume", "--epochs", "3", "--runs-dir", finished, "--quiet"), path)
    assert line.startswith(f"python -m hw5 run: error: {path} ")


# ------------------------------------------------------------- 8. runs trained otherwise
def test_the_results_table_marks_runs_trained_otherwise(runs_dir, tmp_path):
    panel_run(runs_dir, "fig1a", lr=0.5, momentum=0.9)
    lazy = panel_run(str(tmp_path / "elsewhere"), "fig1a")
    shutil.copytree(lazy.dir, os.path.join(runs_dir, "fig1b"))     # a LazyNet run copied into fig1b's folder
    panel_run(runs_dir, "fig1c")
    rows = {line.split(" | ")[0]: line for line in table(views(load_runs(runs_dir)), str(tmp_path)).splitlines()}
    assert "| LazyNet (other settings: lr 0.5, momentum 0.9) |" in rows["| `fig1a`"]
    assert "| BoringNet (other settings: model lazynet; config names `fig1a`) |" in rows["| `fig1b`"]
    assert "| BoringNet without activations |" in rows["| `fig1c`"]
