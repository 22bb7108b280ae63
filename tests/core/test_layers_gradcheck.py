"""Finite-difference gradient checks of every layer, w.r.t. inputs and parameters, and of CoolNet end to end."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from mt_core_helpers import coolnet, gradcheck_module

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F

pytestmark = pytest.mark.usefixtures("single_thread_blas")


def leaf(array) -> mt.Tensor:
    return mt.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def distinct(rng, shape, spacing=0.05):
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * spacing).reshape(shape)


# ----------------------------------------------------------------------------- linear
@pytest.mark.parametrize("x_shape", [(5, 7), (2, 3, 7), (7,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear(x_shape, bias, rng):
    x, w = leaf(rng.standard_normal(x_shape)), leaf(rng.standard_normal((4, 7)))
    inputs = [x, w] + ([leaf(rng.standard_normal(4))] if bias else [])
    assert mt.gradcheck(lambda *t: F.linear(*t), inputs)
    expected = x.numpy() @ w.numpy().T + (inputs[2].numpy() if bias else 0)
    np.testing.assert_allclose(F.linear(*inputs).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("rows", [1, 3, 4, 5])
def test_functional_linear_through_the_small_batch_loops(rows, rng, small_batch_loops):
    """The same check with Linear's two products on the CPU's small-batch loops (forced on at this size)."""
    cpu = small_batch_loops
    x, w, b = leaf(rng.standard_normal((rows, 7))), leaf(rng.standard_normal((5, 7))), leaf(rng.standard_normal(5))
    assert cpu.linear_forward_by_rows(x.numpy(), w.numpy())
    assert cpu.linear_weight_grad_by_rows(np.ones((rows, 5)), x.numpy())
    assert mt.gradcheck(lambda *t: F.linear(*t), [x, w, b])


@pytest.mark.parametrize("bias", [True, False])
def test_linear_module(bias, rng, float64):
    layer = nn.Linear(6, 3, bias=bias)
    assert layer.weight.dtype == np.float64
    params = {"weight": None, **({"bias": None} if bias else {})}
    assert gradcheck_module(layer, lambda y: y, rng.standard_normal((4, 6)), params, rng)


# ----------------------------------------------------------------------------- conv2d
CONV_GRID = list(itertools.product([1, 3, 5], [1, 2, 3], [0, 1, 2]))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("k,stride,padding", CONV_GRID, ids=lambda v: str(v))
def test_conv2d(k, stride, padding, bias, rng):
    x = leaf(rng.standard_normal((2, 2, 8, 7)))  # non-square
    w = leaf(rng.standard_normal((3, 2, k, k)) / k)
    inputs = [x, w] + ([leaf(rng.standard_normal(3))] if bias else [])
    fn = lambda *t: F.conv2d(*t, stride=stride, padding=padding)  # noqa: E731
    out = fn(*inputs)
    assert out.shape == (2, 3, (8 + 2 * padding - k) // stride + 1, (7 + 2 * padding - k) // stride + 1)
    assert mt.gradcheck(fn, inputs)


def test_conv2d_single_input_channel_rectangular(rng):
    x = leaf(rng.standard_normal((1, 1, 4, 9)))
    w = leaf(rng.standard_normal((2, 1, 3, 3)))
    b = leaf(rng.standard_normal(2))
    assert mt.gradcheck(lambda *t: F.conv2d(*t, stride=(2, 2), padding=(1, 1)), [x, w, b])


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv2d_module(stride, padding, rng, float64):
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding)
    assert gradcheck_module(conv, lambda y: y, rng.standard_normal((2, 2, 6, 5)),
                            {"weight": None, "bias": None}, rng)


def test_conv2d_only_weight_requires_grad(rng):
    x = mt.tensor(rng.standard_normal((2, 2, 5, 5)))
    w = leaf(rng.standard_normal((3, 2, 3, 3)))
    assert mt.gradcheck(lambda a, b: F.conv2d(a, b, padding=1), [x, w])
    assert x.grad is None


# ----------------------------------------------------------------------------- batch norm
BN_CASES = [
    ("bn1d_2d", nn.BatchNorm1d, (6, 4)),
    ("bn1d_3d", nn.BatchNorm1d, (4, 3, 5)),
    ("bn2d", nn.BatchNorm2d, (3, 4, 3, 5)),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,cls,shape", BN_CASES, ids=[c[0] for c in BN_CASES])
def test_batchnorm_module(name, cls, shape, training, rng, float64):
    C = shape[1]
    bn = cls(C)
    bn.weight.data[...] = rng.uniform(0.5, 1.5, C)
    bn.bias.data[...] = rng.standard_normal(C)
    bn.running_mean.data[...] = rng.standard_normal(C)
    bn.running_var.data[...] = rng.uniform(0.5, 2.0, C)
    bn.train(training)
    x = rng.standard_normal(shape) * 2 + 1
    assert gradcheck_module(bn, lambda y: y, x, {"weight": None, "bias": None}, rng)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_functional_batch_norm_without_affine(training, rng):
    x = leaf(rng.standard_normal((5, 3, 2)) * 3 - 1)
    rm, rv = mt.tensor(rng.standard_normal(3)), mt.tensor(rng.uniform(0.5, 2, 3))
    fn = lambda t: F.batch_norm(t, rm, rv, training=training)  # noqa: E731
    assert mt.gradcheck(fn, [x])
    if training:  # normalised per channel: mean 0, (biased) variance ~1
        out = fn(x).numpy()
        np.testing.assert_allclose(out.mean(axis=(0, 2)), 0, atol=1e-12)
        np.testing.assert_allclose(out.var(axis=(0, 2)), 1, rtol=1e-3)


def test_batchnorm_cumulative_momentum_gradcheck(rng, float64):
    bn = nn.BatchNorm1d(3, momentum=None)
    assert gradcheck_module(bn, lambda y: y, rng.standard_normal((4, 3)), {"weight": None, "bias": None}, rng)


# ----------------------------------------------------------------------------- pooling and others
@pytest.mark.parametrize("k,stride,padding", [(2, 1, 0), (2, 2, 0), (2, 1, 1), (2, 2, 1),
                                              (3, 1, 0), (3, 2, 0), (3, 1, 1), (3, 2, 1)], ids=str)
def test_max_pool2d(k, stride, padding, rng):
    x = leaf(distinct(rng, (2, 2, 6, 7)))
    layer = nn.MaxPool2d(k, stride=stride, padding=padding)
    assert mt.gradcheck(layer, [x])
    assert mt.gradcheck(lambda t: F.max_pool2d(t, k, stride, padding), [x])


def test_max_pool2d_default_stride_is_kernel(rng):
    x = leaf(distinct(rng, (1, 2, 6, 6)))
    assert nn.MaxPool2d(3)(x).shape == (1, 2, 2, 2)
    assert mt.gradcheck(nn.MaxPool2d(3), [x])


def test_flatten_and_relu_modules(rng):
    x = leaf(rng.choice([-1.0, 1.0], (2, 3, 2, 2)) * rng.uniform(0.1, 1, (2, 3, 2, 2)))
    assert nn.Flatten()(x).shape == (2, 12)
    assert mt.gradcheck(nn.Flatten(), [x])
    assert mt.gradcheck(nn.Flatten(0, 2), [x])
    assert mt.gradcheck(nn.ReLU(), [x])
    assert mt.gradcheck(nn.Sequential(nn.ReLU(), nn.Flatten()), [x])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules(reduction, rng):
    logits = leaf(rng.standard_normal((6, 5)))
    target = mt.tensor(rng.integers(0, 5, 6))
    assert mt.gradcheck(lambda t: nn.CrossEntropyLoss(reduction=reduction)(t, target), [logits])
    a, b = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal((3, 4)))
    assert mt.gradcheck(nn.MSELoss(reduction), [a, b])


def test_small_sequential_network_all_parameters(rng, float64):
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(12, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3))
    target = mt.tensor(np.array([0, 2, 1, 2]))
    params = {name: None for name, _ in net.named_parameters()}
    assert gradcheck_module(net, lambda y: F.cross_entropy(y, target, reduction="none"),
                            rng.standard_normal((4, 2, 4, 4)), params, rng)


# ----------------------------------------------------------------------------- CoolNet end to end
# (parameter name -> number of its elements to perturb; None = all)
COOLNET_CHECKED = {
    "0.weight": 80, "0.bias": None, "1.weight": None, "1.bias": None,
    "4.weight": 60, "4.bias": None, "5.weight": None, "5.bias": None,
    "9.weight": 60, "9.bias": 10, "10.weight": 30, "10.bias": 30,
    "12.weight": 60, "12.bias": 10, "13.weight": 30, "13.bias": 30,
    "15.weight": 60, "15.bias": None,
}


def test_coolnet_end_to_end(rng, float64):
    """Input and every parameter tensor (a random subset of the big ones) of the LeNet with BatchNorm.

    Batch 4: with 2 samples BatchNorm1d's output is +-1 whatever the input, so every gradient upstream of it
    would be ~0 and the check would say little.
    """
    mt.manual_seed(3)
    net = coolnet()
    assert all(p.dtype == np.float64 for p in net.parameters())
    net.train()
    x = rng.standard_normal((4, 3, 32, 32))
    target = mt.tensor(np.array([3, 0, 9, 3]))
    assert set(COOLNET_CHECKED) == {name for name, _ in net.named_parameters()}
    assert gradcheck_module(net, lambda y: F.cross_entropy(y, target, reduction="none"), x,
                            COOLNET_CHECKED, rng, x_count=120)
