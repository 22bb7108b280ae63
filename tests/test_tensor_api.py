"""Tensor API basics: construction and dtype rules, conversion, comparisons, factories, package layout."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt


# ----------------------------------------------------------------------------- tensor() dtype rules
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_, np.float16])
def test_numpy_array_keeps_its_dtype(dtype, float64):
    arr = np.arange(6).reshape(2, 3).astype(dtype)
    t = mt.tensor(arr)
    assert t.dtype == dtype and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), arr)


def test_python_floats_take_the_default_dtype():
    assert mt.get_default_dtype() == np.float32
    assert mt.tensor([1.0, 2.5]).dtype == np.float32
    assert mt.tensor(3.5).dtype == np.float32 and mt.tensor(3.5).shape == ()
    assert mt.tensor([[1, 2.0], [3, 4]]).dtype == np.float32  # mixed ints and floats: float
    mt.set_default_dtype(np.float64)
    assert mt.tensor([1.0, 2.5]).dtype == np.float64
    assert mt.tensor(np.arange(3, dtype=np.float32)).dtype == np.float32  # arrays still keep theirs


def test_python_ints_and_bools():
    assert mt.tensor([1, 2, 3]).dtype == np.int64
    assert mt.tensor(7).dtype == np.int64
    assert mt.tensor([True, False]).dtype == np.bool_


def test_explicit_dtype_and_copy_semantics():
    arr = np.arange(3.0)
    t = mt.tensor(arr, dtype=np.float32)
    assert t.dtype == np.float32
    u = mt.tensor(arr)
    arr[0] = 42
    assert u.numpy()[0] == 0  # tensor() copies
    v = mt.tensor(u)
    v.data[1] = -1
    assert u.numpy()[1] == 1
    assert mt.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_requires_grad_flag():
    t = mt.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None


# ----------------------------------------------------------------------------- conversion
def test_item_numpy_and_python_numbers():
    assert mt.tensor(2.5).item() == 2.5 and isinstance(mt.tensor(2.5).item(), float)
    assert mt.tensor([7]).item() == 7 and isinstance(mt.tensor([7]).item(), int)
    assert mt.tensor(np.array([[True]])).item() is True
    t = mt.tensor(np.array([[1.5, 2.0]]))
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().shape == (1, 2)
    assert t.tolist() == [[1.5, 2.0]]
    assert float(mt.tensor(1.25)) == 1.25 and int(mt.tensor(3)) == 3 and bool(mt.tensor(0.0)) is False
    np.testing.assert_array_equal(np.asarray(t), [[1.5, 2.0]])


def test_to_dtype():
    t = mt.tensor(np.array([1.5, 2.5], dtype=np.float32), requires_grad=True)
    d = t.to(np.float64)
    assert d.dtype == np.float64 and d is not t and d.requires_grad and not d.is_leaf  # as in PyTorch
    np.testing.assert_array_equal(d.numpy(), [1.5, 2.5])
    (d * d).sum().backward()  # the gradient comes back to t, in t's dtype
    assert t.grad.dtype == np.float32 and t.grad.tolist() == [3.0, 5.0]
    assert t.to(np.float32) is t
    assert t.double().dtype == np.float64 and d.float().dtype == np.float32
    assert t.to("cpu") is t and t.device == "cpu"
    assert mt.tensor([1, 2]).to(np.float64).dtype == np.float64


def test_shape_attributes():
    t = mt.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3 and len(t) == 2
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.numel() == 24


# ----------------------------------------------------------------------------- arithmetic forward values
def test_arithmetic_values_match_numpy(rng):
    a, b = rng.standard_normal((3, 1, 4)), rng.uniform(0.5, 2, (2, 4))
    A, B = mt.tensor(a), mt.tensor(b)
    for got, want in [(A + B, a + b), (A - B, a - b), (A * B, a * b), (A / B, a / b), (-A, -a),
                      (B ** 2, b ** 2), (B ** B, b ** b), (2.0 ** A, 2.0 ** a), (1 - A, 1 - a),
                      (b + A, b + a), (b * A, b * a), (A @ np.ones((4, 2)), a @ np.ones((4, 2)))]:
        assert isinstance(got, mt.Tensor)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_python_scalars_keep_the_tensor_dtype():
    t = mt.tensor(np.ones(3, dtype=np.float32))
    for result in (t + 1, t * 2.5, 1.5 - t, t / 3, 2 ** t, t ** 2):
        assert result.dtype == np.float32
    assert (t + np.float64(1.0)).dtype == np.float32


def test_int_tensor_times_python_float_promotes():
    t = mt.tensor([1, 2, 3])
    np.testing.assert_array_equal((t * 0.5).numpy(), [0.5, 1.0, 1.5])


# ----------------------------------------------------------------------------- comparisons and argmax
def test_comparisons(rng):
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((3, 4))
    A, B = mt.tensor(a), mt.tensor(b)
    for got, want in [(A > B, a > b), (A >= 0, a >= 0), (A < B, a < b), (A <= 0.1, a <= 0.1),
                      (A == A, np.ones_like(a, bool)), (A != B, a != b), (A > b, a > b),
                      (A == a[0], a == a[0])]:
        assert isinstance(got, mt.Tensor) and got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), want)
    assert (mt.tensor([1, 2, 3]) == 2).numpy().tolist() == [False, True, False]
    assert ((A > 0) == (a > 0)).numpy().all()


def test_argmax_argmin():
    t = mt.tensor(np.array([[1.0, 5.0, 3.0], [7.0, 0.0, 7.0]]))
    assert t.argmax().item() == 3
    np.testing.assert_array_equal(t.argmax(axis=1).numpy(), [1, 0])  # ties: first
    np.testing.assert_array_equal(t.argmax(dim=0).numpy(), [1, 0, 1])
    assert t.argmax(axis=1, keepdims=True).shape == (2, 1)
    np.testing.assert_array_equal(t.argmin(dim=1).numpy(), [0, 1])
    assert t.argmax(1).dtype == np.int64


# ----------------------------------------------------------------------------- factories and seeding
def test_factories(float64):
    assert mt.zeros(2, 3).numpy().tolist() == [[0.0] * 3] * 2
    assert mt.ones((2, 3)).shape == (2, 3) and mt.ones(2, 3).dtype == np.float64
    assert mt.zeros(2, dtype=np.int64).dtype == np.int64
    assert mt.ones(3, requires_grad=True).requires_grad
    r = mt.rand(1000)
    assert r.dtype == np.float64 and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = mt.randn(2000, dtype=np.float32)
    assert n.dtype == np.float32 and abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1) < 0.1


def test_manual_seed_reproducible():
    mt.manual_seed(123)
    a = mt.randn(5).numpy()
    w = mt.nn.Linear(3, 2).weight.numpy().copy()
    mt.manual_seed(123)
    np.testing.assert_array_equal(mt.randn(5).numpy(), a)
    np.testing.assert_array_equal(mt.nn.Linear(3, 2).weight.numpy(), w)
    assert not np.array_equal(mt.randn(5).numpy(), a)


# ----------------------------------------------------------------------------- package layout
def test_import_exposes_subpackages_and_api():
    import minitorch

    for sub in ("nn", "optim", "data"):
        assert hasattr(minitorch, sub)
    assert minitorch.nn.functional.cross_entropy and minitorch.nn.init.kaiming_uniform_
    assert minitorch.optim.SGD and minitorch.optim.lr_scheduler.StepLR
    for name in minitorch.__all__:
        assert hasattr(minitorch, name), name
    for name in ("Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Sequential",
                 "CrossEntropyLoss", "MSELoss", "Module", "Parameter"):
        assert hasattr(minitorch.nn, name), name
    assert minitorch.float32 is np.float32 and minitorch.float64 is np.float64 and minitorch.int64 is np.int64


def test_repr():
    assert repr(mt.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(mt.tensor(np.array([1.0])))
    assert "requires_grad=True" in repr(mt.tensor([1.0], requires_grad=True))
