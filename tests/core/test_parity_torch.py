"""Parity with PyTorch: every layer and the whole CoolNet, forward and all gradients, float64 and float32.

Stored tests load tests/reference/*.npz (written by tests/reference/make_references.py with torch 2.13.0)
and need no torch.  Tolerance: max|a - b| <= tol * max|b|, tol = 1e-6 in float64 and 1e-4 in float32
(the float32 runs are compared with torch's float64 results on the same inputs; the live tests also compare
with torch's float32 run).  Live tests (``*_live``) rebuild the same cases from fresh seeds and run torch
next to minitorch; they are skipped when torch is not importable.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from mt_core_helpers import COOLNET_ZERO_GRAD, TOL, assert_close, coolnet, make_references, reference
from reference_io import from_json_array

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F

pytestmark = pytest.mark.usefixtures("single_thread_blas")

MR = make_references()
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]


# ----------------------------------------------------------------------------- minitorch runners
def run_mt_layer(spec: dict, arrays: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """minitorch's counterpart of make_references.run_torch_layer: same keys, same meaning."""
    arrays = MR.cast_inputs(arrays, dtype)
    kind = spec["kind"]
    module = MR.layer_from_spec(nn, spec)
    if module is not None:
        module.to(dtype)
        for name, p in module.named_parameters():
            p.data[...] = arrays[name]
        if kind == "batchnorm" and not spec["train"]:
            module.running_mean.data[...] = arrays["running_mean"]
            module.running_var.data[...] = arrays["running_var"]
        if kind == "batchnorm":
            module.train(spec["train"])
        if kind == "batchnorm_steps":
            module.train()
            with mt.no_grad():
                for step in range(spec["steps"]):
                    module(mt.tensor(arrays[f"x{step}"]))
            module.eval()
    x = mt.tensor(arrays["x"], requires_grad=True)
    if module is not None:
        out = module(x)
    elif kind == "cross_entropy":
        out = nn.CrossEntropyLoss(reduction=spec["reduction"])(x, mt.tensor(arrays["target"]))
    elif kind == "mse":
        target = mt.tensor(arrays["target"], requires_grad=True)
        out = nn.MSELoss(reduction=spec["reduction"])(x, target)
    elif kind == "log_softmax":
        out = F.log_softmax(x, dim=spec["dim"])
    elif kind == "softmax":
        out = F.softmax(x, dim=spec["dim"])
    else:  # pragma: no cover
        raise ValueError(kind)
    assert out.dtype == np.dtype(dtype), f"{spec['name']}: output dtype {out.dtype}"
    out.backward(mt.tensor(arrays["upstream"]))
    res = {"out": out.numpy(), "grad.x": x.grad}
    if kind == "mse":
        res["grad.target"] = target.grad
    if module is not None:
        for name, p in module.named_parameters():
            res[f"grad.{name}"] = p.grad
        for name, b in module.named_buffers():
            res[name] = b.numpy().copy()
    return res


def run_mt_coolnet(case: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """minitorch's counterpart of make_references.run_torch_coolnet."""
    net = coolnet().to(dtype)
    for name, p in net.named_parameters():
        p.data[...] = case[name].astype(dtype)
    net.train()
    x = mt.tensor(case["x"].astype(dtype), requires_grad=True)
    logits = net(x)
    loss = F.cross_entropy(logits, mt.tensor(case["y"]), reduction="none")
    loss.backward(mt.tensor(case["upstream"].astype(dtype)))
    res = {"logits": logits.numpy(), "loss": loss.numpy(), "grad.x": x.grad}
    for name, p in net.named_parameters():
        res[f"grad.{name}"] = p.grad
    for name, b in net.named_buffers():
        res[f"after.{name}"] = b.numpy().copy()
    net.eval()
    with mt.no_grad():
        res["eval_logits"] = net(mt.tensor(case["x"].astype(dtype))).numpy()
    return res


def compare(actual: dict, expected: dict, dtype, label: str, zero_grad: set[str] = frozenset()) -> None:
    assert set(actual) == set(expected), f"{label}: keys {sorted(actual)} != {sorted(expected)}"
    tol = TOL[np.dtype(dtype)]
    for key in sorted(expected):
        a, b = actual[key], expected[key]
        assert a is not None, f"{label}: {key} is None"
        if np.asarray(b).dtype.kind in "iu":  # num_batches_tracked
            np.testing.assert_array_equal(a, b, err_msg=f"{label}: {key}")
        elif key.startswith("grad.") and key[5:] in zero_grad:
            # mathematically zero (bias before BatchNorm): absolute comparison, both tiny
            assert_close(a, b, tol, f"{label}: {key}", atol=tol)
        else:
            assert_close(a, b, tol, f"{label}: {key}")


# ----------------------------------------------------------------------------- stored references
LAYERS = reference("layers")
SPECS = from_json_array(LAYERS["specs"])


def stored_layer(name: str):
    spec = next(s for s in SPECS if s["name"] == name)
    inputs = {k.split(":", 2)[2]: v for k, v in LAYERS.items() if k.startswith(f"{name}:in:")}
    expected = {k.split(":", 2)[2]: v for k, v in LAYERS.items() if k.startswith(f"{name}:f64:")}
    return spec, inputs, expected


def test_stored_layer_cases_cover_every_layer():
    kinds = {s["kind"] for s in SPECS}
    assert kinds == {"linear", "conv2d", "batchnorm", "batchnorm_steps", "relu", "maxpool", "flatten",
                     "cross_entropy", "mse", "log_softmax", "softmax"}
    assert [s["name"] for s in SPECS] == [s["name"] for s in MR.LAYER_SPECS], "references are stale"


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", [s["name"] for s in SPECS])
def test_layer_matches_stored_torch(name, dtype):
    spec, inputs, expected = stored_layer(name)
    compare(run_mt_layer(spec, inputs, dtype), expected, dtype, f"{name} ({np.dtype(dtype)})")


def test_stored_batchnorm_running_stats_after_several_steps():
    """The running statistics themselves (also part of the comparison above), spelled out."""
    for name in ("bn2d_steps", "bn1d_steps_momentum03", "bn1d_steps_cumulative"):
        spec, inputs, expected = stored_layer(name)
        got = run_mt_layer(spec, inputs, np.float64)
        assert int(got["num_batches_tracked"]) == spec["steps"] == int(expected["num_batches_tracked"])
        assert_close(got["running_mean"], expected["running_mean"], 1e-6, f"{name} running_mean")
        assert_close(got["running_var"], expected["running_var"], 1e-6, f"{name} running_var")
        assert not np.allclose(expected["running_var"], 1.0)  # the steps really moved them


COOL = reference("coolnet")


def coolnet_stored():
    case = {k[3:]: v for k, v in COOL.items() if k.startswith("in:")}
    expected = {k[4:]: v for k, v in COOL.items() if k.startswith("f64:")}
    return case, expected


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_coolnet_matches_stored_torch(dtype):
    case, expected = coolnet_stored()
    compare(run_mt_coolnet(case, dtype), expected, dtype, f"coolnet ({np.dtype(dtype)})",
            zero_grad=COOLNET_ZERO_GRAD)


def test_coolnet_reference_is_informative():
    """Guards against a degenerate reference (e.g. all-zero gradients) that anything would match."""
    _, expected = coolnet_stored()
    for name in ("grad.x", "grad.0.weight", "grad.4.weight", "grad.9.weight", "grad.12.weight",
                 "grad.15.weight", "grad.1.weight", "grad.10.weight", "grad.13.bias"):
        assert np.abs(expected[name]).max() > 1e-4, name
    for name in COOLNET_ZERO_GRAD:
        assert np.abs(expected[f"grad.{name}"]).max() < 1e-9, name


def test_coolnet_names_match_torch(float64):
    net = coolnet()
    assert [n for n, _ in net.named_parameters()] == list(COOL["named_parameters"])
    assert set(net.state_dict()) == set(COOL["state_dict_keys"])
    assert len(net.state_dict()) == len(COOL["state_dict_keys"]) == 30


# ----------------------------------------------------------------------------- live comparisons
# different data from the stored references; MINITORCH_TEST_SEED=<n> draws other fresh data
LIVE_SEED = int(os.environ.get("MINITORCH_TEST_SEED", "900000"))


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("index", range(len(MR.LAYER_SPECS)), ids=[s["name"] for s in MR.LAYER_SPECS])
def test_layer_matches_torch_live(index, dtype, torch):
    spec = MR.LAYER_SPECS[index]
    arrays = MR.layer_arrays(spec, LIVE_SEED + index)
    expected = MR.run_torch_layer(spec, arrays, dtype)
    compare(run_mt_layer(spec, arrays, dtype), expected, dtype, f"{spec['name']} live ({np.dtype(dtype)})")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_coolnet_matches_torch_live(dtype, torch):
    case = MR.coolnet_case(LIVE_SEED + 1)
    expected = MR.run_torch_coolnet(case, dtype)
    compare(run_mt_coolnet(case, dtype), expected, dtype, f"coolnet live ({np.dtype(dtype)})",
            zero_grad=COOLNET_ZERO_GRAD)


def test_coolnet_names_match_torch_live(torch, float64):
    tnet, net = MR.coolnet_torch(np.float64), coolnet()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [p.shape for p in net.parameters()] == [tuple(p.shape) for p in tnet.parameters()]
    assert set(net.state_dict()) == set(tnet.state_dict())
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]


def test_default_initialisation_matches_torch_distribution(torch, seeded):
    """Same init scheme as torch: weights and biases U(+-1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5)),
    BatchNorm ones/zeros -- checked against the bound and against torch's own samples' spread."""
    net = nn.Sequential(nn.Linear(400, 120), nn.Conv2d(6, 16, 5), nn.BatchNorm1d(7))
    tnet = torch.nn.Sequential(torch.nn.Linear(400, 120), torch.nn.Conv2d(6, 16, 5), torch.nn.BatchNorm1d(7))
    fan_in = {"0": 400, "1": 150}
    for (name, p), tp in zip(net.named_parameters(), tnet.parameters(), strict=False):
        a, b = p.numpy(), tp.detach().numpy()
        assert a.dtype == np.float32 and a.shape == b.shape, name
        if name.startswith("2."):
            np.testing.assert_array_equal(a, b)  # BatchNorm: ones and zeros
            continue
        bound = 1 / np.sqrt(fan_in[name[0]])
        assert np.abs(b).max() <= bound * (1 + 1e-6)
        assert np.abs(a).max() <= bound * (1 + 1e-6), name
        if a.size >= 1000:  # uniform on (-bound, bound): fills it, std bound/sqrt(3)
            assert np.abs(a).max() > 0.99 * bound, name
            assert abs(b.std() - bound / np.sqrt(3)) < 0.05 * bound
            assert abs(a.std() - bound / np.sqrt(3)) < 0.05 * bound, name


# ----------------------------------------------------------------------------- tensor ops and edge cases
TENSOR_OPS = reference("tensor_ops")


def stored_tensor_op(name: str) -> dict[str, np.ndarray]:
    return {k.split(":", 1)[1]: v for k, v in TENSOR_OPS.items() if k.startswith(f"{name}:")}


def test_stored_tensor_op_cases_cover_every_case():
    assert {k.split(":")[0] for k in TENSOR_OPS if ":" in k} == set(MR.TENSOR_OP_CASES)


@pytest.mark.parametrize("name", list(MR.TENSOR_OP_CASES))
def test_tensor_op_matches_stored_torch(name):
    """Outputs, indices and input gradients (random upstream) of cat, stack, norm, max/min, abs, powers at
    zero and in-place changes inside the graph, against torch 2.13 in float64."""
    stored = stored_tensor_op(name)
    arrays = [stored[f"in{i}"] for i in range(len(MR.TENSOR_OP_CASES[name][1]))]
    actual = MR.run_tensor_op(mt, name, arrays, stored["upstream"])
    assert set(actual) == set(stored) - {f"in{i}" for i in range(len(arrays))}, name
    for key, expected in stored.items():
        if key.startswith("in") or key == "upstream":
            continue
        if key == "indices":
            assert actual[key].dtype == np.int64
            np.testing.assert_array_equal(actual[key], expected, err_msg=name)
        else:
            assert_close(actual[key], expected, 1e-12, f"{name}: {key}")


def test_sgd_with_a_parameter_without_grad_at_step_1_matches_stored_torch():
    np.testing.assert_allclose(MR.sgd_first_step_without_grad(mt), TENSOR_OPS["sgd_first_step_without_grad"],
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", list(MR.TENSOR_OP_CASES))
def test_tensor_op_matches_torch_live(name, torch):
    arrays = MR.tensor_op_inputs(name, LIVE_SEED + len(name))
    expected = MR.run_tensor_op(torch, name, arrays)
    actual = MR.run_tensor_op(mt, name, arrays, expected["upstream"])
    for key, value in expected.items():
        assert_close(actual[key], value, 1e-12, f"{name} live: {key}")
