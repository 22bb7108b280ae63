"""Tensor semantics against PyTorch: 0-d tensors, dtype promotion, indexing, pooling and cross-entropy next to
inf and NaN, the sigmoid's tails, and inputs where minitorch used to raise.

The cases live in tests/reference/make_semantics_references.py and run the same code on both frameworks.
Stored tests compare with tests/reference/semantics.npz (PyTorch 2.13.0) and need no torch; live tests run
torch beside minitorch and are skipped without it.  Values must match in dtype, shape, and within
rtol (1e-5 in float32, 1e-10 in float64) of the largest finite reference value, with NaN and inf in the
same places; the sigmoid's tails are compared relative to each value.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from mt_core_helpers import reference

import minitorch as mt

MSR = importlib.import_module("make_semantics_references")
FW = MSR.Framework(lib=mt, nn=mt.nn, F=mt.nn.functional, optim=mt.optim, clip_grad_norm_=mt.nn.utils.clip_grad_norm_)
RTOL = {"f": {4: 1e-5, 8: 1e-10}}
RELATIVE_ONLY = {"sigmoid_and_one_hot:f64", "sigmoid_and_one_hot:f32", "sigmoid_and_one_hot:f64_grad"}


def stored(case: str) -> dict[str, np.ndarray]:
    n = len(case) + 1
    return {k[n:]: v for k, v in reference("semantics").items() if k.startswith(case + ":")}


def compare(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], case: str) -> None:
    assert set(actual) == set(expected), f"{case}: results {sorted(set(actual) ^ set(expected))} differ"
    for key in sorted(expected):
        a, e, what = actual[key], expected[key], f"{case}:{key}"
        if e.dtype.kind in "US":  # dtype names
            assert a.tolist() == e.tolist(), f"{what}: {a} != {e}"
            continue
        assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
        if e.dtype.kind != "f":
            np.testing.assert_array_equal(a, e, err_msg=what)
            continue
        rtol = RTOL["f"][e.dtype.itemsize]
        finite = e[np.isfinite(e)]
        atol = 0.0 if what in RELATIVE_ONLY or not finite.size else rtol * float(np.abs(finite).max())
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def test_stored_cases_are_current():
    cases = {key.split(":", 1)[0] for key in reference("semantics")}
    assert cases == set(MSR.CASES), "semantics.npz is stale: rerun make_semantics_references.py"


@pytest.mark.parametrize("case", list(MSR.CASES))
def test_matches_stored_pytorch(case):
    compare(MSR.run_case(FW, case), stored(case), case)


@pytest.mark.parametrize("case", list(MSR.CASES))
def test_matches_live_pytorch(case):
    pytest.importorskip("torch")
    compare(MSR.run_case(FW, case), MSR.run_case(MSR.torch_framework(), case), case)
