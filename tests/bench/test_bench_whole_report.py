"""benchmarks/whole_report.py: reading the runs a report run trained, PyTorch's projection, the section it writes.

No report is run here (that takes an hour); the runs are written by hand.
"""
from __future__ import annotations

import json

import pytest

from benchmarks import whole_report


def _run(tmp_path, name, times, diverged=False):
    folder = tmp_path / name
    folder.mkdir()
    lines = [{"type": "iteration", "epoch": 1, "iteration": 0, "loss": 2.3}]
    last = len(times) - 1
    lines += [{"type": "epoch", "epoch": i + 1, "time": t, "train_time": t - 1, "diverged": diverged and i == last}
              for i, t in enumerate(times)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (folder / "config.json").write_text(json.dumps({"name": name}))


def test_runs_are_read_from_their_epoch_records(tmp_path):
    _run(tmp_path, "fig1a", [3.0, 4.0])
    _run(tmp_path, "fig2a", [10.0], diverged=True)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "not-a-run" / "metrics.jsonl").write_text("")   # no config.json: not a run
    runs = whole_report.trained_runs(tmp_path)
    assert runs == [{"run": "fig1a", "epochs": 2, "seconds": 7.0, "train_seconds": 5.0, "diverged": False},
                    {"run": "fig2a", "epochs": 1, "seconds": 10.0, "train_seconds": 9.0, "diverged": True}]


def test_settings_group_runs_that_cost_the_same():
    from hw5.experiments import get_experiment

    setting = whole_report.setting
    assert setting(get_experiment("fig2a")) == setting(get_experiment("fig1d"))    # only lr differs
    assert setting(get_experiment("fig3b")) != setting(get_experiment("fig3a"))    # flips
    assert setting(get_experiment("fig1c")) != setting(get_experiment("fig1b"))    # no activations
    assert setting(get_experiment("fig1e")) != setting(get_experiment("fig1d"))    # batch size


def test_pytorch_is_projected_per_run_and_scheduled_two_at_a_time(tmp_path):
    from hw5.experiments import get_experiment

    _run(tmp_path, "fig1a", [2.0] * 3)
    _run(tmp_path, "fig3a", [5.0] * 4)
    _run(tmp_path, "fig2a", [5.0] * 2)
    runs = whole_report.trained_runs(tmp_path)
    key = lambda name: repr(whole_report.setting(get_experiment(name)))  # noqa: E731
    torch = {key("fig1a"): {"epoch_s": 1.0}, key("fig3a"): {"epoch_s": 10.0}}   # fig2a shares fig3a's setting
    res = whole_report.summary(runs, wall_s=25.0, torch=torch)
    assert [r["torch_projected_s"] for r in res["runs"]] == [3.0, 20.0, 40.0]
    assert res["torch_compute_s"] == 63.0
    assert res["torch_two_at_a_time_s"] == 40.0        # 40 on one slot, 20 + 3 on the other
    assert (res["compute_s"], res["two_at_a_time_s"], res["epochs"]) == (36.0, 20.0, 9)

    res.update(command="python -m hw5 run all", summarised_by="python -m benchmarks.whole_report", commit="abc1234",
               environment={"date": "2026-12-07T00:00:00", "cpu": "a CPU", "logical_cores": 2},
               load_start=[1.0, 1.0, 1.0], load_end=[2.0, 2.0, 2.0], note="")
    text = whole_report.markdown(res)
    assert "0h00m" in text and "target 1h30m: met" in text
    assert "| fig3a | 4 | 5.0 | 10.0 |" in text
    assert text.count("\n| fig") == 3


def test_wall_clock_needs_the_runs_it_timed(capsys):
    with pytest.raises(SystemExit):
        whole_report.main(["--wall-s", "100"])
    assert "--runs-dir" in capsys.readouterr().err


def test_a_run_is_timed_read_and_written(tmp_path, monkeypatch):
    """The command's path end to end, on one tiny run in place of the report's twelve."""
    import sys

    tiny = [sys.executable, "-m", "hw5", "run", "fig1a", "--epochs", "2", "--dataset", "synthetic", "--quiet",
            "--set", "train_size=40", "--set", "test_size=20"]
    monkeypatch.setattr(whole_report, "report_command", lambda runs_dir: [*tiny, "--runs-dir", runs_dir])
    runs = tmp_path / "runs"
    res = whole_report.main(["--runs-dir", str(runs), "--no-torch", "--out", str(tmp_path)])
    assert [(r["run"], r["epochs"]) for r in res["runs"]] == [("fig1a", 2)]
    assert 0 < res["compute_s"] < res["wall_s"] and "torch_compute_s" not in res
    assert json.loads((tmp_path / "whole_report.json").read_text())["epochs"] == 2
    assert "| fig1a | 2 |" in (tmp_path / "whole_report.md").read_text()
