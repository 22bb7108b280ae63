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


def test_numpy_scalars_keep_their_dtype_as_in_pytorch():
    """``tensor(arr.mean())`` is float64 in PyTorch: a NumPy scalar counts as its own dtype, alone or in a list,
    joined with Python numbers (which stand for the default float or int64) by the promotion rule."""
    assert mt.tensor(np.float64(0.1)).dtype == np.float64 and mt.tensor(np.float64(0.1)).item() == 0.1
    assert mt.tensor(np.array([1.0, 2.0]).mean()).dtype == np.float64
    assert mt.tensor(np.float16(1)).dtype == np.float16 and mt.tensor(np.int32(3)).dtype == np.int32
    assert mt.tensor(np.float64(0.1), dtype=mt.float32).dtype == np.float32  # an explicit dtype still decides
    cases = [  # (data, PyTorch's dtype)
        ([np.float64(0.1), np.float64(0.2)], np.float64),
        ([np.float64(0.1), 0.2], np.float64),
        ([[1], [np.float64(2)]], np.float64),
        ((np.float64(1), np.int64(2)), np.float64),
        ([np.float32(0.1), 0.2], np.float32),
        ([np.float32(0.1), np.float64(0.2)], np.float64),
        ([np.float16(1), 2], np.float16),
        ([np.float16(1), 2.0], np.float32),
        ([np.array([1.0, 2.0]), np.array([3.0, 4.0])], np.float64),
        ([mt.tensor(1.0, dtype=mt.float64), mt.tensor(2.0, dtype=mt.float64)], np.float64),
        ([np.int64(1), 2.5], np.float32),
        ([np.int32(3), 4], np.int64),
        ([np.int32(3)], np.int32),
    ]
    for data, dtype in cases:
        assert mt.tensor(data).dtype == dtype, data
    assert mt.tensor([np.float64(0.1), 0.2]).tolist() == [0.1, 0.2]  # not rounded through float32


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


def test_a_numpy_float_exponent_is_a_python_number():
    """``x ** np.float64(2)`` is float32 for a float32 x, as in PyTorch (NumPy would compute it in float64)."""
    x = mt.ones(3, requires_grad=True)
    y = x ** np.float64(2.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    assert (mt.tensor([1, 2]) ** np.float64(2.0)).dtype == np.float32


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


# ----------------------------------------------------------------------------- & | ^ ~ // % (values from PyTorch 2.13)
def check(got, values, dtype):
    """``got`` is a tensor of ``dtype`` holding ``values`` (NaN equal to NaN, the sign of a zero compared)."""
    assert isinstance(got, mt.Tensor) and got.dtype == dtype, (got, dtype)
    want = np.asarray(values, dtype=dtype)
    np.testing.assert_array_equal(got.numpy(), want)
    if want.dtype.kind == "f":
        zeros = want == 0
        np.testing.assert_array_equal(np.signbit(got.numpy()[zeros]), np.signbit(want[zeros]))


def test_bitwise_operators_on_bool_and_integer_tensors():
    b, c = mt.tensor([True, False, True]), mt.tensor([True, True, False])
    i = mt.tensor([7, -7, 5, 0])
    u = mt.tensor([7, 200, 5, 0], dtype=mt.uint8)
    i32 = mt.tensor([6, 3], dtype=mt.int32)
    for got, values, dtype in [
        (b & c, [True, False, False], np.bool_), (b | c, [True, True, True], np.bool_),
        (b ^ c, [False, True, True], np.bool_), (~b, [False, True, False], np.bool_),
        (b & True, [True, False, True], np.bool_), (True & b, [True, False, True], np.bool_),
        (b & 1, [1, 0, 1], np.int64), (1 & b, [1, 0, 1], np.int64), (2 ^ b, [3, 2, 3], np.int64),
        (i & 3, [3, 1, 1, 0], np.int64), (8 | i, [15, -7, 13, 8], np.int64), (i ^ 5, [2, -4, 0, 5], np.int64),
        (~i, [-8, 6, -6, -1], np.int64), (mt.tensor(True) & i, [1, 1, 1, 0], np.int64),
        (~u, [248, 55, 250, 255], np.uint8), (u & -1, [7, 200, 5, 0], np.uint8),  # numbers wrap to uint8
        (u & 300, [4, 8, 4, 0], np.uint8),
        (i32 & True, [0, 1], np.int32), (i32 & mt.tensor(3), [2, 3], np.int32),  # a 0-d int64 joins int32
        (mt.bitwise_and(3, i), [3, 1, 1, 0], np.int64), (mt.bitwise_or(True, b), [True, True, True], np.bool_),
        (mt.bitwise_xor(b, True), [False, True, False], np.bool_), (mt.bitwise_not(i), [-8, 6, -6, -1], np.int64),
        (i.bitwise_and(i32[:1]), [6, 0, 4, 0], np.int64),
    ]:
        check(got, values, dtype)
    f = mt.tensor([1.0, 2.0])
    for op in (lambda: f & 1, lambda: b & 1.0, lambda: ~f, lambda: mt.bitwise_not(f)):
        with pytest.raises(TypeError, match=r"bitwise_(and|not): only bool and integer tensors have bits to "
                                            r"combine, got dtype float32"):
            op()
    for op, message in [(lambda: i & None, "bitwise_and: expected a Tensor or a number as the other operand, "
                                           "got NoneType"),
                        (lambda: None | i, "bitwise_or: expected a Tensor or a number as the other operand, got "
                                           "NoneType"),
                        (lambda: i % "2", "remainder: expected a Tensor or a number as the other operand, got str"),
                        (lambda: None // i, "floor_divide: expected a Tensor or a number as the other operand, got "
                                            "NoneType")]:
        with pytest.raises(TypeError, match=message):
            op()


def test_logical_functions_take_any_dtype_and_give_bools_without_a_graph():
    f = mt.tensor([7.0, -7.0, 5.5, -0.0], requires_grad=True)
    i = mt.tensor([7, -7, 5, 0])
    check(mt.logical_and(f, i), [True, True, True, False], np.bool_)
    check(mt.logical_or(f[:3], mt.tensor([True, False, True])), [True, True, True], np.bool_)
    check(mt.logical_xor(mt.tensor([0, 2]), mt.tensor([0.0, 0.0])), [False, True], np.bool_)
    check(mt.logical_not(f), [False, False, False, True], np.bool_)
    check(i.logical_not(), [False, False, False, True], np.bool_)
    assert not mt.logical_and(f, f).requires_grad and not ((f > 0) & (f < 6)).requires_grad
    with pytest.raises(TypeError, match="logical_and: other must be a Tensor, got int"):
        mt.logical_and(f, 1)


def test_in_place_bitwise_operators_write_into_the_tensor():
    m = mt.tensor([True, False, True])
    same = m
    m &= mt.tensor([True, True, False])
    m |= mt.tensor([False, True, False])
    m ^= True
    assert m is same and m.tolist() == [False, False, True]
    with pytest.raises(TypeError, match="bitwise_and_: the result has dtype int64, which cannot be written into a "
                                        "bool tensor"):
        m &= 1


def test_floor_division_and_remainders_follow_python_and_pytorch():
    i = mt.tensor([7, -7, 5, 0])
    f = mt.tensor([7.0, -7.0, 5.5, -0.0])
    u = mt.tensor([7, 200, 5, 0], dtype=mt.uint8)
    i32 = mt.tensor([6, 3], dtype=mt.int32)
    inf, nan = np.inf, np.nan
    for got, values, dtype in [
        (i // 2, [3, -4, 2, 0], np.int64), (i // -2, [-4, 3, -3, 0], np.int64), (-7 // i[:3], [-1, 1, -2], np.int64),
        (i % 3, [1, 2, 2, 0], np.int64), (i % -3, [-2, -1, -1, 0], np.int64), (20 % i[:3], [6, -1, 0], np.int64),
        (i // 2.0, [3, -4, 2, 0], np.float32), (i % 2.5, [2, 0.5, 0, 0], np.float32),
        (f // 2, [3, -4, 2, -0.0], np.float32), (f % 2, [1, 1, 1.5, -0.0], np.float32),
        (f % -2, [-1, -1, -0.5, -0.0], np.float32), (5.0 % f, [5, -2, 5, nan], np.float32),
        (5 // f, [0, -1, 0, -inf], np.float32), (f // 0, [inf, -inf, inf, nan], np.float32),
        (f % 0, [nan, nan, nan, nan], np.float32), (mt.tensor([4.0]) % -2, [0.0], np.float32),
        (mt.tensor([inf, -inf, 1.0]) % 2, [nan, nan, 1], np.float32),
        (mt.tensor([-5.0, 5.0]) % inf, [inf, 5], np.float32), (mt.tensor([-5.0, 5.0]) // inf, [-1, 0], np.float32),
        (u // 3, [2, 66, 1, 0], np.uint8), (u % 3, [1, 2, 2, 0], np.uint8),
        (i32 % 2, [0, 1], np.int32), (i32 // 2.5, [2, 1], np.float32),
        (mt.tensor(5) // mt.tensor([2.0, 3.0]), [2, 1], np.float32),
        (mt.remainder(i, mt.tensor(3)), [1, 2, 2, 0], np.int64), (mt.remainder(5, i[:3]), [5, -2, 0], np.int64),
        (mt.floor_divide(7, i[:3]), [1, -1, 1], np.int64), (mt.floor_divide(i, 2), [3, -4, 2, 0], np.int64),
        (mt.fmod(i, 3), [1, -1, 2, 0], np.int64), (mt.fmod(f, -2), [1, -1, 1.5, -0.0], np.float32),
        (mt.fmod(i, 2.5), [2, -2, 0, 0], np.float32), (mt.fmod(mt.tensor([-4.0, 4.0]), 2), [-0.0, 0.0], np.float32),
        (i.fmod(mt.tensor([3, -3, 2, 1])), [1, -1, 1, 0], np.int64),
    ]:
        check(got, values, dtype)
    for op, name in [(lambda: i // 0, "floor_divide"), (lambda: i % 0, "remainder"), (lambda: mt.fmod(i, 0), "fmod")]:
        with pytest.raises(ZeroDivisionError, match=f"{name}: integer division by zero"):
            op()
    b = mt.tensor([True, False])
    for op, name in [(lambda: b // b, "floor_divide"), (lambda: b % b, "remainder"), (lambda: True // b,
                                                                                      "floor_divide")]:
        with pytest.raises(TypeError, match=f"{name}: not defined for bool tensors"):
            op()
    with pytest.raises(TypeError, match="fmod: input must be a Tensor, got int"):
        mt.fmod(5, i)
    j = i.clone()
    same = j
    j //= 2
    assert j is same and j.tolist() == [3, -4, 2, 0]
    j %= 3
    assert j.tolist() == [0, 2, 2, 0]
    with pytest.raises(TypeError, match="floor_divide_: the result has dtype float32, which cannot be written"):
        j //= 2.5


def test_gradients_of_floor_division_and_remainders_are_pytorchs():
    """remainder and fmod have PyTorch's gradients (1 for the dividend, minus the rounded quotient for the
    divisor); floor_divide, and a number's remainder by a tensor, have none in PyTorch: the result requires grad
    and backward through it raises."""
    x = mt.tensor([7.0, -7.0, 5.5, 3.0], requires_grad=True)
    y = mt.tensor([2.0, 3.0, -2.0, 1.5], requires_grad=True)
    g = mt.tensor([1.0, 2.0, 3.0, 4.0])
    for fn, x_grad, y_grad in [(lambda: x % y, [1, 2, 3, 4], [-3, 6, 9, -8]),
                               (lambda: mt.remainder(x, y), [1, 2, 3, 4], [-3, 6, 9, -8]),
                               (lambda: mt.fmod(x, y), [1, 2, 3, 4], [-3, 4, 6, -8]),
                               (lambda: x % 2, [1, 2, 3, 4], None), (lambda: x.fmod(2.0), [1, 2, 3, 4], None),
                               (lambda: mt.tensor(5.0) % x, [-0.0, 2, -0.0, -4], None)]:
        x.grad = y.grad = None
        fn().backward(g)
        assert x.grad.tolist() == x_grad and (y.grad is None if y_grad is None else y.grad.tolist() == y_grad)
    for fn, what in [(lambda: x // 2, "floor_divide"), (lambda: 5 // x, "floor_divide"),
                     (lambda: mt.floor_divide(x, y), "floor_divide"),
                     (lambda: 5 % x, "remainder of a number by a tensor"),
                     (lambda: mt.remainder(5, x), "remainder of a number by a tensor")]:
        out = fn()
        assert out.requires_grad
        with pytest.raises(RuntimeError, match=f"backward through {what}.*: it has no derivative"):
            out.backward(g)
    x.grad = None
    x.div(2, rounding_mode="floor").backward(g)  # the rounded division's gradient is zero, as in PyTorch
    assert x.grad.tolist() == [0, 0, 0, 0]


# ----------------------------------------------------------------------------- max(dim) as in PyTorch
def test_max_and_min_of_two_tensors_are_elementwise_with_pytorchs_gradients():
    """``torch.max(a, b)`` is ``torch.maximum(a, b)``; a tie splits the gradient equally (PyTorch 2.13's values)."""
    for fn, values, a_grad, b_grad in [(lambda a, b: mt.max(a, b), [4, 5, 3, 2], [0, 1, 3, 2], [1, 1, 0, 2]),
                                       (lambda a, b: a.max(b), [4, 5, 3, 2], [0, 1, 3, 2], [1, 1, 0, 2]),
                                       (lambda a, b: mt.min(a, b), [1, 5, 1, 2], [1, 1, 0, 2], [0, 1, 3, 2]),
                                       (lambda a, b: a.min(b), [1, 5, 1, 2], [1, 1, 0, 2], [0, 1, 3, 2])]:
        a = mt.tensor([1.0, 5.0, 3.0, 2.0], requires_grad=True)
        b = mt.tensor([4.0, 5.0, 1.0, 2.0], requires_grad=True)
        out = fn(a, b)
        out.backward(mt.tensor([1.0, 2.0, 3.0, 4.0]))
        assert out.tolist() == values and a.grad.tolist() == a_grad and b.grad.tolist() == b_grad
    assert mt.max(mt.tensor([1, 5]), mt.tensor(2.0)).tolist() == [2.0, 5.0]  # promoted, broadcast
    assert mt.max(mt.tensor([1, 5]), mt.tensor(2.0)).dtype == np.float32
    with pytest.raises(TypeError, match="max: keepdim goes with an int dim, not with a second tensor"):
        mt.max(a, b, keepdim=True)
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
