"""Tensor API basics: construction and dtype rules, conversion, comparisons, factories, package layout."""
from __future__ import annotations

import re

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
    assert t.argmax(1, keepdim=True).shape == (2, 1) and t.argmax(dim=1, keepdim=True).tolist() == [[1], [0]]
    np.testing.assert_array_equal(t.argmin(dim=1).numpy(), [0, 1])
    assert t.argmax(1).dtype == np.int64
    assert mt.argmax(t, 1).tolist() == [1, 0] and mt.argmax(t).item() == 3


# ----------------------------------------------------------------------------- max(dim) as in PyTorch
def test_max_with_dim_returns_values_and_indices_even_for_a_batch_of_two():
    """The tutorial's `_, predicted = torch.max(outputs.data, 1)`: at batch size 2 the old values-only max
    unpacked into the two rows' maxima without a word."""
    outputs = mt.tensor(np.array([[0.1, 2.0, -1.0], [3.0, 0.5, 0.2]]), requires_grad=True) * 1.0
    _, predicted = mt.max(outputs.data, 1)
    assert predicted.tolist() == [1, 0] and predicted.dtype == np.int64
    labels = mt.tensor([1, 2])
    assert (predicted == labels).sum().item() == 1
    values, indices = outputs.max(dim=1, keepdim=True)
    assert values.shape == indices.shape == (2, 1) and values.tolist() == [[2.0], [3.0]]
    result = mt.max(outputs, dim=0)
    assert result.values.tolist() == [3.0, 2.0, 0.2] and result.indices.tolist() == [1, 0, 1]
    assert isinstance(result, mt.return_types.max) and isinstance(outputs.min(1), mt.return_types.min)
    assert outputs.max().item() == 3.0 and mt.max(outputs).item() == 3.0  # no dim: the value only
    assert outputs.min(1).indices.tolist() == [2, 2]


# ----------------------------------------------------------------------------- .data and .grad are Tensors
def test_data_is_a_tensor_sharing_memory_and_recording_nothing():
    p = mt.nn.Parameter(mt.tensor(np.array([1.0, 2.0])))
    d = p.data
    assert isinstance(d, mt.Tensor) and not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.mul_(3)
    assert p.tolist() == [3.0, 6.0]
    p.data[0] = -1.0  # the old idiom still writes into the parameter
    assert p.tolist() == [-1.0, 6.0]
    assert not (p.data * 2).requires_grad
    p.data = mt.tensor(np.array([7.0, 8.0]))
    assert p.tolist() == [7.0, 8.0] and p.requires_grad
    with pytest.raises(TypeError, match="Tensor.data: assigned value must be a Tensor, got ndarray"):
        p.data = np.zeros(2)


def test_grad_is_a_tensor_with_the_tensor_methods():
    x = mt.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (x * x).sum().backward()
    g = x.grad
    assert isinstance(g, mt.Tensor) and not g.requires_grad and g.shape == x.shape and g.dtype == x.dtype
    assert g.norm().item() == 10.0
    c = g.clone()
    g.zero_()
    assert x.grad is g and g.tolist() == [0.0, 0.0] and c.tolist() == [6.0, 8.0]
    (x * x).sum().backward()  # accumulates into the same Tensor
    assert x.grad is g and g.tolist() == [6.0, 8.0]
    x.grad = mt.tensor(np.array([1.0, 1.0]))
    with pytest.raises(TypeError, match="Tensor.grad: assigned grad must be a Tensor or None, got ndarray"):
        x.grad = np.zeros(2)
    with pytest.raises(ValueError, match=r"Tensor.grad: assigned grad has shape \(3,\), the tensor \(2,\)"):
        x.grad = mt.zeros(3, dtype=np.float64)
    with pytest.raises(TypeError, match="Tensor.grad: assigned grad is float32 on cpu, the tensor float64 on cpu"):
        x.grad = mt.zeros(2)
    assert x.grad.tolist() == [1.0, 1.0]


def test_a_gradient_has_its_row_major_tensors_layout():
    # x @ w.T hands w a transposed gradient; PyTorch gives .grad its parameter's layout, so .grad.view works
    w = mt.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x = mt.ones(4, 3, dtype=np.float64)
    (x @ w.T).sum().backward()
    assert w.grad.is_contiguous() and w.grad.view(-1).tolist() == [4.0] * 6
    (x @ w.T).sum().backward()  # accumulated: still row-major
    assert w.grad.is_contiguous() and w.grad.view(6).tolist() == [8.0] * 6


# ----------------------------------------------------------------------------- methods
def test_small_methods(rng):
    a = rng.standard_normal((2, 1, 3))
    t = mt.tensor(a)
    assert t.unsqueeze(0).shape == (1, 2, 1, 3) and t.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert t.squeeze().shape == (2, 3) and t.squeeze(1).shape == (2, 3) and t.squeeze(0).shape == (2, 1, 3)
    assert t.numel() == 6 and mt.numel(t) == 6
    assert t.long().dtype == np.int64 and t.float().dtype == np.float32 and t.double() is t
    assert t.eq(t).numpy().all() and not t.ne(t).numpy().any()
    assert mt.tensor([1, 2, 3]).eq(2).tolist() == [False, True, False]
    np.testing.assert_allclose(t.norm().item(), np.linalg.norm(a.reshape(-1)), rtol=1e-12)
    c = t.clone()
    c.add_(1)
    assert np.array_equal(t.numpy(), a) and np.array_equal(c.numpy(), a + 1)
    assert t.to(mt.tensor([1], dtype=np.int32)).dtype == np.int32
    assert t.to("cpu", np.float32).dtype == np.float32 and t.to(dtype=np.float32, device="cpu").dtype == np.float32


def test_in_place_methods_change_the_tensor_and_return_it():
    t = mt.tensor(np.array([1.0, 2.0, 3.0]))
    assert t.add_(1) is t and t.tolist() == [2.0, 3.0, 4.0]
    assert t.add_(mt.tensor(np.array([1.0, 1.0, 1.0])), alpha=-2).tolist() == [0.0, 1.0, 2.0]
    assert t.mul_(mt.tensor(np.array(2.0))).tolist() == [0.0, 2.0, 4.0]
    assert t.sub_(1).div_(2).tolist() == [-0.5, 0.5, 1.5]
    view = t[1:]
    view.zero_()  # a view writes into the base, as in PyTorch
    assert t.tolist() == [-0.5, 0.0, 0.0]
    t += 1
    t *= 2
    assert t.tolist() == [1.0, 2.0, 2.0]
    t[0] = 9
    assert t.tolist() == [9.0, 2.0, 2.0] and t.fill_(4).tolist() == [4.0] * 3
    i = mt.tensor([1, 2])
    message = "add_: the result has dtype float(32|64), which cannot be written into a int64 tensor"
    with pytest.raises(TypeError, match=message):
        i.add_(0.5)
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 3\), which does not fit this tensor's "
                                         r"shape \(3,\)"):
        t.add_(mt.ones(2, 3, dtype=np.float64))
    assert t.tolist() == [4.0] * 3 and i.tolist() == [1, 2]


def test_view_shares_memory_and_refuses_a_layout_that_would_need_a_copy():
    x = mt.arange(6.0).reshape(2, 3)
    v = x.view(3, 2)
    v[0, 0] = 100.0  # a view writes into the base
    assert x[0, 0].item() == 100.0 and x.view(-1).shape == (6,) and x.view_as(mt.zeros(6)).shape == (6,)
    assert x.T.view(3, 1, 2).shape == (3, 1, 2) and x[:, 1:].view(2, 2, 1).shape == (2, 2, 1)  # runs kept whole
    assert x.is_contiguous() and not x.T.is_contiguous()
    message = ("view: view size (6,) is not compatible with input tensor's size (3, 2) and stride (1, 3) (at "
               "least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    with pytest.raises(RuntimeError, match=re.escape(message)):
        x.T.view(6)  # a copy would lose every write made through it
    with pytest.raises(RuntimeError, match="view size"):
        x[:, 1:].view(4)
    with pytest.raises(RuntimeError, match="view size"):
        x.T.view_as(mt.zeros(6))
    assert x.T.reshape(6).tolist() == [100.0, 3.0, 1.0, 4.0, 2.0, 5.0]  # reshape copies when it must
    c = x.T.contiguous()
    assert c.is_contiguous() and c.view(6).tolist() == [100.0, 3.0, 1.0, 4.0, 2.0, 5.0] and x.contiguous() is x
    w = mt.arange(6.0, requires_grad=True)  # contiguous() passes the gradient back
    (w.reshape(2, 3).T.contiguous().view(6) * mt.arange(6.0)).sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]


# ----------------------------------------------------------------------------- module-level functions
def test_module_level_functions(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    A, B = mt.tensor(a), mt.tensor(b)
    np.testing.assert_array_equal(mt.cat([A, B]).numpy(), np.concatenate([a, b]))
    np.testing.assert_array_equal(mt.cat((A, B), dim=1).numpy(), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(mt.stack([A, B], 1).numpy(), np.stack([a, b], 1))
    assert mt.flatten(mt.zeros(2, 3, 4), 1).shape == (2, 12)
    np.testing.assert_allclose(mt.sum(A).item(), a.sum(), rtol=1e-12)
    np.testing.assert_allclose(mt.sum(A, 1).numpy(), a.sum(1), rtol=1e-12)
    np.testing.assert_allclose(mt.mean(A, dim=0, keepdim=True).numpy(), a.mean(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(mt.exp(A).numpy(), np.exp(a), rtol=1e-12)
    np.testing.assert_allclose(mt.log(mt.exp(A)).numpy(), a, rtol=1e-12, atol=1e-15)
    assert mt.allclose(A, A + 1e-9) is True and mt.allclose(A, A + 1e-3) is False
    assert mt.allclose(A, a) and mt.is_tensor(A) and not mt.is_tensor(a)


def test_factories_arange_randint_like_and_from_numpy(float64):
    assert mt.arange(5).tolist() == [0, 1, 2, 3, 4] and mt.arange(5).dtype == np.int64
    assert mt.arange(2, 8, 3).tolist() == [2, 5]
    assert mt.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75] and mt.arange(0, 1, 0.5).dtype == np.float64
    assert mt.arange(3, dtype=np.float32).dtype == np.float32
    mt.manual_seed(0)
    r = mt.randint(3, 7, (1000,))
    assert r.dtype == np.int64 and r.shape == (1000,) and set(r.tolist()) == {3, 4, 5, 6}
    assert mt.randint(10, (2, 3)).shape == (2, 3) and mt.randint(0, 2, size=(4,)).numpy().max() <= 1
    t = mt.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    z, o = mt.zeros_like(t), mt.ones_like(t, dtype=np.float64)
    assert z.shape == (2, 3) and z.dtype == np.float32 and z.numpy().sum() == 0
    assert o.dtype == np.float64 and o.numpy().sum() == 6 and mt.zeros_like(t, requires_grad=True).requires_grad
    arr = np.arange(3.0)
    shared = mt.from_numpy(arr)
    arr[0] = 5.0
    assert shared.tolist() == [5.0, 1.0, 2.0] and shared.dtype == np.float64
    shared.add_(1)
    assert arr.tolist() == [6.0, 2.0, 3.0]


def test_device_and_cuda_availability():
    t = mt.zeros(2)
    assert t.device == "cpu" and t.device == mt.device("cpu") and str(t.device) == "cpu"
    assert repr(mt.device("cuda", 0)) == "device(type='cuda', index=0)" and str(mt.device("cuda:1")) == "cuda:1"
    assert mt.device("cuda:0") != mt.device("cuda") and mt.device("cpu") != "cuda" and not t.is_cuda
    assert isinstance(mt.cuda.is_available(), bool)
    device = mt.device("cuda:0" if mt.cuda.is_available() else "cpu")  # the tutorial's line
    moved = t.to(device)
    assert moved.device.type == device.type
    net = mt.nn.Linear(2, 2).to(mt.device("cpu"))
    assert net.weight.device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mt.device("tpu")


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
    for name in ("cat", "stack", "arange", "flatten", "argmax", "sum", "mean", "exp", "log", "allclose", "randint",
                 "zeros_like", "ones_like", "from_numpy", "max", "device", "set_grad_enabled", "inference_mode"):
        assert callable(getattr(minitorch, name)), name
    assert callable(minitorch.cuda.is_available)
    for name in ("Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Sequential",
                 "CrossEntropyLoss", "MSELoss", "Module", "Parameter"):
        assert hasattr(minitorch.nn, name), name
    assert minitorch.float32 is np.float32 and minitorch.float64 is np.float64 and minitorch.int64 is np.int64


def test_repr():
    assert repr(mt.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(mt.tensor(np.array([1.0])))
    assert "requires_grad=True" in repr(mt.tensor([1.0], requires_grad=True))
