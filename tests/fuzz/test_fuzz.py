"""The differential fuzzer in the suite: the stored sample against PyTorch's stored outcomes (no torch needed),
and, when torch is installed, a fresh sample against live PyTorch.

A case fails when minitorch's outcome differs from PyTorch's (values, dtypes, shapes, NaN positions) or when
minitorch raises where PyTorch works.  Minitorch working where PyTorch raises is allowed (and counted by
``python -m tests.fuzz``).  The big run: ``python -m tests.fuzz --cases 12000``.
"""
from __future__ import annotations

import importlib.util
from collections import defaultdict

import pytest

from . import GENERATORS, Framework, classify, schedule, stored
from .core import run

STORED = stored.load()
BY_GENERATOR: dict[str, list] = defaultdict(list)
for entry in STORED:
    BY_GENERATOR[entry[0]].append(entry)
LIVE_CASES = 600
LIVE_START = 500_000


def _failures(results: list[tuple[str, int, str, str | None]]) -> list[str]:
    return [f"{kind} {name}:{seed}: {detail}" for name, seed, kind, detail in results
            if kind in ("mismatch", "raises")]


def test_the_stored_sample_is_current():
    assert [(name, seed) for name, seed, _, _ in STORED] == stored.sample(), \
        "fuzz.npz is stale: rerun tests/reference/make_fuzz_references.py"
    drifted = [f"{name}:{seed}" for name, seed, crc, _ in STORED if not stored.replay(name, seed, crc)[1]]
    assert not drifted, f"the inputs of {len(drifted)} stored cases changed (e.g. {drifted[:5]}): " \
                        "rerun tests/reference/make_fuzz_references.py"


def test_the_sample_covers_every_generator_and_most_cases_run_on_torch():
    assert set(BY_GENERATOR) == set(GENERATORS)
    torch_raised = sum(outcome[0] == "raise" for _, _, _, outcome in STORED)
    assert torch_raised < 0.1 * len(STORED), "most cases should be valid PyTorch calls"


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_matches_stored_pytorch(name):
    mt = Framework("minitorch")
    results = []
    for _, seed, crc, theirs in BY_GENERATOR[name]:
        case, current = stored.replay(name, seed, crc)
        assert current, f"{name}:{seed}: the stored inputs drifted; rerun tests/reference/make_fuzz_references.py"
        results.append((name, seed, *classify(run(case, mt), theirs)))
    failures = _failures(results)
    assert not failures, f"{len(failures)} of {len(results)} cases differ from PyTorch:\n" + "\n".join(failures[:20])


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch (the stored sample runs without)")
def test_a_fresh_sample_matches_live_pytorch():
    mt, torch = Framework("minitorch"), Framework("torch")
    from .registry import make_case

    results = []
    for name, seed in schedule(LIVE_CASES, LIVE_START):
        case = make_case(name, seed)
        results.append((name, seed, *classify(run(case, mt), run(case, torch))))
    failures = _failures(results)
    assert not failures, f"{len(failures)} of {len(results)} cases differ from PyTorch:\n" + "\n".join(failures[:20])
