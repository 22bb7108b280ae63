"""benchmarks/run.py and cases.py: row selection, rows, and a smoke run of the whole pipeline.

The smoke run times one small row with the quick plan into a temporary folder (never the
committed BENCHMARKS.md and results.json) and checks the files' layout, not the times.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("threadpoolctl")  # the bench extra

from benchmarks import render, run
from benchmarks.cases import Bench, Plan, all_row_ids, make_row

REPO = Path(__file__).resolve().parents[2]


def selected(rows: str, with_opt_in: bool = False) -> list[str]:
    bench = Bench(Plan.quick(), threads=1, rows=rows, with_opt_in=with_opt_in)
    return [r for r in all_row_ids() if bench.wanted(r)]


def test_row_selection():
    ids = all_row_ids()
    assert len(ids) == len(set(ids)) == 27
    epoch_rows = ["epoch/fig1d/alone", "epoch/fig1d/two"]
    assert selected("") == [r for r in ids if r not in epoch_rows]  # the epoch rows take minutes: opt-in
    assert selected("", with_opt_in=True) == ids
    assert selected("epoch") == epoch_rows
    assert selected("eval", with_opt_in=True) == ["eval/coolnet/b1000", *epoch_rows]
    assert selected("captured/*/b4") == ["captured/lazynet/b4", "captured/boringnet/b4", "captured/coolnet/b4"]
    assert selected("eval") == ["eval/coolnet/b1000"]
    assert selected("train/*/b4, startup") == ["train/lazynet/b4", "train/boringnet/b4", "train/coolnet/b4",
                                               "startup/import", "startup/first-step"]
    assert selected("nothing") == []


def test_make_row_ratio_and_target():
    st = {"median": 3.0}
    row = make_row("r", "R", "ms", st, {"median": 6.0}, {"on": "ratio", "op": "<=", "value": 0.5})
    assert (row["ratio"], row["met"]) == (0.5, True)
    row = make_row("r", "R", "ms", st, None, {"on": "ratio", "op": "<=", "value": 0.5})
    assert (row["ratio"], row["met"]) == (None, None)
    row = make_row("r", "R", "ms", st, None, {"on": "minitorch", "op": "<", "value": 3.0}, no_ratio=True)
    assert (row["met"], row["no_ratio"]) == (False, True)


def test_quick_run_writes_the_committed_layout(tmp_path, capsys):
    committed_md = (REPO / "BENCHMARKS.md").read_text()
    committed = json.loads((REPO / "benchmarks" / "results.json").read_text())
    res = run.main(["--quick", "--no-torch", "--threads", "1", "--rows", "train/lazynet/b4", "--out", str(tmp_path)])
    assert "LazyNet train step, batch 4" in capsys.readouterr().out
    written = json.loads((tmp_path / "results.json").read_text())
    # the committed results may predate the "regime" entry (what the training rows train on) and "bounds"
    assert [k for k in written if k in committed] == list(committed)
    assert set(written) - set(committed) <= {"regime", "bounds"}
    assert written["bounds"] == []   # a quick run profiles no missed row
    assert set(written["regime"]) == {"batches", "pool_images", "lr", "momentum"}
    assert (written["regime"]["lr"], written["regime"]["momentum"]) == (0.01, 0.0)  # hw5's settings
    assert list(written["environment"]) == [k for k in committed["environment"] if not k.startswith("torch_")]
    [row] = written["rows"]
    assert list(row) == list(committed["rows"][0])
    assert (row["id"], row["torch"], written["quick"]) == ("train/lazynet/b4", None, True)
    assert row["minitorch"]["rounds"] >= 3 and row["minitorch"]["reps"] >= 1
    assert set(written["contention"]) == {"start", "end"}
    # the report is a function of the results: re-rendering the written JSON gives the written Markdown
    md = (tmp_path / "BENCHMARKS.md").read_text()
    gpu = run.GPU_TABLE.read_text() if run.GPU_TABLE.exists() else None
    whole = run.WHOLE_REPORT.read_text() if run.WHOLE_REPORT.exists() else None
    assert md == render.document(written, gpu, "benchmarks/gpu_results/table.md", whole) + "\n"
    assert "**Quick smoke run: few repeats, not representative.**" in md
    assert res["rows"][0]["id"] == "train/lazynet/b4"
    assert (REPO / "BENCHMARKS.md").read_text() == committed_md  # the committed report is untouched


def test_render_rewrites_the_report_from_its_results_timing_nothing(tmp_path, capsys):
    """``--render`` (after ``benchmarks.whole_report``): the committed BENCHMARKS.md is exactly what it writes
    from the committed results.json, so the report was not edited by hand."""
    (tmp_path / "results.json").write_text((REPO / "benchmarks" / "results.json").read_text())
    res = run.main(["--render", "--out", str(tmp_path)])
    assert (tmp_path / "BENCHMARKS.md").read_text() == (REPO / "BENCHMARKS.md").read_text()
    assert res["rows"] and "wrote" in capsys.readouterr().out


def test_render_without_results_names_the_file(tmp_path):
    with pytest.raises(SystemExit, match=r"no results at .*results\.json"):
        run.main(["--render", "--out", str(tmp_path)])
    (tmp_path / "results.json").write_text('{"rows": [')
    with pytest.raises(SystemExit, match=r"results\.json is not valid JSON"):
        run.main(["--render", "--out", str(tmp_path)])
    assert not (tmp_path / "BENCHMARKS.md").exists()


def test_captured_row_beside_its_eager_row(tmp_path):
    res = run.main(["--quick", "--no-torch", "--threads", "1", "--rows", "train/lazynet/b4,captured/lazynet/b4",
                    "--out", str(tmp_path)])
    eager, captured = res["rows"]
    assert (eager["id"], captured["id"]) == ("train/lazynet/b4", "captured/lazynet/b4")
    assert captured["eager"] == eager["minitorch"]  # one interleaving times both
    assert captured["vs_eager"] == captured["minitorch"]["median"] / eager["minitorch"]["median"]
    assert captured["capture_parity"] == 0.0  # replays are bit-identical to eager steps
    assert captured["target"] == {"on": "ratio", "op": "<=", "value": 0.2} and captured["met"] is None
    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert "### Captured steps" in md and "| LazyNet train step, batch 4 |" in md


def test_list_prints_the_row_ids(capsys):
    assert run.main(["--list"]) == {}
    assert capsys.readouterr().out.split() == all_row_ids()


def test_gpu_bench_without_a_gpu_measures_nothing(tmp_path, capsys):
    from benchmarks import gpu_bench, gpu_cases

    if gpu_cases.gpu_or_reason() is None:
        pytest.skip("a GPU is present: gpu_bench would run the whole GPU benchmark")
    assert gpu_bench.main(["--out", str(tmp_path / "gpu")]) == 0
    assert "no GPU for minitorch, nothing measured" in capsys.readouterr().out
    assert not (tmp_path / "gpu").exists()


def test_projection_from_the_committed_results(capsys):
    from benchmarks import capture_ab

    committed = json.loads((REPO / "benchmarks" / "results.json").read_text())
    rows = capture_ab.rows_from_results(committed)
    assert {r["id"] for r in rows} >= {"train/coolnet/b4", "eval/lazynet/b1000", "eval/coolnet/b1000"}
    projected = capture_ab.projection(rows)
    assert projected is not None and 0 < projected["hours"]["captured"] <= projected["hours"]["eager"]
    fig3d = next(r for r in projected["runs"] if r["run"] == "fig3d")
    assert fig3d["epoch_s"]["captured"] == fig3d["epoch_s"]["eager"]  # MSE's step runs eagerly
    assert capture_ab.main(["--from-results", str(REPO / "benchmarks" / "results.json")]) == 0
    assert "Projected compute of the report's runs" in capsys.readouterr().out
