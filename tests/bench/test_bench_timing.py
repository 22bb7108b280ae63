"""benchmarks/timing.py: the interleaved harness, driven by a fake clock (nothing here measures speed)."""
from __future__ import annotations

import pytest

from benchmarks import timing


class FakeTime:
    """A clock that moves only when a fake block says it ran; ``sleep`` is recorded, not slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def recording_block(name: str, per_call_s: float, clock: FakeTime, calls: list):
    def block(k: int) -> None:
        calls.append((name, k))
        clock.now += k * per_call_s
    return block


def test_rounds_alternate_and_blocks_are_sized_to_block_s(clock):
    calls: list = []
    blocks = {"a": recording_block("a", 0.001, clock, calls), "b": recording_block("b", 0.004, clock, calls)}
    res = timing.run_interleaved(blocks, block_s=0.1, rounds=4, budget_s=100.0, warmup_s=0.0, warmup_min=2,
                                 settle_s=0.01)
    assert calls[:4] == [("a", 1), ("a", 1), ("b", 1), ("b", 1)]  # warm-up: k = 1, at least warmup_min calls
    assert calls[4:] == [("a", 100), ("b", 25), ("b", 25), ("a", 100), ("a", 100), ("b", 25), ("b", 25), ("a", 100)]
    assert clock.sleeps == [0.01] * 8  # one pause before every timed block
    assert res["a"]["time"]["median"] == pytest.approx(1.0)  # ms per call
    assert res["b"]["time"]["median"] == pytest.approx(4.0)
    assert (res["a"]["time"]["rounds"], res["a"]["time"]["reps"]) == (4, 100)
    assert res["b"]["time"]["samples"] == pytest.approx([4.0] * 4)


def test_sync_brackets_every_timed_call(clock):
    events: list = []

    def block(k: int) -> None:
        events.append("run")
        clock.now += k * 0.01

    def sync() -> None:
        events.append("sync")
        clock.now += 0.5  # queued device work finishing: counted inside the timer

    res = timing.run_interleaved({"gpu": block}, block_s=0.02, rounds=3, budget_s=100.0,
                                 warmup_s=0.0, warmup_min=2, settle_s=0.0, sync=sync)
    assert events == ["sync", "run", "sync"] * 5  # 2 warm-up calls, 3 rounds
    # every block's time includes the closing sync, not the opening one
    assert res["gpu"]["time"]["median"] == pytest.approx((0.5 + res["gpu"]["time"]["reps"] * 0.01)
                                                         / res["gpu"]["time"]["reps"] * 1e3)


def test_blocks_that_time_themselves_report_their_metrics(clock):
    def layer(k: int) -> dict:
        clock.now += k * 0.003
        return {"fwd": k * 0.001, "bwd": k * 0.002}

    res = timing.run_interleaved({"m": layer}, block_s=0.03, rounds=3, budget_s=100.0,
                                 warmup_s=0.0, warmup_min=2, settle_s=0.0)
    assert set(res["m"]) == {"fwd", "bwd"}
    assert res["m"]["fwd"]["median"] == pytest.approx(1.0)
    assert res["m"]["bwd"]["median"] == pytest.approx(2.0)


def test_budget_cuts_rounds_but_not_below_three(clock):
    calls: list = []
    blocks = {"a": recording_block("a", 0.01, clock, calls)}
    res = timing.run_interleaved(blocks, block_s=1.0, rounds=9, budget_s=2.0, warmup_s=0.0, settle_s=0.0)
    assert res["a"]["time"]["rounds"] == 3
    res = timing.run_interleaved(blocks, block_s=1.0, rounds=9, budget_s=5.5, warmup_s=0.0, settle_s=0.0)
    assert res["a"]["time"]["rounds"] == 5


def test_warm_up_runs_for_warmup_s(clock):
    calls: list = []
    timing.run_interleaved({"a": recording_block("a", 0.125, clock, calls)}, block_s=0.25, rounds=1, budget_s=10.0,
                           warmup_s=1.0, warmup_min=2, settle_s=0.0)
    assert calls == [("a", 1)] * 8 + [("a", 2)]  # 1 s of warm-up calls, then one round of two


def test_summarize():
    s = timing.summarize([0.004, 0.001, 0.003, 0.002], reps=7)
    assert s == {"median": 2.5, "q1": 1.75, "q3": 3.25, "rounds": 4, "reps": 7, "samples": [1.0, 2.0, 3.0, 4.0]}
    one = timing.summarize([2.0], reps=1, scale=1.0)
    assert (one["median"], one["q1"], one["q3"]) == (2.0, 2.0, 2.0)


def test_loop_calls_k_times():
    calls = []
    timing.loop(lambda: calls.append(1))(5)
    assert len(calls) == 5
