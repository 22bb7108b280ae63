"""Finite-difference gradient checks (float64, random upstream gradient) for every tensor op.

``minitorch.gradcheck`` perturbs every element of every input that requires grad and compares
sum(fn(x) * u) central differences with the analytic gradient for a random upstream ``u``.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F

pytestmark = pytest.mark.usefixtures("single_thread_blas")


def leaf(array) -> mt.Tensor:
    return mt.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def normal(rng, shape):
    return leaf(rng.standard_normal(shape))


def away_from_zero(rng, shape, low=0.5, high=2.0):
    return leaf(rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape))


def positive(rng, shape, low=0.5, high=2.0):
    return leaf(rng.uniform(low, high, shape))


def distinct(rng, shape):
    """No ties (spacing 0.05 >> eps), so max has a unique maximum everywhere."""
    n = int(np.prod(shape))
    return leaf(((rng.permutation(n) - n / 2) * 0.05).reshape(shape))


# ----------------------------------------------------------------------------- arithmetic
BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1, 4), (2, 4)),
    ((4,), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1), (1, 3)),
    ((), (3, 4)),
    ((3, 4), ()),
    ((2, 3, 1), (1, 1, 4)),
]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda s: f"{s[0]}-{s[1]}")
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_broadcasting(op, shapes, rng):
    a = normal(rng, shapes[0])
    b = away_from_zero(rng, shapes[1]) if op == "div" else normal(rng, shapes[1])
    out = BINARY[op](a, b)
    assert out.shape == np.broadcast_shapes(*shapes)
    assert mt.gradcheck(BINARY[op], [a, b])


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_only_one_side_requires_grad(op, rng):
    a = normal(rng, (3, 4))
    b = mt.tensor(rng.uniform(0.5, 2.0, (4,)))  # constant
    assert mt.gradcheck(BINARY[op], [a, b])
    assert b.grad is None
    c = mt.tensor(rng.uniform(0.5, 2.0, (3, 1)))
    d = away_from_zero(rng, (2, 1, 4))
    assert mt.gradcheck(BINARY[op], [c, d])


SCALAR_FORMS = {
    "x+2.5": lambda x: x + 2.5,
    "2.5+x": lambda x: 2.5 + x,
    "x-1": lambda x: x - 1,
    "3-x": lambda x: 3 - x,
    "x*-1.5": lambda x: x * -1.5,
    "0.7*x": lambda x: 0.7 * x,
    "x/1.7": lambda x: x / 1.7,
    "1.7/x": lambda x: 1.7 / x,
    "-x": lambda x: -x,
    "x*x*x": lambda x: x * x * x,
    "x-x*2": lambda x: x - x * 2,
    "x/(x*x)": lambda x: x / (x * x),
    "x+array": lambda x: x + np.arange(4.0),
    "array*x": lambda x: np.arange(1.0, 5.0) * x,
}


@pytest.mark.parametrize("form", sorted(SCALAR_FORMS))
def test_scalar_and_array_operands(form, rng):
    x = away_from_zero(rng, (3, 4))
    assert mt.gradcheck(SCALAR_FORMS[form], [x])


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.5, -2, 1, 0.0, 2.5])
def test_pow_scalar_exponent(p, rng):
    x = positive(rng, (3, 4))
    assert mt.gradcheck(lambda t: t ** p, [x])


def test_pow_integer_exponent_negative_base(rng):
    x = away_from_zero(rng, (2, 5))
    assert mt.gradcheck(lambda t: t ** 3, [x])
    assert mt.gradcheck(lambda t: t ** -2, [x])


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((3,), ())],
                         ids=str)
def test_pow_tensor_exponent(shapes, rng):
    a = positive(rng, shapes[0])
    b = normal(rng, shapes[1])
    assert mt.gradcheck(lambda u, v: u ** v, [a, b])


def test_rpow_scalar_base(rng):
    x = normal(rng, (3, 4))
    assert mt.gradcheck(lambda t: 2.0 ** t, [x])


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul(shapes, rng):
    a, b = normal(rng, shapes[0]), normal(rng, shapes[1])
    assert (a @ b).shape == np.matmul(a.numpy(), b.numpy()).shape
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    assert mt.gradcheck(lambda u, v: u @ v, [a, b])


def test_matmul_vector_dot_vector(rng):
    a, b = normal(rng, (4,)), normal(rng, (4,))
    assert mt.gradcheck(lambda u, v: u @ v, [a, b])


def test_matmul_with_numpy_operand(rng):
    a = normal(rng, (3, 4))
    m = rng.standard_normal((4, 2))
    assert mt.gradcheck(lambda u: u @ m, [a])
    assert mt.gradcheck(lambda u: m.T @ u.T, [a])


# ----------------------------------------------------------------------------- reductions
AXES = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin"])
def test_reductions(op, axis, keepdims, rng):
    x = distinct(rng, (2, 3, 4)) if op in ("amax", "amin") else normal(rng, (2, 3, 4))
    fn = lambda t: getattr(t, op)(axis, keepdims)  # noqa: E731
    expected = getattr(np, op)(x.numpy(), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-12)
    assert mt.gradcheck(fn, [x])


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin"])
def test_reductions_keyword_spellings(op, rng):
    x = distinct(rng, (3, 4))
    assert getattr(x, op)(dim=1, keepdim=True).shape == (3, 1)
    assert mt.gradcheck(lambda t: getattr(t, op)(dim=0, keepdim=False), [x])
    if op in ("sum", "mean"):  # NumPy's names too
        assert getattr(x, op)(axis=1, keepdims=True).shape == (3, 1)


def test_max_ties_share_gradient():
    """Over all elements or with amax, ties split the gradient equally (as torch.max() and torch.amax)."""
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.amax(1).backward(np.array([1.0, 3.0]))
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1, 1, 1]])
    x.grad = None
    x.max().backward(np.array(2.0))
    np.testing.assert_allclose(x.grad, [[0, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_along_a_dim_give_values_and_indices(op, dim, keepdim, rng):
    x = distinct(rng, (2, 3, 4))
    values, indices = getattr(x, op)(dim, keepdim)
    arg = getattr(np, f"arg{op}")(x.numpy(), axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(indices.numpy(), arg)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy(), getattr(np, op)(x.numpy(), axis=dim, keepdims=keepdim))
    result = getattr(x, op)(dim=dim, keepdim=keepdim)
    assert result.values.shape == result.indices.shape == values.shape
    assert mt.gradcheck(lambda t: getattr(t, op)(dim, keepdim)[0], [x])


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index():
    """With ties, torch.max(x, dim) gives the whole gradient to the first maximum, the index it returns."""
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0]
    values.backward(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [3, 0, 0]])


def test_max_of_a_0d_tensor_along_dim_0():
    x = leaf(2.5)
    values, indices = x.max(0)
    assert values.shape == indices.shape == () and values.item() == 2.5 and indices.item() == 0
    values.backward(np.array(4.0))
    assert x.grad.item() == 4.0


# ----------------------------------------------------------------------------- shape ops
SHAPE_OPS = {
    "reshape": lambda t: t.reshape(4, 6),
    "reshape_tuple_infer": lambda t: t.reshape((3, -1)),
    "view": lambda t: t.view(2, 12),
    "flatten": lambda t: t.flatten(),
    "flatten_start1": lambda t: t.flatten(1),
    "flatten_0_1": lambda t: t.flatten(0, 1),
    "transpose_0_2": lambda t: t.transpose(0, 2),
    "transpose_neg": lambda t: t.transpose(-1, -2),
    "permute": lambda t: t.permute(2, 0, 1),
    "permute_tuple": lambda t: t.permute((1, 2, 0)),
    "T": lambda t: t.T,
    "int_index": lambda t: t[1],
    "slices": lambda t: t[:, 1:3],
    "step_slices": lambda t: t[::-1, ::2, 1:],
    "ellipsis": lambda t: t[..., 2],
    "newaxis": lambda t: t[None, 0, :, None],
    "scalar_index": lambda t: t[1, 2, 3] * t[0, 0, 0],
    "unsqueeze": lambda t: t.unsqueeze(1),
    "unsqueeze_end": lambda t: t.unsqueeze(-1),
    "squeeze_all": lambda t: t[:, :1, None].squeeze(),
    "squeeze_dim": lambda t: t[:, :1].squeeze(1),
    "squeeze_dims": lambda t: t[:1, :1].squeeze((0, 1)),
    "squeeze_not_1": lambda t: t.squeeze(0),
    "clone": lambda t: t.clone() * t,
    "contiguous": lambda t: t.transpose(0, 2).contiguous(),
    "negative_int": lambda t: t[-1, -2],
    "int_array_repeats": lambda t: t[np.array([1, 1, 0, 1])],
    "list_repeats": lambda t: t[[0, 0, 1]],
    "paired_int_arrays": lambda t: t[np.array([0, 1, 1, 0]), np.array([2, 2, 0, 2])],
    "int_array_2d": lambda t: t[:, np.array([[0, 2], [2, 2]])],
    "tensor_index": lambda t: t[mt.tensor(np.array([1, 0, 1]))],
    "bool_mask": lambda t: t[np.arange(24).reshape(2, 3, 4) % 3 == 0],
    "mixed": lambda t: t[1, np.array([2, 0, 2]), 1:3],
    "chain": lambda t: t.permute(1, 0, 2).reshape(3, 8)[::2].T,
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name, rng):
    x = normal(rng, (2, 3, 4))
    fn = SHAPE_OPS[name]
    assert mt.gradcheck(fn, [x])


def test_getitem_repeated_indices_accumulate():
    x = leaf(np.arange(4.0))
    x[np.array([2, 2, 2, 0])].backward(np.array([1.0, 2.0, 3.0, 5.0]))
    np.testing.assert_array_equal(x.grad, [5.0, 0.0, 6.0, 0.0])


# ----------------------------------------------------------------------------- elementwise
def test_exp(rng):
    assert mt.gradcheck(lambda t: t.exp(), [normal(rng, (3, 4))])


def test_log(rng):
    assert mt.gradcheck(lambda t: t.log(), [positive(rng, (3, 4), 0.2, 3.0)])


def test_relu_away_from_kink(rng):
    x = away_from_zero(rng, (4, 5), 0.05, 2.0)
    assert (x.relu().numpy() == np.maximum(x.numpy(), 0)).all()
    assert mt.gradcheck(lambda t: t.relu(), [x])
    assert mt.gradcheck(F.relu, [x])


def test_relu_gradient_at_zero_is_zero():
    x = leaf([-1.0, 0.0, 2.0])
    x.relu().backward(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_sigmoid(name, rng):
    x = leaf(rng.standard_normal((3, 4)) * 2)
    assert mt.gradcheck(lambda t: getattr(t, name)(), [x])
    assert mt.gradcheck(getattr(F, name), [x])
    expected = np.tanh(x.numpy()) if name == "tanh" else 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(getattr(x, name)().numpy(), expected, rtol=1e-12)


def test_composite_expression(rng):
    a, b = normal(rng, (3, 4)), positive(rng, (4,))
    fn = lambda u, v: ((u * v).exp().sum(axis=1, keepdims=True) / v.sum() - u.relu() ** 2).mean(axis=0)  # noqa
    assert mt.gradcheck(fn, [a, b])


# ----------------------------------------------------------------------------- softmax and losses
@pytest.mark.parametrize("shape,dim", [((4, 6), 1), ((4, 6), 0), ((4, 6), -1), ((2, 3, 4), 1)], ids=str)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_log_softmax(fn, shape, dim, rng):
    x = leaf(rng.standard_normal(shape) * 2)
    f = getattr(F, fn)
    assert mt.gradcheck(lambda t: f(t, dim=dim), [x])
    out = f(x, dim=dim).numpy()
    probs = np.exp(out) if fn == "log_softmax" else out
    np.testing.assert_allclose(probs.sum(axis=dim), 1.0, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction, rng):
    logits = leaf(rng.standard_normal((5, 4)) * 2)
    target = mt.tensor(np.array([0, 3, 1, 3, 2]))
    assert mt.gradcheck(lambda t: F.cross_entropy(t, target, reduction=reduction), [logits])


def test_cross_entropy_large_logits_stable(rng):
    logits = leaf(rng.standard_normal((3, 4)) * 2 + np.array([[1000.0], [-1000.0], [0.0]]))
    target = mt.tensor(np.array([0, 1, 3]))
    loss = F.cross_entropy(logits, target, reduction="none")
    assert np.isfinite(loss.numpy()).all()
    assert mt.gradcheck(lambda t: F.cross_entropy(t, target, reduction="sum"), [logits])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_both_inputs(reduction, rng):
    a, b = normal(rng, (4, 3)), normal(rng, (4, 3))
    assert mt.gradcheck(lambda u, v: F.mse_loss(u, v, reduction=reduction), [a, b])


# ----------------------------------------------------------------------------- edge cases
def test_relu_of_a_0d_tensor():
    for value, slope in ((2.5, 1.0), (-1.0, 0.0)):
        x = leaf(value)
        y = x.relu()
        assert y.shape == () and y.item() == max(value, 0.0)
        y.backward(np.array(3.0))
        assert np.shape(x.grad) == () and float(np.asarray(x.grad)) == 3.0 * slope
    from minitorch.kernels import reference, relu_backward, relu_forward  # the GPU's code path

    out, mask = relu_forward.on(reference)(np.array(-2.0), True)
    assert out.shape == () and relu_backward.on(reference)(np.array(1.5), mask).shape == ()


def test_pow_gradients_at_zero_are_zero_as_in_pytorch():
    """d/dx x**0 and, at a = 0, d/db a**b (b >= 0) and d/da a**b (b = 0) are 0 in PyTorch, not NaN."""
    x = leaf([0.0, 2.0])
    (x ** 0).backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(np.asarray(x.grad), [0.0, 0.0])
    a, b = leaf([0.0, 0.0, 0.0, 2.0]), leaf([0.0, 1.0, 2.5, 0.0])
    (a ** b).backward(np.array([1.0, 1.0, 1.0, 1.0]))
    # d/da = b * a**(b-1): 0 where b = 0, 1 at a=0,b=1, 0 at a=0,b=2.5
    np.testing.assert_array_equal(np.asarray(a.grad), [0.0, 1.0, 0.0, 0.0])
    # d/db = a**b * log(a): 0 where a = 0 (b >= 0), log 2 at a=2,b=0
    np.testing.assert_allclose(np.asarray(b.grad), [0.0, 0.0, 0.0, np.log(2.0)], rtol=1e-15)


# ----------------------------------------------------------------------------- joins, norms, abs, in place
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim, rng):
    shapes = {0: [(1, 3, 2), (3, 3, 2), (2, 3, 2)], 1: [(2, 1, 2), (2, 4, 2), (2, 2, 2)],
              -1: [(2, 3, 1), (2, 3, 3), (2, 3, 2)]}[dim]
    ts = [normal(rng, s) for s in shapes]
    np.testing.assert_array_equal(mt.cat(ts, dim).numpy(), np.concatenate([t.numpy() for t in ts], dim))
    assert mt.gradcheck(lambda *t: mt.cat(list(t), dim=dim), ts)
    constant = mt.tensor(rng.standard_normal(shapes[1]))  # needs no gradient
    assert mt.gradcheck(lambda a, c: mt.cat([a, constant, c], dim), [ts[0], ts[2]])
    assert constant.grad is None


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim, rng):
    ts = [normal(rng, (2, 3)) for _ in range(3)]
    np.testing.assert_array_equal(mt.stack(ts, dim).numpy(), np.stack([t.numpy() for t in ts], dim))
    assert mt.gradcheck(lambda *t: mt.stack(t, dim=dim), ts)


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 2.5, 0.5, float("inf")], ids=str)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)], ids=str)
def test_norm(p, dim, keepdim, rng):
    x = away_from_zero(rng, (2, 3, 4)) if p != float("inf") else distinct(rng, (2, 3, 4))
    order = {"fro": 2}.get(p, p)
    expected = np.linalg.norm(x.numpy().reshape(-1), order) if dim is None else None
    if dim is None:
        np.testing.assert_allclose(x.norm(p).item(), expected, rtol=1e-12)
    else:
        axes = dim if isinstance(dim, tuple) else (dim,)
        ref = (np.abs(x.numpy()) ** order).sum(axis=axes, keepdims=keepdim) ** (1 / order) if order != float(
            "inf") else np.abs(x.numpy()).max(axis=axes, keepdims=keepdim)
        np.testing.assert_allclose(x.norm(p, dim, keepdim).numpy(), ref, rtol=1e-12)
    assert mt.gradcheck(lambda t: t.norm(p, dim=dim, keepdim=keepdim), [x])


def test_norm_of_zeros_has_zero_gradient():
    x = leaf(np.zeros((2, 3)))
    for p in (2, 1, 3, float("inf")):
        x.grad = None
        x.norm(p).backward()
        assert x.grad.tolist() == [[0.0] * 3] * 2, p


def test_abs(rng):
    assert mt.gradcheck(lambda t: t.abs(), [away_from_zero(rng, (3, 4))])
    x = leaf([-2.0, 0.0, 3.0])
    abs(x).backward(np.array([1.0, 1.0, 1.0]))
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]  # sign(0) = 0, as in PyTorch


def test_setitem_and_copy_record_gradients(rng):
    x, v = normal(rng, (4, 3)), normal(rng, (3,))

    def setitem(a, b):
        h = a * 1.5
        h[1] = b * 2
        h[2:, 0] = b[:1]
        return h * a

    assert mt.gradcheck(setitem, [x, v])

    def copy(a, b):
        h = a * 3
        h.copy_(b * b)
        return h + a

    assert mt.gradcheck(copy, [x, v])


def test_in_place_arithmetic_on_a_non_leaf_records_gradients(rng):
    x, y = normal(rng, (3, 4)), away_from_zero(rng, (4,))

    def chain(a, b):
        h = a * 2
        h.add_(b, alpha=0.5)
        h.mul_(b)
        h.sub_(a)
        h.div_(b)
        h += a * a
        h *= 3.0
        return h

    assert mt.gradcheck(chain, [x, y])


def test_residual_add_in_place_as_in_resnet(rng):
    x = normal(rng, (2, 5))

    def block(t):
        out = (t * 2).relu()
        out += t  # torchvision's BasicBlock: out += identity
        return out.relu()

    assert mt.gradcheck(block, [x])
