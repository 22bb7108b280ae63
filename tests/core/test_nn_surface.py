"""The layers, activations, losses and functions added to minitorch.nn, against PyTorch and finite differences.

Stored tests load tests/reference/nn_surface.npz (written by tests/reference/make_nn_surface_references.py
with torch 2.13.0; no torch needed here) and run the same case runner on minitorch: output, input gradients
and parameter gradients for a random upstream gradient.  Every differentiable case is also gradchecked in
float64 (central differences, random upstream gradient) with respect to its float inputs and parameters.
The rest pins the containers (names, registration), Module.apply, the initialisations and bad arguments.
"""
from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
from mt_core_helpers import assert_close, reference
from reference_io import from_json_array

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.nn.parameter import data_array

pytestmark = pytest.mark.usefixtures("single_thread_blas")

MNR = importlib.import_module("make_nn_surface_references")
STORED = reference("nn_surface")
FW = MNR.Framework(nn=nn, F=F, set_param=lambda p, array: data_array(p).__setitem__(..., array),
                   tensor=lambda array, requires_grad=False: mt.tensor(array, requires_grad=requires_grad))
CASES = {c["name"]: c for c in MNR.CASES}
GC = dict(atol=1e-7, rtol=1e-6)


def stored(prefix: str) -> dict[str, np.ndarray]:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in STORED.items() if k.startswith(prefix + ":")}


def test_stored_cases_are_current_and_cover_every_new_layer():
    assert from_json_array(STORED["specs"]) == MNR.CASES, "nn_surface.npz is stale: rerun its script"
    covered = {c.get("cls") or c.get("fn") for c in MNR.CASES}
    assert covered >= {"GELU", "SiLU", "ELU", "Softplus", "Hardtanh", "ReLU6", "LayerNorm", "GroupNorm", "Embedding",
                       "Conv1d", "MaxPool1d", "AvgPool1d", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
                       "BCEWithLogitsLoss", "KLDivLoss", "NLLLoss", "pad", "interpolate", "normalize",
                       "cosine_similarity"}


@pytest.mark.parametrize("name", list(CASES))
def test_case_matches_stored_torch(name):
    case, arrays = CASES[name], stored(f"{name}:in")
    actual, expected = MNR.run_case(FW, case, arrays), stored(f"{name}:out")
    assert set(actual) == set(expected), f"{name}: {sorted(actual)} != {sorted(expected)}"
    for key in sorted(expected):
        assert_close(actual[key], expected[key], 1e-10, f"{name}: {key}", atol=1e-12)


def gradcheck_case(case: dict, arrays: dict[str, np.ndarray]) -> bool:
    """gradcheck the case w.r.t. its float input, float target and parameters (swapped in for each call)."""
    leaves = []
    x = mt.tensor(arrays["x"], requires_grad=arrays["x"].dtype.kind == "f")
    others = []
    if "target" in arrays:
        others.append(mt.tensor(arrays["target"], requires_grad=arrays["target"].dtype.kind == "f"))
    if case["kind"] == "module":
        module = MNR.build(FW, case, arrays).double()
        modules = dict(module.named_modules())
        slots = []
        for pname, p in module.named_parameters():
            owner, _, attr = pname.rpartition(".")
            slots.append((modules[owner], attr))
            leaves.append(mt.tensor(np.random.default_rng(1).uniform(0.5, 1.5, p.shape), requires_grad=True))

        def call(*ts):
            for (mod, attr), t in zip(slots, ts[1 + len(others):], strict=True):
                object.__setattr__(mod, attr, t)
            return module(ts[0], *ts[1:1 + len(others)])
    else:
        def call(*ts):
            return getattr(F, case["fn"])(*ts, **case.get("kwargs", {}))
    return mt.gradcheck(call, [x, *others, *leaves], **GC)


@pytest.mark.parametrize("name", list(CASES))
def test_case_gradcheck(name):
    case = CASES[name]
    if case.get("cls") == "Embedding":  # the padding row's zero gradient is a rule, not a derivative: tested below
        case = dict(case, kwargs={k: v for k, v in case.get("kwargs", {}).items() if k != "padding_idx"})
    assert gradcheck_case(case, stored(f"{name}:in"))


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    """The check above can fail: a Softplus whose backward forgets beta's sigmoid scale is refused."""
    from minitorch.ops import activation

    monkeypatch.setattr(activation.Softplus, "backward", lambda self, g: (g * 0.5,))
    with pytest.raises(mt.gradcheck.__globals__["GradcheckError"]):
        gradcheck_case(CASES["softplus"], stored("softplus:in"))


# ----------------------------------------------------------------------------- containers and Module.apply
def test_container_state_dict_names_match_pytorch():
    assert [list(e) for e in MNR.container_state(FW)] == from_json_array(STORED["containers"])


def test_module_list_and_dict_register_their_members():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    layers += [nn.Linear(2, 3)]
    layers.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "ReLU", "Linear"]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    del layers[0]
    assert [n for n, _ in layers.named_parameters()] == ["2.weight", "2.bias"] and len(layers) == 3
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2 and layers[-1] is layers[2]
    with pytest.raises(TypeError, match="ModuleList: expected a Module, got function"):
        layers.append(F.relu)
    with pytest.raises(IndexError, match="ModuleList index 5 is out of range for length 3"):
        layers[5]
    blocks = nn.ModuleDict({"a": nn.Linear(1, 1)})
    blocks["b"] = nn.Linear(1, 2)
    assert blocks.keys() == ["a", "b"] and "a" in blocks and len(blocks) == 2
    assert blocks.pop("a") is not None and [n for n, _ in blocks.named_parameters()] == ["b.weight", "b.bias"]
    with pytest.raises(KeyError, match="ModuleDict: the key 'keys' is the name of an attribute of ModuleDict"):
        blocks["keys"] = nn.ReLU()
    params = nn.ParameterList([mt.zeros(2)])
    params.append(nn.Parameter(mt.ones(3)))
    assert all(isinstance(p, nn.Parameter) for p in params) and [n for n, _ in params.named_parameters()] == ["0", "1"]


def test_module_apply_visits_children_first_and_returns_self():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init)
    assert np.all(net[0].weight.numpy() == 0.5) and np.all(net[1][1].weight.numpy() == 0.5)


def test_initialisations_follow_pytorch(seeded):
    norm = nn.LayerNorm((3, 4))
    assert np.all(norm.weight.numpy() == 1) and np.all(norm.bias.numpy() == 0) and norm.weight.shape == (3, 4)
    group = nn.GroupNorm(2, 4)
    assert np.all(group.weight.numpy() == 1) and np.all(group.bias.numpy() == 0)
    emb = nn.Embedding(2000, 8, padding_idx=-1)
    w = emb.weight.numpy()
    assert emb.padding_idx == 1999 and np.all(w[1999] == 0)
    assert abs(w[:1999].mean()) < 0.05 and abs(w[:1999].std() - 1) < 0.05  # N(0, 1)
    conv = nn.Conv1d(4, 6, 3)
    bound = 1 / np.sqrt(4 * 3)  # kaiming_uniform(a=sqrt(5)) and the bias's 1 / sqrt(fan_in), as Conv2d
    assert conv.weight.shape == (6, 4, 3) and np.abs(conv.weight.numpy()).max() <= bound
    assert np.abs(conv.bias.numpy()).max() <= bound


# ----------------------------------------------------------------------------- behaviour the cases cannot show
def test_embedding_padding_row_gets_no_gradient_and_dropout2d_drops_whole_channels(seeded):
    emb = nn.Embedding(4, 3, padding_idx=0)
    emb(mt.tensor(np.array([0, 1, 0, 3]))).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[0] * 3, [1] * 3, [0] * 3, [1] * 3])
    x = mt.ones(8, 16, 3, 3, requires_grad=True)
    out = nn.Dropout2d(0.5)(x).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))  # whole channels, scaled by 2
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    np.testing.assert_array_equal(nn.Dropout2d(0.5).eval()(x).numpy(), x.numpy())


def test_unflatten_and_relu6_modules():
    x = mt.tensor(np.arange(24.0).reshape(2, 12))
    assert nn.Unflatten(1, (3, -1))(x).shape == (2, 3, 4) and nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    assert nn.ReLU6()(mt.tensor(np.array([-1.0, 3.0, 7.0]))).tolist() == [0.0, 3.0, 6.0]


def test_kl_div_mean_warns_and_nll_mean_with_every_row_ignored_is_nan():
    logp = mt.tensor(np.log(np.full((2, 3), 1 / 3)))
    with pytest.warns(UserWarning, match="'batchmean' gives the KL divergence"):
        F.kl_div(logp, mt.tensor(np.full((2, 3), 1 / 3)))
    with np.errstate(invalid="ignore"):
        value = F.nll_loss(logp, mt.tensor(np.array([1, 1])), ignore_index=1)
    assert np.isnan(value.item())


@pytest.mark.parametrize("call,error,message", [
    (lambda: F.pad(mt.zeros(2, 3), (1,)), TypeError, "pad: pad must be a tuple of ints of even length, got (1,)"),
    (lambda: F.pad(mt.zeros(1, 2, 3), (3, 0), mode="reflect"), ValueError,
     "pad: reflect padding (3, 0) must be smaller than the size 3 of dim 2"),
    (lambda: F.pad(mt.zeros(2, 3), (1, 1), mode="circular"), ValueError,
     "pad: mode must be one of constant, reflect, replicate, got 'circular'"),
    (lambda: F.interpolate(mt.zeros(1, 1, 4, 4), size=3, scale_factor=2), ValueError,
     "interpolate: give exactly one of size and scale_factor"),
    (lambda: F.interpolate(mt.zeros(1, 1, 4, 4), size=3, mode="bicubic"), ValueError,
     "interpolate: mode must be one of nearest, linear, bilinear, got 'bicubic'"),
    (lambda: F.interpolate(mt.zeros(1, 1, 4), size=3, mode="bilinear"), ValueError,
     "interpolate: mode 'bilinear' does not take an input of shape (1, 1, 4)"),
    (lambda: F.binary_cross_entropy(mt.tensor(np.array([0.5, 1.5])), mt.tensor(np.array([0.0, 1.0]))),
     ValueError, "binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: F.l1_loss(mt.zeros(2, 3), mt.zeros(4)), ValueError,
     "l1_loss: input of shape (2, 3) and target of shape (4,) do not broadcast together"),
    (lambda: F.nll_loss(mt.zeros(2, 3), mt.tensor(np.array([0, 3]))), IndexError,
     "nll_loss: target 3 is out of bounds for 3 classes"),
    (lambda: F.nll_loss(mt.zeros(2, 3), mt.zeros(2)), TypeError, "nll_loss: target must hold class indices"),
    (lambda: F.huber_loss(mt.zeros(2), mt.zeros(2), reduction="avg"), ValueError,
     "huber_loss: reduction must be one of 'none', 'mean', 'sum', got 'avg'"),
    (lambda: F.embedding(mt.tensor(np.array([5])), mt.zeros(3, 2)), IndexError, "embedding: index out of range"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "GroupNorm: num_channels (6) must be divisible by num_groups (4)"),
    (lambda: F.layer_norm(mt.zeros(2, 3), (4,)), ValueError,
     "layer_norm: normalized_shape (4,) does not match the trailing dims of input (2, 3)"),
    (lambda: F.gelu(mt.zeros(2), approximate="fast"), ValueError, "gelu: approximate must be 'none' or 'tanh'"),
    (lambda: F.hardtanh(mt.zeros(2), 1.0, -1.0), ValueError, "hardtanh: min_val 1.0 must not exceed max_val -1.0"),
    (lambda: F.conv1d(mt.zeros(2, 3, 4, 5), mt.zeros(2, 3, 1)), ValueError,
     "conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape (2, 3, 4, 5)"),
    (lambda: nn.Embedding(3, 2, padding_idx=3), ValueError, "Embedding: padding_idx must be within num_embeddings"),
])
def test_bad_arguments_are_one_line_each(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
