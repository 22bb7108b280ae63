"""Finite-difference gradient checks (float64, random upstream gradient) of the ops changed to follow PyTorch's
semantics: indexing with integers mixed with advanced indices (read and write), the stable sigmoid, softmax of
a 0-d tensor, 0-d reductions, average pooling as window sums, MSE with a broadcast target, cross-entropy with
class probabilities and with (N, C, d1, ...) inputs, ops whose operands are promoted to a common dtype, the
remainders (``%``, ``fmod``) and the elementwise ``max(a, b)``/``min(a, b)``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F

pytestmark = pytest.mark.usefixtures("single_thread_blas")

GC = dict(atol=1e-7, rtol=1e-6)


def leaf(array) -> mt.Tensor:
    return mt.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


MIXED_INDEXES = [
    (0, slice(None), [1, 2]),
    (1, slice(None), [2, 2, 0]),  # a repeated index: gradients add up
    (None, 0, slice(None), [1, 2]),
    (0, None, [1, 2]),
    (1, [True, False, True]),
    (0, slice(1, None), [[1], [2]]),
    ([0, 1], 0),
]


@pytest.mark.parametrize("index", MIXED_INDEXES, ids=str)
def test_getitem_with_integers_and_advanced_indices(index, rng):
    x = leaf(rng.standard_normal((2, 3, 4)))
    idx = tuple(mt.tensor(i) if isinstance(i, list) else i for i in index)
    assert mt.gradcheck(lambda t: t[idx], [x], **GC)


@pytest.mark.parametrize("index", [MIXED_INDEXES[i] for i in (0, 2, 3, 5)], ids=str)  # no repeated index: a
def test_setitem_with_integers_and_advanced_indices(index, rng):  # repeated write has no derivative
    x = leaf(rng.standard_normal((2, 3, 4)))
    shape = x.detach()[index].shape
    v = leaf(rng.standard_normal(shape[1:] if index[0] is None else shape))  # the first also broadcasts v

    def write(a, b):
        y = a * 1
        y[index] = b * 2
        return y

    assert mt.gradcheck(write, [x, v], **GC)


def test_sigmoid_in_both_tails(rng):
    x = leaf(np.concatenate([rng.uniform(-30, -5, 4), rng.standard_normal(4), rng.uniform(5, 30, 4)]))
    assert mt.gradcheck(lambda t: t.sigmoid() * 1e3, [x], **GC)  # scaled: the tails' gradients are tiny


def test_softmax_and_reductions_of_a_0d_tensor(rng):
    s = leaf(rng.standard_normal(()))
    assert mt.gradcheck(lambda t: F.softmax(t * 2, 0) + F.log_softmax(t, -1) + t.sum(-1) * t.mean(0), [s], **GC)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False)], ids=str)
def test_avg_pool_window_sums(kwargs, rng):
    x = leaf(rng.standard_normal((2, 2, 5, 6)))
    assert mt.gradcheck(lambda t: F.avg_pool2d(t, **kwargs), [x], **GC)


def test_unbatched_pooling_and_conv(rng):
    x = leaf(rng.standard_normal((2, 5, 6)))
    w = leaf(rng.standard_normal((3, 2, 3, 3)) / 3)
    assert mt.gradcheck(lambda t, k: F.adaptive_avg_pool2d(F.conv2d(t, k, padding=1), (2, 4)), [x, w], **GC)


def test_mse_with_a_broadcast_target(rng):
    x, t = leaf(rng.standard_normal((3,))), leaf(rng.standard_normal((2, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert mt.gradcheck(lambda a, b: F.mse_loss(a, b, reduction="none"), [x, t], **GC)
        assert mt.gradcheck(lambda a, b: F.mse_loss(a, b), [x, t], **GC)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probabilities(reduction, rng):
    x = leaf(rng.standard_normal((4, 3)))
    p = leaf(rng.dirichlet(np.ones(3), 4))
    w = mt.tensor(rng.uniform(0.5, 2, 3))
    fn = lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.2, reduction=reduction)  # noqa: E731
    assert mt.gradcheck(fn, [x, p], **GC)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_over_positions(reduction, rng):
    x = leaf(rng.standard_normal((2, 3, 2, 3)))
    target = rng.integers(0, 3, (2, 2, 3))
    target[1, 0, 2] = -100
    fn = lambda a: F.cross_entropy(a, mt.tensor(target), weight=mt.tensor([0.5, 1.0, 2.0]),  # noqa: E731
                                   reduction=reduction)
    assert mt.gradcheck(fn, [x], **GC)


def test_ops_with_promoted_operands(rng):
    """A float64 leaf with float32 and int64 operands: the cast to the common dtype passes gradients back."""
    x = leaf(rng.standard_normal((3,)))
    ints = mt.tensor([1, 2, 3])
    assert mt.gradcheck(lambda t: (t * ints) / ints.sum() + ints / t, [x], **GC)
    y32 = mt.tensor(rng.standard_normal(3).astype(np.float32))
    assert mt.gradcheck(lambda t: mt.cat([t, y32]) * 2, [x], **GC)


def quotients_away_from_whole_numbers(rng, divisor, shape):
    """Dividends whose quotients by ``divisor`` lie 0.2 to 0.8 past a whole number: the rounded quotient, and so
    the remainder's derivative, is constant within far more than gradcheck's eps of each point."""
    q = rng.integers(-3, 4, shape) + rng.uniform(0.2, 0.8, shape)
    return q * divisor


@pytest.mark.parametrize("name", ["remainder", "fmod"])
def test_remainders_of_broadcast_tensors(name, rng):
    b = rng.uniform(0.5, 2.0, 4) * np.array([1, -1, 1, -1])
    x, y = leaf(quotients_away_from_whole_numbers(rng, b, (3, 4))), leaf(b)
    fn = getattr(mt, name)
    assert mt.gradcheck(lambda a, d: fn(a, d), [x, y], **GC)
    assert mt.gradcheck(lambda a: fn(a, -1.5), [leaf(quotients_away_from_whole_numbers(rng, -1.5, (5,)))], **GC)


def test_max_and_min_of_two_tensors(rng):
    values = rng.permutation(24).reshape(2, 3, 4) * 0.25  # distinct: no ties, where there is no derivative
    x, y = leaf(values[0]), leaf(values[1][0])
    assert mt.gradcheck(lambda a, b: mt.max(a, b) * 2 + mt.min(a, b), [x, y], **GC)
