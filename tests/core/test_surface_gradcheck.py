"""Finite-difference gradient checks (float64, random upstream gradient) of the ops and layers added for the
PyTorch surface: convolution of any geometry, max/average/adaptive pooling, leaky ReLU, dropout, and
cross-entropy with class weights, ignored rows and label smoothing."""
from __future__ import annotations

import numpy as np
import pytest
from mt_core_helpers import gradcheck_module

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.ops.elementwise import MaskedScale
from minitorch.tensor import apply

pytestmark = pytest.mark.usefixtures("single_thread_blas")

GC = dict(atol=1e-7, rtol=1e-6)  # tighter than gradcheck's defaults: central differences in float64 allow it


def leaf(array) -> mt.Tensor:
    return mt.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def distinct(rng, shape, spacing=0.05):
    """No ties (spacing >> gradcheck's eps), so every pooling window has a single maximum."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * spacing).reshape(shape)


# ----------------------------------------------------------------------------- conv2d, general geometry
CONV_CASES = [
    dict(kernel=(2, 3), stride=(1, 2), padding=(1, 0)),
    dict(kernel=(3, 3), stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    dict(kernel=(3, 2), dilation=2, padding="same"),
    dict(kernel=(4, 3), padding="same"),
    dict(kernel=(3, 3), stride=(2, 3), padding="valid"),
    dict(kernel=(3, 3), padding=1, groups=2),
    dict(kernel=(3, 3), stride=2, padding=1, groups=4),   # depthwise
    dict(kernel=(2, 2), groups=4, dilation=(2, 1)),      # depthwise, out = 2 x in
    dict(kernel=(3, 5), padding=1),                      # fast path, rectangular kernel
    dict(kernel=(1, 3), stride=2, padding=2),            # fast path, im2col, rectangular kernel
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_conv2d_any_geometry(case, bias, rng):
    kwargs = {k: v for k, v in case.items() if k != "kernel"}
    groups = case.get("groups", 1)
    out_channels = 8 if case.get("dilation") == (2, 1) else 4
    x = leaf(rng.standard_normal((2, 4, 7, 8)))
    w = leaf(rng.standard_normal((out_channels, 4 // groups) + case["kernel"]) / 3)
    inputs = [x, w] + ([leaf(rng.standard_normal(out_channels))] if bias else [])
    fn = lambda *t: F.conv2d(*t, **kwargs)  # noqa: E731
    if case.get("padding") == "same":
        assert fn(*inputs).shape == (2, out_channels, 7, 8)
    assert mt.gradcheck(fn, inputs, **GC)


def test_conv2d_module_general_path(rng, float64):
    conv = nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding="valid", dilation=(2, 1), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2)
    assert gradcheck_module(conv, lambda y: y, rng.standard_normal((2, 4, 8, 7)), {"weight": None, "bias": None},
                            rng, **GC)


# ----------------------------------------------------------------------------- max pooling
MAXPOOL_CASES = [
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=(3, 1), stride=(1, 2)),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=2, stride=(1, 2), dilation=(2, 1), ceil_mode=True),
]


@pytest.mark.parametrize("case", MAXPOOL_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_max_pool2d_any_geometry(case, rng):
    x = leaf(distinct(rng, (2, 2, 7, 9)))
    assert mt.gradcheck(lambda t: F.max_pool2d(t, **case), [x], **GC)
    assert mt.gradcheck(nn.MaxPool2d(**case), [x], **GC)


def test_max_pool2d_with_indices(rng):
    x = leaf(distinct(rng, (1, 2, 6, 7)))
    assert mt.gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True)[0], [x], **GC)


# ----------------------------------------------------------------------------- average pooling
AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), divisor_override=5),
]


@pytest.mark.parametrize("case", AVGPOOL_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_avg_pool2d(case, rng):
    x = leaf(rng.standard_normal((2, 2, 7, 8)))
    assert mt.gradcheck(lambda t: F.avg_pool2d(t, **case), [x], **GC)
    assert mt.gradcheck(nn.AvgPool2d(**case), [x], **GC)


@pytest.mark.parametrize("size", [1, (3, None), (4, 3), (9, 10)], ids=str)
def test_adaptive_avg_pool2d(size, rng):
    x = leaf(rng.standard_normal((2, 2, 7, 6)))
    assert mt.gradcheck(nn.AdaptiveAvgPool2d(size), [x], **GC)


# ----------------------------------------------------------------------------- activations and dropout
@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5])
def test_leaky_relu(slope, rng):
    shape = (3, 4, 5)
    x = leaf(rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape))  # away from the kink
    assert mt.gradcheck(lambda t: F.leaky_relu(t, slope), [x], **GC)
    assert mt.gradcheck(nn.LeakyReLU(slope), [x], **GC)


@pytest.mark.parametrize("module", [nn.Softmax(dim=1), nn.LogSoftmax(dim=0), nn.Tanh(), nn.Sigmoid(), nn.Identity()],
                         ids=lambda m: type(m).__name__)
def test_activation_modules(module, rng):
    assert mt.gradcheck(module, [leaf(rng.standard_normal((4, 5)))], **GC)


def test_masked_scale_op(rng):
    mask = (rng.random((3, 4)) > 0.4) / 0.6
    assert mt.gradcheck(lambda t: apply(MaskedScale(mask), t), [leaf(rng.standard_normal((3, 4)))], **GC)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9, 1.0])
def test_dropout_with_a_fixed_mask(p, rng):
    """Each call redraws the mask, so reseed before each: finite differences then see one fixed function."""
    def fn(t):
        mt.manual_seed(11)
        return F.dropout(t, p, training=True)

    assert mt.gradcheck(fn, [leaf(rng.standard_normal((4, 6)))], **GC)


@pytest.mark.parametrize("p", [0.3, 1.0])
@pytest.mark.parametrize("form", ["function", "module"])
def test_dropout2d_with_a_fixed_mask(form, p, rng):
    """Whole channels dropped, the rest scaled: reseeded before each call, as above."""
    layer = nn.Dropout2d(p)

    def fn(t):
        mt.manual_seed(11)
        return F.dropout2d(t, p, training=True) if form == "function" else layer(t)

    assert mt.gradcheck(fn, [leaf(rng.standard_normal((3, 4, 2, 3)))], **GC)


# ----------------------------------------------------------------------------- cross-entropy options
CE_OPTIONS = [
    dict(weight=True),
    dict(ignore=[1, 4]),
    dict(ignore_index=2),
    dict(label_smoothing=0.15),
    dict(weight=True, ignore=[0], label_smoothing=0.3),
    dict(weight=True, ignore_index=3, label_smoothing=1.0),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_cross_entropy_options(options, reduction, rng):
    logits = leaf(rng.standard_normal((6, 5)) * 2)
    target = rng.integers(0, 5, 6)
    target[options.get("ignore", [])] = -100
    kwargs = {k: v for k, v in options.items() if k not in ("weight", "ignore")}
    if options.get("weight"):
        kwargs["weight"] = mt.tensor(rng.uniform(0.2, 2.0, 5))
    fn = lambda t: F.cross_entropy(t, mt.tensor(target), reduction=reduction, **kwargs)  # noqa: E731
    assert mt.gradcheck(fn, [logits], **GC)
    assert mt.gradcheck(lambda t: nn.CrossEntropyLoss(reduction=reduction, **kwargs)(t, mt.tensor(target)),
                        [logits], **GC)


def test_small_network_of_new_layers_all_parameters(rng, float64):
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding="same"), nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 3, groups=4, stride=(1, 2)),
        nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d((2, 1)), nn.Flatten(), nn.Dropout(0.0),
        nn.Linear(8, 3), nn.Tanh(), nn.Linear(3, 4))
    target = mt.tensor(np.array([0, 3, 1]))
    loss = nn.CrossEntropyLoss(weight=mt.tensor(np.array([1.0, 0.5, 2.0, 1.5])), label_smoothing=0.1,
                               reduction="none")
    params = {name: None for name, _ in net.named_parameters()}
    assert gradcheck_module(net, lambda y: loss(y, target), rng.standard_normal((3, 2, 6, 9)), params, rng, **GC)
