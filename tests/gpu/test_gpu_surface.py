"""The PyTorch surface on the GPU (CuPy) against the same on the CPU: the layers and losses
with their new options, Adam/AdamW/RMSprop steps and gradient clipping.  Skipped without CuPy and a GPU
(see conftest.py).  Tolerance: max|gpu - cpu| <= tol * max|cpu| (1e-4 in float32, 1e-9 in float64)."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
from minitorch import backend

pytestmark = pytest.mark.gpu
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]
TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def host(a):
    return backend.to_numpy(a.data if isinstance(a, mt.Tensor) else a)


def assert_close(actual, expected, tol, what):
    a, b = host(actual).astype(np.float64), host(expected).astype(np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    err = float(np.max(np.abs(a - b))) if b.size else 0.0
    assert err <= tol * (scale if scale > 0 else 1.0), f"{what}: max abs error {err:.3g} (scale {scale:.3g})"


LAYERS = {
    "conv-rect-strided": (lambda: nn.Conv2d(4, 6, (2, 4), stride=(1, 2), padding=(1, 0)), (2, 4, 9, 8)),
    "conv-dilated-same": (lambda: nn.Conv2d(3, 4, 3, dilation=2, padding="same"), (2, 3, 8, 7)),
    "conv-groups": (lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 7, 7)),
    "conv-depthwise": (lambda: nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False), (2, 4, 8, 7)),
    "conv-rect-fast": (lambda: nn.Conv2d(3, 4, (3, 5), padding=1), (2, 3, 8, 9)),
    "maxpool-ceil": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 10, 7)),
    "maxpool-rect-dilated": (lambda: nn.MaxPool2d((2, 3), stride=(2, 1), dilation=(1, 2)), (2, 2, 8, 9)),
    "avgpool-ceil-exclude": (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 9, 8)),
    "adaptive": (lambda: nn.AdaptiveAvgPool2d((3, None)), (2, 3, 9, 8)),
    "leaky-relu": (lambda: nn.LeakyReLU(0.2), (4, 6)),
    "softmax": (lambda: nn.Softmax(dim=1), (4, 6)),
    "log-softmax": (lambda: nn.LogSoftmax(dim=0), (4, 6)),
    "dropout": (lambda: nn.Dropout(0.3), (20, 30)),  # the mask is drawn on the host: the same on both devices
}


def run_layer(make, shape, device, dtype):
    mt.manual_seed(0)
    layer = make().to(dtype).to(device)
    rng = np.random.default_rng(1)
    x = mt.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True, device=device)
    out = layer(x)
    assert out.device == device
    out.backward(rng.standard_normal(out.shape).astype(dtype))
    return host(out), host(x.grad), {n: host(p.grad) for n, p in layer.named_parameters()}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_cpu(name, dtype):
    make, shape = LAYERS[name]
    cpu, gpu = run_layer(make, shape, "cpu", dtype), run_layer(make, shape, "cuda", dtype)
    tol = TOL[np.dtype(dtype)]
    assert_close(gpu[0], cpu[0], tol, f"{name} output")
    assert_close(gpu[1], cpu[1], tol, f"{name} input grad")
    for key in cpu[2]:
        assert_close(gpu[2][key], cpu[2][key], tol, f"{name} grad of {key}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("options", [dict(weight=True), dict(ignore=True), dict(label_smoothing=0.2),
                                     dict(weight=True, ignore=True, label_smoothing=0.1)], ids=str)
def test_cross_entropy_options_match_cpu(options, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((6, 5)) * 2).astype(dtype)
    target = rng.integers(0, 5, 6)
    if options.get("ignore"):
        target[[1, 4]] = -100
    weight = rng.uniform(0.2, 2.0, 5).astype(dtype)
    results = {}
    for device in ("cpu", "cuda"):
        kwargs = dict(label_smoothing=options.get("label_smoothing", 0.0))
        if options.get("weight"):
            kwargs["weight"] = mt.tensor(weight, device=device)
        x = mt.tensor(logits, requires_grad=True, device=device)
        loss = nn.CrossEntropyLoss(**kwargs)(x, mt.tensor(target, device=device))
        loss.backward()
        results[device] = (host(loss), host(x.grad))
    tol = TOL[np.dtype(dtype)]
    assert_close(results["cuda"][0], results["cpu"][0], tol, "loss")
    assert_close(results["cuda"][1], results["cpu"][1], tol, "grad")


@pytest.mark.parametrize("make", [
    lambda ps: mt.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    lambda ps: mt.optim.AdamW(ps, lr=0.01),
    lambda ps: mt.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
], ids=["adam", "adamw", "rmsprop"])
def test_optimizer_steps_match_cpu(make):
    finals = {}
    for device in ("cpu", "cuda"):
        mt.manual_seed(0)
        net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double().to(device)
        opt = make(net.parameters())
        rng = np.random.default_rng(2)
        for _ in range(5):
            x = mt.tensor(rng.standard_normal((6, 5)), device=device)
            opt.zero_grad()
            loss = (net(x) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 0.5)
            opt.step()
        finals[device] = [host(p) for p in net.parameters()]
        assert all(backend.device_of(s) == device for state in opt.state.values() for s in state.values()
                   if hasattr(s, "shape"))
    for a, b in zip(finals["cuda"], finals["cpu"], strict=True):
        assert_close(a, b, 1e-9, "parameters after 5 steps")
