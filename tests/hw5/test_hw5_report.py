"""Plots and REPORT.md from run folders alone, including diverged, partial and missing runs."""
from __future__ import annotations

import glob
import json
import math
import os
import subprocess
import sys

import pytest
from hw5_fake_runs import WORLD, panel_run, world
from hw5_helpers import REPO, hw5_env

from hw5 import plots
from hw5.claims import pct
from hw5.experiments import EXPERIMENTS, seeded_name
from hw5.plots import COMPARISONS, draw_loss, panel_caption, plot_comparison, plot_figure, plot_run
from hw5.report import figure_section, readme_section, render, table, time_section, two_at_a_time, write_report
from hw5.results import load_runs, view
from hw5.runfiles import RunFiles, RunStateError


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
    fake_run(runs, "fig2b", [0.40, 0.55, 0.50])
    fake_run(runs, "fig3a", [0.3], epochs=200)
    report = open(write_report(runs, out)).read()
    row = next(line for line in report.splitlines() if line.startswith("| `fig2b`"))
    assert "| 1 | 50.0% | 55.0% (2) | 48.3% | 3 / 3 | finished |" in row
    assert "diverged in epoch 2" in report and "| 1 / 200 |" in report and "stopped after 1 of 200" in report
    assert "| `fig2b` | `fig2b` | 0 | 3 / 3 | finished | 3m00s | unknown" in report      # the runs table
    assert "WARNING" not in report                       # every run used CIFAR-10
    assert "![fig2](fig2.png)" in report and "![fig3](fig3.png)" in report
    assert "(d) CoolNet, batch size 4, fig3a's first 50 epochs; epoch 1/50, stopped" in report   # so far
    for path in ("fig2.png", "fig3.png", "compare-lr.png", "compare-flips.png"):
        assert os.path.getsize(os.path.join(out, path)) > 1000
    assert os.path.getsize(os.path.join(runs, "fig2a", "curves.png")) > 1000   # NaN points skipped
    assert "Generated" not in report and "20" + "26-" not in report             # no date: regenerating is stable


def test_any_synthetic_run_is_flagged(tmp_path):
    runs, out = str(tmp_path / "runs"), str(tmp_path / "report")
    fake_run(runs, "fig1a", [0.2])
    fake_run(runs, "fig1b", [0.3], dataset="synthetic")
    report = open(write_report(runs, out)).read()
    warning = next(p for p in report.split("\n\n") if "WARNING" in p)
    assert warning.startswith("> **WARNING: NOT CIFAR-10.**") and "`fig1b`" in warning and "`fig1a`" not in warning
    assert report.index("WARNING") < report.index("## Results")
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


def test_trimming_keeps_exactly_the_lines_the_checkpoint_went_with(tmp_path):
    files = fake_run(str(tmp_path), "fig1a", [0.1, 0.2])
    saved = files.fingerprint()
    files.append({"type": "iteration", "epoch": 3, "iteration": 1000, "loss": 1.0})
    assert files.trim_to(saved) == 1
    assert [(r["type"], r["epoch"]) for r in files.records()] == [
        ("iteration", 1), ("epoch", 1), ("iteration", 2), ("epoch", 2)]
    assert files.trim_to(saved) == 0


def test_trimming_refuses_metrics_of_another_run(tmp_path):
    files = fake_run(str(tmp_path), "fig1a", [0.1, 0.2])
    saved = files.fingerprint()
    other = fake_run(str(tmp_path), "fig1a", [0.1, 0.25])          # same length, other numbers
    with pytest.raises(RunStateError, match="not from the same run"):
        other.trim_to(saved)
    shorter = fake_run(str(tmp_path / "b"), "fig1a", [0.1])
    with pytest.raises(RunStateError, match="goes with 4 lines; the file has 2"):
        shorter.trim_to(saved)



def test_compute_is_the_sum_of_epoch_times_and_schedules_two_at_a_time(runs_dir):
    assert two_at_a_time([3, 3, 2, 2, 2]) == 7 and two_at_a_time([5, 1, 1]) == 5 and two_at_a_time([]) == 0
    world(runs_dir, fig3b=dict(done=100), fig3d=None)
    panel_run(runs_dir, "fig1e-seed1", seconds=30.0)
    text = time_section(load_runs(runs_dir))
    # 11 seed-0 runs at 60 s an epoch: 8 of 50 epochs, 150, 200 and 100 (of 200): 850 min.
    # Longest first, each to the emptier slot: 200 | 150 + 100, then the eight 50s end at 450 | 400;
    # the seed run's 25 min (30 s an epoch) go to the second slot.
    assert "The 15 panels need 12 runs with seed 0 (1,000 epochs); the seed statistics 10 more (1,300 epochs)" in text
    assert "| the panels' runs (seed 0) | 11 | 850 | 14h10m | 7h30m |" in text
    assert "| the seed runs | 1 | 50 | 25m00s | 25m00s |" in text
    assert "| all | 12 | 900 | 14h35m | 7h30m |" in text
    # fig3b projected to 200 epochs: 200 | 200, then 150 + 4 x 50 + 25 | 8 x 50 ... = 975 min in all
    assert "| all, projected with `fig3b` run to the end | 12 | 1,000 | 16h15m | 8h20m |" in text
    assert "Not counted, not run yet: `fig3d`." in text and "longest first" in text and "7-10 CPU-hours" in text


def test_a_running_run_is_marked_running_and_a_dead_writer_is_not(runs_dir):
    files = panel_run(runs_dir, "fig3a", done=37)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    plots.draw_accuracy(ax, load_runs(runs_dir)["fig3a"])
    assert ax.get_xlim() == (0, 201)                        # the epochs still to come are visibly empty
    plt.close(fig)
    child = subprocess.Popen([sys.executable, "-c", "print(flush=True); import time; time.sleep(60)", "hw5"],
                             stdout=subprocess.PIPE)
    try:
        child.stdout.readline()                             # its command line is in place once it runs
        with open(files.path(".lock"), "w") as f:
            f.write(f"{child.pid}\n")
        run = load_runs(runs_dir)["fig3a"]
        assert run.running and run.progress == "epoch 37/200, running" and not run.complete
        assert "epoch 37/200, running" in panel_caption("fig3a", {"fig3a": run})
    finally:
        child.kill()
        child.wait()
    run = load_runs(runs_dir)["fig3a"]
    assert not run.running and run.progress == "epoch 37/200, stopped"


def test_lr10_huge_test_loss_reads_on_a_log_axis_and_diverged_runs_render(runs_dir, tmp_path):
    import matplotlib.pyplot as plt
    panel_run(runs_dir, "fig2a", **WORLD["fig2a"])                     # training ~4.1, test ~4e4
    run = load_runs(runs_dir)["fig2a"]
    fig, (both, training) = plt.subplots(1, 2)
    draw_loss(both, run, with_test=True)
    draw_loss(training, run)
    assert both.get_yscale() == "log" and training.get_yscale() == "linear"
    low, high = both.get_ylim()
    assert low < 4.1 and high > 4e4
    plt.close(fig)
    for diverge_at in (1, 4):                                            # NaN from the start, and later
        runs = str(tmp_path / f"diverged-{diverge_at}")
        panel_run(runs, "fig2a", **{**WORLD["fig2a"], "diverge_at": diverge_at})
        loaded = load_runs(runs)
        assert loaded["fig2a"].progress == f"diverged in epoch {diverge_at}"
        out = str(tmp_path / f"out-{diverge_at}")
        paths = [plot_run(loaded["fig2a"], os.path.join(out, "curves.png")),
                 plot_figure("fig2", loaded, os.path.join(out, "fig2.png")),
                 plot_comparison(COMPARISONS["compare-lr"], loaded, os.path.join(out, "lr.png"))]
        assert all(os.path.getsize(p) > 1000 for p in paths)


def test_fig2c_and_fig3c_panels_are_drawn_from_fig1d(runs_dir, tmp_path, monkeypatch):
    panel_run(runs_dir, "fig1d")
    runs = load_runs(runs_dir)
    drawn = []
    original = plots.draw_loss
    monkeypatch.setattr(plots, "draw_loss", lambda ax, run, **kw: (drawn.append(run.name), original(ax, run, **kw)))
    for figure in ("fig1", "fig2", "fig3"):
        assert plots.plot_figure(figure, runs, str(tmp_path / f"{figure}.png"))
    assert drawn == ["fig1d", "fig1d", "fig1d"]
    assert panel_caption("fig2c", runs) == "(c) CoolNet, learning rate 0.01\n= fig1d"
    assert panel_caption("fig3c", runs) == "(c) CoolNet, cross-entropy loss\n= fig1d"
    section = figure_section("fig3", runs, {"compare-loss"})
    assert "Panel (c) has exactly the settings of `fig1d`, so it is drawn from the same run" in section
    assert "(d) CoolNet, MSE loss, not run" in section and "![Cross-entropy against MSE](compare-loss.png)" in section
    panel_run(runs_dir, "fig3a", done=120)                  # from now on, fig1d is fig3a's first 50 epochs
    runs = load_runs(runs_dir)
    assert panel_caption("fig2c", runs) == "(c) CoolNet, learning rate 0.01\n= fig1d; fig3a's first 50 epochs"
    assert "Panel (d) is the first 50 epochs of `fig3a`" in figure_section("fig1", runs, set())


def test_the_same_runs_give_byte_identical_report_and_images(runs_dir, tmp_path):
    """Rendered twice, the second time in a fresh interpreter with another hash seed: every byte the same."""
    panel_run(runs_dir, "fig1d")
    panel_run(runs_dir, "fig2a", **{**WORLD["fig2a"], "diverge_at": 5})
    panel_run(runs_dir, "fig3a", done=30)
    out = str(tmp_path / "report")

    def rendered() -> dict[str, bytes]:
        paths = glob.glob(os.path.join(out, "*")) + glob.glob(os.path.join(runs_dir, "*", "curves.png"))
        return {os.path.relpath(p, str(tmp_path)): open(p, "rb").read() for p in sorted(paths)}

    write_report(runs_dir, out)
    first = rendered()
    for path in glob.glob(os.path.join(out, "*")) + glob.glob(os.path.join(runs_dir, "*", "curves.png")):
        os.remove(path)
    env = dict(hw5_env(), PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-m", "hw5", "report", "--runs-dir", runs_dir, "--out", out],
                   check=True, env=env, capture_output=True, timeout=300)
    second = rendered()
    # REPORT.md, 3 figures, 4 overlays, test loss, class accuracy, 3 curves
    assert sorted(first) == sorted(second) and len(first) == 13
    assert [name for name in first if first[name] != second[name]] == []
    assert b"Software" not in first["report/fig1.png"]


# ------------------------------------------------------------------ one run per setting, seeds, status
def test_fig1d_is_exactly_fig3a_first_50_epochs_for_each_seed(runs_dir):
    for seed in (0, 1):
        panel_run(runs_dir, seeded_name("fig3a", seed), test=(0.4 + seed / 10, 0.7), done=120)
    panel_run(runs_dir, "fig1d", test=(0.1, 0.2))                    # older code's own folder: not drawn
    raw = load_runs(runs_dir)
    for seed in (0, 1):
        fig1d, fig3a = view(raw, seeded_name("fig1d", seed)), raw[seeded_name("fig3a", seed)]
        assert fig1d.folder == seeded_name("fig3a", seed) and fig1d.planned == 50 and fig1d.complete
        assert fig1d.epochs == [r for r in fig3a.epochs if r["epoch"] <= 50]
        assert fig1d.iterations == [r for r in fig3a.iterations if r["epoch"] <= 50]
        assert fig1d.epochs[-1]["epoch"] == 50 and len(fig1d.iterations) == 50
        assert view(raw, seeded_name("fig2c", seed)).epochs == fig1d.epochs      # fig2c = fig1d


def test_committed_fig1d_is_fig3a_first_50_epochs():
    """On the committed runs: the records the report shows as fig1d are fig3a's, up to epoch 50."""
    runs_dir = os.path.join(REPO, "runs")
    if not os.path.isfile(os.path.join(runs_dir, "fig3a", "metrics.jsonl")):
        pytest.skip("no committed fig3a run")
    records = [json.loads(line) for line in open(os.path.join(runs_dir, "fig3a", "metrics.jsonl"))]
    fig1d = view(load_runs(runs_dir), "fig1d")
    assert fig1d.epochs == [r for r in records if r["type"] == "epoch" and r["epoch"] <= 50]
    assert fig1d.iterations == [r for r in records if r["type"] == "iteration" and r["epoch"] <= 50]


def test_a_prefix_panel_uses_its_own_run_until_the_longer_one_has_its_epochs(runs_dir):
    panel_run(runs_dir, "fig1d", epochs=2)                            # `hw5 quick`: fig1d for 2 epochs
    assert view(load_runs(runs_dir), "fig1d").folder == "fig1d"
    panel_run(runs_dir, "fig3a", done=30)                             # not yet 50 epochs: still fig1d's own
    assert view(load_runs(runs_dir), "fig1d").folder == "fig1d"
    files = RunFiles(runs_dir, "fig1d")
    for name in os.listdir(files.dir):
        os.remove(files.path(name))
    os.rmdir(files.dir)
    partial = view(load_runs(runs_dir), "fig1d")                      # no own run: fig3a so far
    assert partial.folder == "fig3a" and partial.done == 30 and partial.progress == "epoch 30/50, stopped"


def test_seeded_panels_show_mean_and_range_and_how_many_seeds(runs_dir, tmp_path):
    world(runs_dir)
    panel_run(runs_dir, "fig1e-seed1", test=(0.50, 0.62))
    panel_run(runs_dir, "fig1e-seed2", test=(0.50, 0.70), done=20)    # unfinished: listed, not counted
    runs = load_runs(runs_dir)
    rows = {line.split(" | ")[0][3:-1]: line for line in table(runs, str(tmp_path)).splitlines()[2:]}
    one, two = 0.68 - 0.18 * math.exp(-4.9), 0.62 - 0.12 * math.exp(-4.9)
    assert f"| 2 of 3 (seed 2 not counted: epoch 20/50, stopped) | {pct((one + two) / 2)} [{pct(two)[:-1]}-" \
           f"{pct(one)}] |" in rows["fig1e"]
    assert "| finished (each) |" in rows["fig1e"]
    assert "| 1 of 3 |" in rows["fig1f"] and "| 1 |" in rows["fig1a"]
    assert "| 1 of 3 |" in rows["fig1d"] and "`fig3a`'s first 50 epochs" in rows["fig1d"]
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    plots.draw_accuracy(ax, plots.panel_mean(runs, "fig1e"), seeds=plots.counted(plots.seeds_of(runs, "fig1e")))
    assert len(ax.collections) == 2                                    # a band for training, one for test
    plt.close(fig)
    assert "mean of 2 seeds" in panel_caption("fig1e", runs)


def test_an_outlying_first_epoch_is_left_off_the_loss_axis(runs_dir):
    import matplotlib.pyplot as plt
    panel_run(runs_dir, "fig2a", **WORLD["fig2a"])                    # 24.3, then ~4.1
    run = load_runs(runs_dir)["fig2a"]
    fig, ax = plt.subplots()
    draw_loss(ax, run, clip=True)
    low, high = ax.get_ylim()
    assert 3.9 < low < 4.1 and 4.2 < high < 5 and plots.first_epoch_off_axis(run) == 24.3
    plt.close(fig)
    assert "the first epoch's training loss (24.3) is more than twice" in figure_section("fig2", {"fig2a": run}, set())


def test_a_report_after_its_own_runs_ended_counts_them_finished(runs_dir, tmp_path):
    """`quick` reports in the process that trained: its pid is in .lock, but the lock is released."""
    files = panel_run(runs_dir, "fig1a", epochs=2)
    with files.lock():
        assert load_runs(runs_dir)["fig1a"].running                   # held by this process: running
    run = load_runs(runs_dir)["fig1a"]
    assert not run.running and run.complete
    report = open(write_report(runs_dir, str(tmp_path / "out"))).read()
    assert "1 run folder found: 1 complete." in report and "(so far)" not in report and ", running" not in report
    assert "| above (shorter run: 2 of 50 epochs) |" in report         # not a 50-epoch number to compare


# ------------------------------------------------------------------ the committed report against its runs
def _committed():
    runs_dir, report = os.path.join(REPO, "runs"), os.path.join(REPO, "report", "REPORT.md")
    if not (os.path.isdir(runs_dir) and os.path.isfile(report)):
        pytest.skip("no committed runs and report")
    return runs_dir, open(report).read()


def _table(text, header):
    """The rows of the Markdown table whose header line starts with ``header``, as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_committed_report_tables_match_a_recomputation_from_metrics():
    """Every number of REPORT.md's results and runs tables, recomputed here from metrics.jsonl with json alone."""
    runs_dir, report = _committed()
    epochs = {}
    for name in sorted(os.listdir(runs_dir)):
        path = os.path.join(runs_dir, name, "metrics.jsonl")
        if os.path.isfile(path):
            epochs[name] = [r for r in map(json.loads, open(path)) if r["type"] == "epoch"]
    prefix = {"fig1d": "fig3a", "fig2c": "fig3a", "fig3c": "fig3a"}     # the first 50 epochs of fig3a

    def fmt(values):
        mean = sum(values) / len(values)
        text = f"{100 * mean:.1f}%"
        return text if len(values) == 1 else f"{text} [{100 * min(values):.1f}-{100 * max(values):.1f}%]"

    rows = _table(report, "| panel | caption | seeds |")
    assert [row[0] for row in rows] == [f"`{p}`" for p in EXPERIMENTS]
    for row in rows:
        panel = row[0].strip("`")
        planned = EXPERIMENTS[panel].epochs
        folder = prefix.get(panel, panel)
        seeds = [n for n in epochs if n == folder or n.startswith(folder + "-seed")]
        records = [[r for r in epochs[n] if r["epoch"] <= planned] for n in seeds]
        records = [r for r in records if len(r) == planned] or records       # the complete seeds count
        finals = [r[-1]["test_acc"] for r in records]
        bests = [max(r, key=lambda e: e["test_acc"]) for r in records]
        last5 = [sum(e["test_acc"] for e in r[-5:]) / 5 for r in records]
        assert row[3] == fmt(finals), panel
        best = fmt([b["test_acc"] for b in bests]) + (f" ({bests[0]['epoch']})" if len(bests) == 1 else "")
        assert row[4] == best, panel
        assert row[5] == fmt(last5), panel
        assert row[6] == f"{planned} / {planned}", panel
    compute = {row[0].strip("`"): row[5] for row in _table(report, "| run folder |")}
    assert sorted(compute) == sorted(epochs)
    for name, cell in compute.items():
        seconds = round(sum(r["time"] for r in epochs[name]))
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        assert cell == (f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds % 60:02d}s"), name


def test_committed_readme_section_and_report_are_what_the_runs_give(tmp_path):
    """README's results section and REPORT.md's text, rendered afresh from runs/, are the committed ones."""
    runs_dir, report = _committed()
    raw = load_runs(runs_dir)
    readme = open(os.path.join(REPO, "README.md")).read()
    assert readme_section(raw) in readme
    drawn = {os.path.splitext(n)[0] for n in os.listdir(os.path.join(REPO, "report")) if n.endswith(".png")}
    assert render("runs", raw, os.path.join(REPO, "report"), drawn) == report


def test_pytorch_reference_runs_are_set_beside_the_run_of_the_same_name(tmp_path):
    """runs/reference/NAME-torch.jsonl (benchmarks.torch_recipe's output) gets a row over the epochs both have;
    a damaged reference file, or one without its run, adds nothing."""
    from hw5.reference import reference_section

    runs = str(tmp_path / "runs")
    files = fake_run(runs, "fig1f", [0.30, 0.40, 0.50, 0.52, 0.54, 0.56], epochs=50)
    for record in files.epochs():
        assert "train_eval_loss" not in record
    lines = open(files.path("metrics.jsonl")).read().replace('"test_loss"', '"train_eval_loss": 1.5, "test_loss"')
    open(files.path("metrics.jsonl"), "w").write(lines)
    os.makedirs(os.path.join(runs, "reference"))
    with open(os.path.join(runs, "reference", "fig1f-torch.jsonl"), "w") as f:
        for epoch, acc in enumerate([0.31, 0.42, 0.47, 0.50, 0.51], start=1):  # one epoch fewer than the run
            f.write(json.dumps({"type": "epoch", "epoch": epoch, "test_acc": acc, "train_loss": 1.0,
                                "train_eval_loss": 1.25, "torch": "2.13.0+cpu"}) + "\n")
    with open(os.path.join(runs, "reference", "fig9z-torch.jsonl"), "w") as f:
        f.write("not json\n")
    text = reference_section(runs, load_runs(runs))
    assert text.count("\n| `") == 1
    # 5 epochs of each: minitorch's last-5 mean is (0.30+0.40+0.50+0.52+0.54)/5 = 45.2%, PyTorch's 44.2%
    assert "| `fig1f` | 5 | 54.0% | 51.0% | 45.2% | 44.2% | +1.0 | 0.400 / 1.500 | 1.000 / 1.250 | 2.13.0+cpu |" in text
    assert reference_section(str(tmp_path / "elsewhere"), load_runs(runs)) == ""
