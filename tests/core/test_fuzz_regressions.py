"""Differences from PyTorch that the differential fuzzer (tests/fuzz) found, each fixed and pinned here.

Expected values follow from PyTorch's documented rules (noted per test), so these run without torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt


def test_module_level_comparisons_and_amax_amin():
    x, y = mt.tensor([1.0, 2.0, 3.0]), mt.tensor([2.0, 2.0, 2.0])
    for name, expected in (("eq", [0, 1, 0]), ("ne", [1, 0, 1]), ("lt", [1, 0, 0]), ("le", [1, 1, 0]),
                           ("gt", [0, 0, 1]), ("ge", [0, 1, 1])):
        out = getattr(mt, name)(x, y)
        assert out.dtype == np.bool_ and out.numpy().tolist() == [bool(v) for v in expected], name
    assert mt.gt(x, 2).numpy().tolist() == [False, False, True]
    m = mt.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert mt.amax(m, 1).numpy().tolist() == [5.0, 7.0] and mt.amin(m, (0, 1)).item() == 1.0


def test_python_ints_out_of_an_integer_dtypes_range_wrap_as_in_pytorch():
    """PyTorch casts a Python number to the computation dtype, wrapping around (NumPy 2 raises)."""
    u = mt.tensor(np.array([1, 200], dtype=np.uint8))
    assert (u - (-3)).numpy().tolist() == [4, 203] and (u - (-3)).dtype == np.uint8
    assert (u < -1).numpy().tolist() == [True, True]  # -1 is 255 in uint8
    assert (u * -1).numpy().tolist() == [255, 56]
    assert mt.tensor([-2, 1], dtype=mt.uint8).numpy().tolist() == [254, 1]
    assert mt.full((2,), -1, dtype=mt.uint8).numpy().tolist() == [255, 255]
    assert mt.full_like(u, -1).numpy().tolist() == [255, 255]
    assert u.new_full((1,), -2).numpy().tolist() == [254]
    assert u.clamp(-1, 100).numpy().tolist() == [100, 100]  # min -1 wraps to 255 > max: max wins
    # ... but only when the op computes in uint8: a float bound makes it compute in float, where -1 stays -1
    assert mt.tensor(np.array([1, 0], dtype=np.uint8)).clamp(-1, 0.5).numpy().tolist() == [0.5, 0.0]


def test_true_division_of_an_integer_tensor_by_a_number_computes_in_float():
    assert mt.tensor(np.array(4, dtype=np.uint8)).div(-3).item() == pytest.approx(-4 / 3)
    assert (mt.tensor(np.array([4], dtype=np.int8)) / 8).numpy().tolist() == [0.5]


def test_add_with_alpha_scales_in_the_result_dtype():
    a, b = mt.tensor([1, 2]), mt.tensor(np.array([3, 4], dtype=np.uint8))
    out = mt.sub(a, b, alpha=-1)  # int64 result: 1 + 3, not a uint8 wrap of -3
    assert out.dtype == np.int64 and out.numpy().tolist() == [4, 6]


def test_integer_arange_and_linspace_truncate_their_ends_first():
    assert mt.arange(0.5, 3.7, 1, dtype=mt.int64).numpy().tolist() == [0, 1, 2]
    assert mt.arange(-0.228, -2.764, -2, dtype=mt.int64).numpy().tolist() == [0]
    # other integer dtypes count the values from the arguments as given (PyTorch's kernel), int64 from truncated ones
    assert mt.arange(-0.461, -0.943, -1, dtype=mt.int32).numpy().tolist() == [0]
    assert mt.arange(-0.461, -0.943, -1, dtype=mt.int64).numpy().tolist() == []
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        mt.arange(0, 3, 0.5, dtype=mt.int64)
    assert mt.linspace(-2, 0.056, 3, dtype=mt.int64).numpy().tolist() == [-2, -1, 0]
    assert mt.linspace(0.9, -3, 5, dtype=mt.uint8).numpy().tolist() == [0, 63, 126, 189, 253]


def test_sum_keeps_an_integer_dtype_it_was_asked_for():
    assert mt.tensor([True, True]).sum(dtype=mt.int32).dtype == np.int32
    assert mt.tensor(np.array([1, 2], dtype=np.int16)).sum(dtype=mt.int16).dtype == np.int16
    assert mt.tensor([True]).sum().dtype == np.int64


def test_square_of_bools_and_pow_of_bools():
    assert mt.tensor([True, False]).square().dtype == np.int64
    out = mt.tensor(np.array(False)) ** False
    assert out.dtype == np.bool_ and out.item() is True


def test_take_along_dim_broadcasts_outside_dim(float64, rng):
    x = mt.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    i = mt.tensor([[0, 2]])
    out = mt.take_along_dim(x, i, 1)
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out.detach().numpy(), x.detach().numpy()[:, [0, 2]])
    assert mt.gradcheck(lambda t: mt.take_along_dim(t, i, 1), [x])
    flat = mt.take_along_dim(x, mt.tensor([5, 0]))
    assert flat.detach().numpy().tolist() == x.detach().numpy().reshape(-1)[[5, 0]].tolist()


def test_masked_fill_broadcasts_and_casts_its_value(float64, rng):
    x = mt.tensor(rng.standard_normal((3,)), requires_grad=True)
    mask = mt.tensor([[True, False, False], [False, False, True]])
    out = x.masked_fill(mask, 0.0)
    assert out.shape == (2, 3)
    assert mt.gradcheck(lambda t: t.masked_fill(mask, 0.5), [x])
    assert mt.tensor([1, 2]).masked_fill(mt.tensor([True, False]), -0.7).numpy().tolist() == [0, 2]


def test_softmax_of_a_0d_tensor_has_a_gradient(float64):
    x = mt.tensor(0.3, requires_grad=True)
    assert mt.softmax(x, 0).item() == 1.0 and mt.log_softmax(x, -1).item() == 0.0
    assert mt.gradcheck(lambda t: mt.log_softmax(t, 0) * t, [x])


def test_median_of_nothing_is_nan():
    assert np.isnan(mt.zeros(1, 3, 0).median().item())


def test_relu_of_float16():
    x = mt.tensor(np.array([-1.0, 0.5, np.nan], dtype=np.float16), requires_grad=True)
    y = x.relu()
    assert y.dtype == np.float16 and y.detach().numpy()[:2].tolist() == [0.0, 0.5] and np.isnan(y.numpy()[2])
    y.backward(mt.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float16)))
    assert x.grad.numpy()[:2].tolist() == [0.0, 2.0]
    z = mt.tensor(np.array([-1.0, 2.0], dtype=np.float16))
    z.relu_()
    assert z.numpy().tolist() == [0.0, 2.0]


def test_a_0d_tensor_formats_as_its_number():
    loss = mt.tensor(1.23456)
    assert f"{loss:.3f}" == "1.235" and f"{mt.tensor(3):4d}" == "   3" and format(mt.ones(2), "") == str(mt.ones(2))
    with pytest.raises(TypeError):
        format(mt.ones(2), ".2f")


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss"])
def test_elementwise_losses_broadcast_a_target_with_pytorchs_warning(name, float64, rng):
    F = mt.nn.functional
    x = mt.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    target = mt.tensor(rng.standard_normal((2,)), requires_grad=True)
    with pytest.warns(UserWarning, match="different to the input size"):
        out = getattr(F, name)(x, target, reduction="none")
    expected = getattr(F, name)(x, target.expand(3, 2).detach(), reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    with pytest.warns(UserWarning):
        assert mt.gradcheck(lambda a, b: getattr(F, name)(a, b, reduction="sum"), [x, target])


def test_sgd_maximize_ascends():
    for momentum, decay in ((0.0, 0.0), (0.9, 0.1)):
        p = mt.tensor([1.0, -2.0], requires_grad=True)
        q = mt.tensor([1.0, -2.0], requires_grad=True)
        up, down = mt.optim.SGD([p], lr=0.1, momentum=momentum, weight_decay=decay, maximize=True), \
            mt.optim.SGD([q], lr=0.1, momentum=momentum, weight_decay=decay)
        for _ in range(3):
            for t, opt, sign in ((p, up, 1.0), (q, down, -1.0)):
                opt.zero_grad()
                (sign * (t ** 2).sum()).backward()  # maximising f is minimising -f
                opt.step()
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6)


def test_add_with_alpha_on_bools_is_logical():
    a = mt.tensor([False, True, False])
    out = mt.add(a, True, alpha=-1)  # PyTorch: alpha * True is True in bool arithmetic
    assert out.dtype == np.bool_ and out.numpy().tolist() == [True, True, True]
    assert mt.add(a, True, alpha=0).numpy().tolist() == [False, True, False]


def test_floor_division_of_floats_follows_python():
    x = mt.tensor(np.array([np.inf, -np.inf, np.nan, 7.0, -7.0, 0.3, 5.0]))  # float64, as Python floats
    out = x.div(mt.tensor(np.array([-2.0, 2.0, 2.0, 2.0, 2.0, 0.1, 0.0])), rounding_mode="floor").numpy()
    expected = [np.inf // -2.0, -np.inf // 2.0, np.nan, 7.0 // 2.0, -7.0 // 2.0, 0.3 // 0.1, np.inf]
    np.testing.assert_array_equal(out, np.array(expected))
