"""The everyday tensor ops against PyTorch: outputs (values and dtypes) and input gradients.

tests/reference/everyday.npz holds PyTorch 2.13's results for every case of
tests/reference/make_everyday_references.py; these tests run the same case functions on minitorch, without torch.
Floats agree to max|a - b| <= tol * max|b| (1e-6 for float64, 1e-4 for float32 and 1e-3 for float16 results);
integers, bools and every dtype exactly.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from mt_core_helpers import assert_close, reference
from reference_io import from_json_array

import minitorch as mt

MER = importlib.import_module("make_everyday_references")
TOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-3}


def stored() -> dict[str, np.ndarray]:
    return reference("everyday")


def stored_case(name: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    prefix = name + ":"
    inputs, results = {}, {}
    for key, value in stored().items():
        if key.startswith(prefix):
            rest = key[len(prefix):]
            if rest.startswith("in:"):
                inputs[rest[3:]] = value
            else:
                results[rest] = value
    return inputs, results


def test_stored_cases_are_current():
    assert from_json_array(stored()["cases"]) == MER.case_names(), \
        "everyday.npz is stale: rerun tests/reference/make_everyday_references.py"


def test_every_case_has_stored_results_and_the_gradients_are_informative():
    for spec in MER.CASES:
        inputs, results = stored_case(spec["name"])
        assert set(inputs) == set(MER.case_inputs(spec)), spec["name"]
        assert "out:0" in results, spec["name"]
    # the differentiable cases really produce gradients
    with_grads = [s["name"] for s in MER.CASES if any(k.startswith("grad:") for k in stored_case(s["name"])[1])]
    assert len(with_grads) > 100


@pytest.mark.parametrize("name", MER.case_names())
def test_matches_stored_torch(name):
    spec = next(s for s in MER.CASES if s["name"] == name)
    inputs, expected = stored_case(name)
    for key, value in MER.case_inputs(spec).items():  # the seeded inputs are reproduced
        np.testing.assert_array_equal(value, inputs[key], err_msg=f"{name}: input {key}")
    actual = MER.run_case(mt, spec, inputs)
    assert set(actual) == set(expected), f"{name}: keys {sorted(actual)} != torch's {sorted(expected)}"
    for key in sorted(expected):
        a, b = actual[key], expected[key]
        assert a.dtype == b.dtype, f"{name}: {key} has dtype {a.dtype}, torch's {b.dtype}"
        assert a.shape == b.shape, f"{name}: {key} has shape {a.shape}, torch's {b.shape}"
        if b.dtype.kind == "f":
            finite = np.isfinite(b)
            np.testing.assert_array_equal(np.isfinite(a), finite, err_msg=f"{name}: {key} non-finite places")
            np.testing.assert_array_equal(a[~finite], b[~finite], err_msg=f"{name}: {key} non-finite values")
            assert_close(a[finite], b[finite], TOL[b.dtype], f"{name}: {key}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: {key}")
