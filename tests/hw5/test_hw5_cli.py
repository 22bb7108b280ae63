"""``python -m hw5`` end to end on tiny synthetic runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hw5_helpers import REPO, TINY_ARGS, epochs_in, hw5

import minitorch as mt
from hw5.cli import expand_names, main
from hw5.runfiles import RunFiles


def test_list_shows_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("fig1a", "fig2e", "fig3d"):
        assert name in out
    assert "fig2 = fig2a fig2b fig2c fig2d fig2e" in out


def test_figure_names_expand_to_their_panels_and_a_shared_run_is_trained_once():
    assert expand_names(["fig3", "fig1a", "fig3a"]) == ["fig3a", "fig3b", "fig1d", "fig3d", "fig1a"]
    assert expand_names(["fig2c", "fig1d", "fig3c"]) == ["fig1d"]
    every = expand_names(["all"])      # fig1d is fig3a's first 50 epochs: `all` trains fig3a only
    assert len(every) == 12 and "fig3a" in every and "fig1d" not in every


def test_list_says_which_panels_are_the_same_run(capsys):
    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("fig")}
    assert lines["fig2c"].endswith("= fig1d") and lines["fig3c"].endswith("= fig1d")
    assert not lines["fig1d"].endswith("= fig1d")


def test_run_then_report(tmp_path, capsys):
    runs, out = str(tmp_path / "runs"), str(tmp_path / "report")
    assert main(["run", "fig1a", "fig1c", "--epochs", "2", "--lr", "0.05", "--runs-dir", runs, *TINY_ARGS]) == 0
    config = RunFiles(runs, "fig1c").read_config()
    assert (config["epochs"], config["lr"], config["seed"], config["batch_size"]) == (2, 0.05, 0, 25)
    assert (config["model"], config["activation"], config["train_size"]) == ("boringnet", False, 100)
    assert os.path.getsize(os.path.join(runs, "fig1c", "curves.png")) > 1000   # drawn by `run` itself

    assert main(["list", "--runs-dir", runs]) == 0
    assert "2/2 epochs" in capsys.readouterr().out

    assert main(["report", "--runs-dir", runs, "--out", out]) == 0
    report = open(os.path.join(out, "REPORT.md")).read()
    assert "WARNING: NOT CIFAR-10" in report
    other = "(other settings: batch_size 25, lr 0.05, test_size 50, train_size 100)"   # TINY_ARGS and --lr
    assert f"| `fig1a` | LazyNet {other} |" in report and f"| `fig1c` | BoringNet without activations {other} |" \
        in report
    assert "![fig1](fig1.png)" in report and "fig2.png" not in report
    for path in (os.path.join(out, "fig1.png"), os.path.join(runs, "fig1a", "curves.png")):
        assert os.path.getsize(path) > 1000


def test_quick_runs_the_three_networks_and_writes_the_report(tmp_path):
    runs, out = str(tmp_path / "runs"), str(tmp_path / "report")
    assert main(["quick", "--dataset", "synthetic", "--runs-dir", runs, "--out", out,
                 "--set", "train_size=40", "--set", "test_size=20"]) == 0
    assert sorted(os.listdir(runs)) == ["fig1a", "fig1b", "fig1d"]
    assert RunFiles(runs, "fig1d").read_config()["epochs"] == 2
    again = ["quick", "--dataset", "synthetic", "--runs-dir", runs, "--out", out, "--set", "train_size=40",
             "--set", "test_size=20"]
    assert main(again) == 2                     # quick keeps records as run does: never replaced silently
    assert main([*again, "--resume"]) == 0      # nothing left to train; the report again
    assert os.path.isfile(os.path.join(out, "REPORT.md")) and os.path.isfile(os.path.join(out, "fig1.png"))


@pytest.mark.parametrize("args, message", [
    (["run", "fig9z"], "unknown experiment 'fig9z'"),
    (["run", "fig1a", "--set", "colour=blue"], "unknown config field 'colour'"),
    (["run", "fig1a", "--set", "epochs=many"], "epochs: expected int"),
    (["run", "fig1a", "--epochs", "0"], "epochs must be positive"),
])
def test_mistakes_are_one_line_errors(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    if mt.cupy_available():
        pytest.skip("this machine has a GPU")
    assert main(["run", "fig1a", "--device", "cuda", *TINY_ARGS]) == 1
    assert "--device cuda needs CuPy" in capsys.readouterr().err


def test_missing_cifar10_fails_with_instructions_and_no_traceback(tmp_path):
    result = hw5("run", "fig1a", "--dataset", "cifar10", "--data-dir", str(tmp_path / "nowhere"),
                 "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 1
    assert "CIFAR-10 is not in" in result.stderr and "cifar-10-python.tar.gz" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(tmp_path):
    runs = str(tmp_path / "runs")
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-m", "hw5", "run", "fig1a", "--epochs", "1000", "--runs-dir", runs,
                             *TINY_ARGS], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    metrics = os.path.join(runs, "fig1a", "metrics.jsonl")
    deadline = time.monotonic() + 60
    while not (os.path.isfile(metrics) and epochs_in(metrics)):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never finished an epoch"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "python -m hw5 run fig1a --resume" in out and "Traceback" not in out
    saved = mt.load(os.path.join(runs, "fig1a", "checkpoint.npz"))["position"]["epoch"]
    epochs = [json.loads(line)["epoch"] for line in open(metrics) if '"epoch"' in line]
    assert saved >= 1 and max(epochs) >= saved


def test_resume_continues_the_saved_config_and_refuses_to_change_it(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["run", "fig1b", "--epochs", "1", "--lr", "0.02", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert main(["run", "fig1b", "--resume", "--lr", "0.5", "--runs-dir", runs, "--quiet"]) == 2
    assert "cannot change lr of a run being resumed (it was lr=0.02)" in capsys.readouterr().err
    assert main(["run", "fig1b", "--resume", "--epochs", "2", "--runs-dir", runs, "--quiet"]) == 0
    config = RunFiles(runs, "fig1b").read_config()
    assert (config["epochs"], config["lr"], config["train_size"]) == (2, 0.02, 100)   # saved, not the registry's
    assert [r["epoch"] for r in RunFiles(runs, "fig1b").records() if r["type"] == "epoch"] == [1, 2]


def test_a_seed_is_part_of_the_run_name(tmp_path, capsys):
    """``--seed N`` trains ``<panel>-seedN`` (never over seed 0's records); a name's seed and --seed must agree."""
    runs = str(tmp_path / "runs")
    assert main(["run", "fig1a", "--seed", "2", "--epochs", "1", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert main(["run", "fig1a-seed1", "--epochs", "1", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert sorted(os.listdir(runs)) == ["fig1a-seed1", "fig1a-seed2"]
    seeds = {name: RunFiles(runs, name).read_config()["seed"] for name in os.listdir(runs)}
    assert seeds == {"fig1a-seed1": 1, "fig1a-seed2": 2}
    assert RunFiles(runs, "fig1a-seed1").epochs() != RunFiles(runs, "fig1a-seed2").epochs()
    capsys.readouterr()
    assert main(["run", "fig1a-seed1", "--seed", "2", "--runs-dir", runs, *TINY_ARGS]) == 2
    assert "fig1a-seed1 is seed 1's run; --seed 2 contradicts it" in capsys.readouterr().err
    for bad in ("fig1a-seed0", "fig1a-seed01", "fig1a-seedx", "fig9-seed1"):
        assert main(["run", bad, "--runs-dir", runs, *TINY_ARGS]) == 2
        assert f"unknown experiment {bad!r}" in capsys.readouterr().err


def test_seeds_expand_to_every_seeded_panel_beyond_seed_0():
    names = expand_names(["seeds"])
    assert names[:2] == ["fig1e-seed1", "fig1f-seed1"] and len(names) == 10
    assert expand_names(["fig2c-seed2", "fig1d-seed2"]) == ["fig1d-seed2"]   # one run behind both panels


def test_every_session_of_a_run_records_where_its_numbers_came_from(tmp_path):
    runs = str(tmp_path / "runs")
    assert main(["run", "fig1a", "--epochs", "1", "--runs-dir", runs, *TINY_ARGS]) == 0
    assert main(["run", "fig1a", "--epochs", "2", "--resume", "--runs-dir", runs, *TINY_ARGS]) == 0
    sessions = RunFiles(runs, "fig1a").read_config()["provenance"]
    assert [s["from_epoch"] for s in sessions] == [1, 2]
    for session in sessions:
        assert len(session["commit"]) == 40 and isinstance(session["dirty"], bool)
        assert session["numpy"] == np.__version__ and session["python"].count(".") == 2
        assert session["cpu"] and session["threads"]["numba"] >= 1 and session["capture"] is True
