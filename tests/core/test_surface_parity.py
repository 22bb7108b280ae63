"""The PyTorch surface against PyTorch: layers, losses, optimizers, schedules, clipping, init.

Stored tests load tests/reference/surface.npz (written by tests/reference/make_surface_references.py with
torch 2.13.0) and need no torch; they run the same case runners as the script, on minitorch.  Tolerance:
max|a - b| <= tol * max|b|, tol = 1e-6 in float64 and 1e-4 in float32 (float32 runs are compared with
torch's float64 results).  Live tests (``*_live``) draw fresh cases and run torch beside minitorch; they
are skipped when torch is not importable.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from mt_core_helpers import TOL, assert_close
from mt_surface_helpers import make_surface_references, minitorch_framework, stored, surface
from reference_io import from_json_array

import minitorch as mt

pytestmark = pytest.mark.usefixtures("single_thread_blas")

MSR = make_surface_references()
SPECS = from_json_array(surface()["specs"])
FW = minitorch_framework()
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
LIVE_SEED = int(os.environ.get("MINITORCH_TEST_SEED", "700000"))


def compare(actual: dict, expected: dict, dtype, label: str) -> None:
    assert set(actual) == set(expected), f"{label}: keys {sorted(actual)} != {sorted(expected)}"
    tol = TOL[np.dtype(dtype)]
    for key in sorted(expected):
        if expected[key].dtype.kind in "iu":  # max-pool indices
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=f"{label}: {key}")
        else:
            assert_close(actual[key], expected[key], tol, f"{label}: {key}")


def test_stored_cases_are_current_and_cover_every_new_layer():
    assert SPECS["layers"] == MSR.LAYER_SPECS, "surface.npz is stale: rerun make_surface_references.py"
    assert SPECS["optim"] == MSR.OPTIM_CONFIGS and SPECS["sched"] == MSR.SCHEDULER_CASES
    assert SPECS["clip"] == MSR.CLIP_CASES and SPECS["init"] == MSR.INIT_CASES
    kinds = {s["kind"] for s in MSR.LAYER_SPECS}
    assert kinds == {"conv2d", "maxpool", "avgpool", "adaptive", "leaky_relu", "tanh", "sigmoid", "identity",
                     "softmax", "log_softmax", "dropout", "cross_entropy"}
    assert {c["opt"] for c in MSR.OPTIM_CONFIGS} == {"Adam", "AdamW", "RMSprop"}
    assert {c["kind"] for c in MSR.SCHEDULER_CASES} == {"MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                                       "LambdaLR"}


# ----------------------------------------------------------------------------- layers
def stored_layer(name: str):
    spec = next(s for s in MSR.LAYER_SPECS if s["name"] == name)
    return spec, stored(f"layer:{name}:in"), stored(f"layer:{name}:f64")


COMPARED_LAYERS = [s["name"] for s in MSR.LAYER_SPECS if s["name"] != "dropout_train"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", COMPARED_LAYERS)
def test_layer_matches_stored_torch(name, dtype):
    spec, inputs, expected = stored_layer(name)
    compare(MSR.run_layer(FW, spec, inputs, dtype), expected, dtype, f"{name} ({np.dtype(dtype)})")


def test_stored_layer_references_are_informative():
    """The general paths are really exercised: outputs and gradients non-trivial, 'same' keeps the size."""
    for name in COMPARED_LAYERS:
        _, inputs, expected = stored_layer(name)
        assert np.abs(expected["grad.x"]).max() > 1e-3, name
    _, inputs, expected = stored_layer("conv_k4x3_same")
    assert expected["out"].shape[2:] == inputs["x"].shape[2:]
    _, inputs, expected = stored_layer("ce_all_none")
    assert expected["out"][3] == 0 and np.all(expected["grad.x"][3] == 0)  # the ignored row


def test_dropout_in_training_scales_like_torch(seeded):
    """The mask is random, so compare what is not: kept values are x / (1 - p), dropped ones 0, the gradient
    the upstream through the same mask, and about p of the values dropped -- for torch and for minitorch."""
    spec, inputs, expected = stored_layer("dropout_train")
    p, x = spec["p"], inputs["x"]
    u = MSR.upstream(inputs, x.shape, np.float64)
    got = MSR.run_layer(FW, spec, inputs)
    for who, res in (("torch", expected), ("minitorch", got)):
        kept = res["out"] != 0
        np.testing.assert_allclose(res["out"][kept], x[kept] / (1 - p), rtol=1e-12, err_msg=who)
        np.testing.assert_allclose(res["grad.x"], u * kept / (1 - p), rtol=1e-12, err_msg=who)
        assert abs((~kept).mean() - p) < 0.05, who
    assert (got["out"] != 0).tolist() != (expected["out"] != 0).tolist()  # a mask of our own, not a copy


# ----------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", [c["name"] for c in MSR.OPTIM_CONFIGS])
def test_optimizer_trajectory_matches_stored_torch(name, dtype):
    """20 steps: every parameter after every step, the learning rates, the losses and the final state."""
    config = next(c for c in MSR.OPTIM_CONFIGS if c["name"] == name)
    actual = MSR.run_optimizer(FW, config, stored("optim:in"), dtype)
    expected = stored(f"optim:{name}")
    assert set(actual) == set(expected), f"{name}: {sorted(set(actual) ^ set(expected))}"
    tol = TOL[np.dtype(dtype)]
    for key in sorted(expected):
        if key.startswith("param."):
            for step, (a, b) in enumerate(zip(actual[key], expected[key], strict=True)):
                assert_close(a, b, tol, f"{name}: {key} after step {step + 1}")
        else:
            assert_close(actual[key], expected[key], tol, f"{name}: {key}")


def test_stored_optimizer_trajectories_are_distinct_and_moving():
    finals = {c["name"]: stored(f"optim:{c['name']}")["param.0.weight"][-1] for c in MSR.OPTIM_CONFIGS}
    start = stored("optim:in")["param.0.weight"]
    names = sorted(finals)
    for i, a in enumerate(names):
        assert np.abs(finals[a] - start).max() > 1e-3, a
        for b in names[:i]:
            assert np.abs(finals[a] - finals[b]).max() > 1e-5, (a, b)
    missing = stored("optim:adam_lambda_missing_grads")
    np.testing.assert_array_equal(missing["param.2.bias"][0], stored("optim:in")["param.2.bias"])  # no grad: skipped
    assert missing["state.3.step"] == 19 and missing["state.0.step"] == 19 and missing["state.2.step"] == 20


# ----------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("name", [c["name"] for c in MSR.SCHEDULER_CASES])
def test_scheduler_matches_stored_torch(name):
    case = next(c for c in MSR.SCHEDULER_CASES if c["name"] == name)
    actual, expected = MSR.run_scheduler(FW, case), stored(f"sched:{name}")
    np.testing.assert_allclose(actual["lrs"], expected["lrs"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(actual["last_lr"], expected["last_lr"], rtol=1e-13, atol=0)
    assert from_json_array(actual["state_keys"]) == from_json_array(expected["state_keys"])


def test_cosine_reference_goes_past_t_max():
    lrs = stored("sched:cosine")["lrs"][:, 0]
    assert lrs[6] == pytest.approx(0.001) and lrs[12] == pytest.approx(0.1) and lrs.min() >= 0.001 - 1e-12


# ----------------------------------------------------------------------------- clip_grad_norm_ and init
@pytest.mark.parametrize("case", MSR.CLIP_CASES, ids=[c["name"] for c in MSR.CLIP_CASES])
def test_clip_grad_norm_matches_stored_torch(case):
    actual = MSR.run_clip(FW, case, MSR.clip_grads(MSR.CLIP_SEED))
    compare(actual, stored(f"clip:{case['name']}"), np.float64, case["name"])


def test_calculate_gain_matches_stored_torch():
    gains = [mt.nn.init.calculate_gain(n, p) for n, p in MSR.GAIN_CASES]
    np.testing.assert_allclose(gains, surface()["init:gains"], rtol=1e-15)


@pytest.mark.parametrize("case", MSR.INIT_CASES, ids=[c["name"] for c in MSR.INIT_CASES])
def test_init_spread_matches_stored_torch(case, seeded):
    """The standard deviation (and for uniform, the bound) PyTorch's formula gives, and the sample's spread."""
    expected = stored(f"init:{case['name']}")
    weight = mt.zeros(*case["shape"], dtype=np.float64)
    assert getattr(mt.nn.init, case["fn"])(weight, **case["kwargs"]) is weight
    w = weight.numpy()
    std = float(expected["std"])
    assert abs(w.mean()) < 0.02 * std
    assert w.std() == pytest.approx(std, rel=0.01)
    assert w.std() == pytest.approx(float(expected["sample_std"]), rel=0.02)
    if "bound" in expected:
        bound = float(expected["bound"])
        assert bound == pytest.approx(math.sqrt(3) * std, rel=1e-15)
        assert 0.999 * bound < np.abs(w).max() <= bound


# ----------------------------------------------------------------------------- live
@pytest.fixture(scope="module")
def torch_fw():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return MSR.torch_framework()


LIVE_LAYERS = [i for i, s in enumerate(MSR.LAYER_SPECS) if s["name"] != "dropout_train"]


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's note about its own padding copy
@pytest.mark.parametrize("index", LIVE_LAYERS, ids=[MSR.LAYER_SPECS[i]["name"] for i in LIVE_LAYERS])
def test_layer_matches_torch_live(index, torch_fw):
    spec = MSR.LAYER_SPECS[index]
    arrays = MSR.layer_arrays(spec, LIVE_SEED + index)
    compare(MSR.run_layer(FW, spec, arrays), MSR.run_layer(torch_fw, spec, arrays), np.float64,
            f"{spec['name']} live")


@pytest.mark.parametrize("config", MSR.OPTIM_CONFIGS, ids=[c["name"] for c in MSR.OPTIM_CONFIGS])
def test_optimizer_matches_torch_live(config, torch_fw):
    case = MSR.optim_case(LIVE_SEED + 1)
    actual, expected = MSR.run_optimizer(FW, config, case), MSR.run_optimizer(torch_fw, config, case)
    assert set(actual) == set(expected)
    for key in expected:
        assert_close(actual[key], expected[key], TOL[np.dtype(np.float64)], f"{config['name']} live: {key}")
