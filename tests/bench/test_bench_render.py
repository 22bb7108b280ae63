"""benchmarks/render.py: the report is a pure function of the results.

The committed ``benchmarks/results.json`` must render to the committed ``BENCHMARKS.md``, and the
committed GPU results to their ``table.md``: each pair is written by one run, so any difference is
a change in the rendering.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import render

REPO = Path(__file__).resolve().parents[2]
GPU_DIR = REPO / "benchmarks" / "gpu_results"


def committed_results() -> dict:
    return json.loads((REPO / "benchmarks" / "results.json").read_text())


def full_report(res: dict) -> str:
    table = (GPU_DIR / "table.md").read_text() if (GPU_DIR / "table.md").exists() else None
    whole = REPO / "benchmarks" / "whole_report.md"
    return render.document(res, table, "benchmarks/gpu_results/table.md",
                           whole.read_text() if whole.exists() else None) + "\n"


def test_committed_results_render_to_the_committed_report():
    res = committed_results()
    untouched = copy.deepcopy(res)
    assert full_report(res) == (REPO / "BENCHMARKS.md").read_text()
    assert res == untouched, "rendering changed the results"


def test_gflops_come_from_the_times_not_from_a_stored_copy():
    res = committed_results()
    expected = render.gflops_table(res["layers"], res["gemm"])
    for entry in res["layers"]:
        entry.pop("gflops", None)
    stripped = copy.deepcopy(res)
    assert render.gflops_table(res["layers"], res["gemm"]) == expected
    assert res == stripped  # and nothing was written back
    assert "| 0 Conv2d(3,6,5) | 32 |" in expected


def test_layer_gflops():
    timing = {"fwd": {"median": 1.5}, "bwd": {"median": 2.5}}  # ms
    entry = {"flops": {"fwd": 2_000_000_000, "bwd": 6_000_000_000}, "minitorch": timing, "torch": None}
    assert render.layer_gflops(entry) == {"minitorch": 8e9 / 4e-3 / 1e9}
    assert render.layer_gflops({**entry, "flops": None}) == {}


def _row(**changes) -> dict:
    st = {"median": 2.0, "q1": 1.8, "q3": 2.2}
    row = {"id": "train/x/b4", "label": "X step", "unit": "ms", "minitorch": st, "torch": {**st, "median": 4.0},
           "ratio": 0.5, "target": {"on": "ratio", "op": "<=", "value": 0.33}, "met": False}
    return {**row, **changes}


def test_summary_table_cells():
    rows = [
        _row(),
        _row(label="Y", torch=None, ratio=None, target=None, met=None),
        _row(label="Z", minitorch={"median": 123.4, "q1": 100.0, "q3": 140.0}, no_ratio=True, met=True,
             target={"on": "minitorch", "op": "<", "value": 500.0}),
    ]
    lines = render.summary_table(rows).splitlines()
    assert lines[2] == "| X step [ms] | 2.00 (±10%) | 4.00 (±5%) | 0.50 | ≤ 0.33× | **no** |"
    assert lines[3] == "| Y [ms] | 2.00 (±10%) | — | — | — | — |"
    assert lines[4] == "| Z [ms] | 123 (±16%) | 4.00 (±5%) | — | < 500 ms | yes |"
    assert render.row_summary(rows[0]) == ("minitorch 2.00 (±10%) ms | torch 4.00 (±5%) ms ratio 0.50 | "
                                           "target ≤ 0.33× met **no**")


def test_contention_banner():
    probe = {"loadavg": [3.5, 1.0, 1.0], "ms_1_threads": 1.0, "slowdown": 1.2, "threads": 2, "contended": False}
    assert render.contention_banner({}) == []
    calm = render.contention_banner({"contention": {"start": probe}})
    assert calm[0].startswith("Contention check: at the start: load average 3.50")
    busy = render.contention_banner({"contention": {"start": probe, "end": {**probe, "contended": True}}})
    assert busy[0].startswith("> **Warning: the machine was oversubscribed")


def test_gpu_section_is_empty_without_a_table():
    assert render.gpu_section(None, "x") == ""
    assert render.gpu_section("### T\n\nbody\n", "x").endswith("#### T\n\nbody")


def _torch_spelling(obj):
    """The committed GPU results predate the rename of their "pytorch" keys to run.py's "torch"."""
    if isinstance(obj, dict):
        return {k.replace("pytorch", "torch"): _torch_spelling(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_torch_spelling(v) for v in obj]
    return obj


def test_committed_gpu_results_render_to_their_table():
    from benchmarks import gpu_bench

    if not (GPU_DIR / "results.json").exists():
        pytest.skip("no GPU results are committed (benchmarks/gpu_results/README.md says why)")
    res = _torch_spelling(json.loads((GPU_DIR / "results.json").read_text()))
    assert gpu_bench.table(res) == (GPU_DIR / "table.md").read_text()


def test_method_says_what_the_training_rows_train_on():
    legacy = render.method(committed_results() | {"regime": None})
    assert any("the same batch every step" in m for m in legacy)  # results from before the distinct batches
    regime = {"batches": "CIFAR-10 training images from /data, normalised as hw5 does", "pool_images": 4096,
              "lr": 0.01, "momentum": 0.0}
    items = render.method({**committed_results(), "regime": regime})
    step = next(m for m in items if m.startswith("Training step"))
    assert "learning rate 0.01, momentum 0" in step and "CIFAR-10 training images from /data" in step
    assert "4,096 images" in step and not any("the same batch every step" in m for m in items)
    assert any(m.startswith("Epoch rows") for m in items)


def test_a_missed_row_names_what_bounds_it():
    bound = {"row": "BoringNet train step, batch 4, captured", "step_ms": 0.30, "budget_ms": 0.12, "target": 0.3,
             "torch_ms": 0.40, "calls": 20, "in_calls_ms": 0.25,
             "callees": [{"name": "sgd_update", "ms": 0.15, "calls": 1}, {"name": "linear_weight_grad", "ms": 0.05,
                                                                          "calls": 3}]}
    line = render.bound_line(bound)
    assert "0.300 ms a replay; the target allows 0.120 ms" in line
    assert "sgd_update 0.150 ms (60%, 1×)" in line
    assert "largest call alone is 1.2× the whole allowance" in line
    assert "largest call" not in render.bound_line({**bound, "budget_ms": 0.2})
