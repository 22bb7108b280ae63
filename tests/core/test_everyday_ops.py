"""The everyday ops' behaviour beyond values (tests/core/test_everyday_parity.py has those): random creation
(shapes, dtypes, ranges, manual_seed), in-place forms and their autograd, views, and one clear error per misuse."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt


def leaf(*shape, seed=0):
    return mt.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ----------------------------------------------------------------------------- random creation
@pytest.mark.parametrize("make", [
    lambda: mt.randperm(10), lambda: mt.rand_like(mt.zeros(3, 4)), lambda: mt.randn_like(mt.zeros(3, 4)),
    lambda: mt.randint_like(mt.zeros(3, 4), 2, 9), lambda: mt.zeros(3, 4).normal_(2.0, 0.5),
    lambda: mt.zeros(3, 4).uniform_(-2, 3),
], ids=["randperm", "rand_like", "randn_like", "randint_like", "normal_", "uniform_"])
def test_random_creation_follows_manual_seed(make):
    mt.manual_seed(123)
    a = make().numpy()
    mt.manual_seed(123)
    b = make().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make().numpy())  # the generator moved on


def test_random_creation_shapes_dtypes_and_ranges():
    mt.manual_seed(0)
    p = mt.randperm(50)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(50))
    like = mt.zeros(200, 50, dtype=mt.float64)
    r = mt.rand_like(like)
    assert r.dtype == np.float64 and r.shape == (200, 50) and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = mt.randn_like(mt.zeros(200, 50))
    assert n.dtype == np.float32 and abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    i = mt.randint_like(mt.zeros(200, 50, dtype=mt.int32), 3, 7)
    assert i.dtype == np.int32 and set(np.unique(i.numpy())) == {3, 4, 5, 6}
    w = mt.zeros(200, 50).normal_(2.0, 0.5)
    assert abs(w.numpy().mean() - 2) < 0.02 and abs(w.numpy().std() - 0.5) < 0.02 and w.dtype == np.float32
    u = mt.zeros(200, 50, dtype=mt.float64).uniform_(-2, 3)
    assert u.dtype == np.float64 and -2 <= u.numpy().min() and u.numpy().max() < 3 and abs(u.numpy().mean() - .5) < .05
    assert mt.rand(2, 3).shape == (2, 3) and mt.randint(0, 5, (4,)).dtype == np.int64


def test_normal_and_uniform_refuse_a_leaf_that_requires_grad_but_work_under_no_grad():
    w = mt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="normal_: a leaf tensor that requires grad"):
        w.normal_()
    with mt.no_grad():
        w.uniform_(1, 2)
    assert (w.numpy() >= 1).all() and w.requires_grad


def test_empty_full_eye_linspace_dtypes():
    assert mt.empty(2, 3).shape == (2, 3) and mt.empty((2,), dtype=mt.int64).dtype == np.int64
    assert mt.full((2, 2), 7).dtype == np.int64 and mt.full((2,), 1.0).dtype == np.float32
    assert mt.full((2,), True).dtype == np.bool_ and mt.full(3, 0.5, dtype=mt.float64).shape == (3,)
    assert mt.eye(3).dtype == np.float32 and mt.eye(2, 5).shape == (2, 5)
    assert mt.linspace(0, 1, 0).shape == (0,) and mt.linspace(2, 2, 1).tolist() == [2.0]
    assert mt.full((2,), 1.0, requires_grad=True).requires_grad
    x = mt.zeros(2, dtype=mt.float64)
    assert x.new_zeros(3).dtype == np.float64 and x.new_ones(1, 2).shape == (1, 2)
    assert x.new_tensor([1, 2]).dtype == np.float64 and x.new_tensor([1, 2], dtype=mt.int64).dtype == np.int64
    assert x.new_empty(2).shape == (2,) and x.new_full((2,), 3).tolist() == [3.0, 3.0]


def test_dtype_names_and_conversions():
    assert (mt.int32, mt.uint8, mt.bool, mt.float16, mt.half, mt.int, mt.short, mt.int8, mt.int16) == (
        np.int32, np.uint8, np.bool_, np.float16, np.float16, np.int32, np.int16, np.int8, np.int16)
    x = mt.tensor([1.5, -2.0])
    assert x.int().dtype == mt.int32 and x.half().dtype == mt.float16 and x.bool().dtype == mt.bool
    assert x.type() == "torch.FloatTensor" and x.int().type() == "torch.IntTensor"
    assert x.type("torch.DoubleTensor").dtype == np.float64 and x.type(mt.int64).dtype == np.int64
    assert x.type_as(mt.tensor([1])).dtype == np.int64 and x.is_floating_point()
    with pytest.raises(ValueError, match="type: unknown type name 'torch.Nope'"):
        x.type("torch.Nope")


# ----------------------------------------------------------------------------- in-place forms and views
@pytest.mark.parametrize("method, args", [
    ("clamp_", (-0.5, 0.5)), ("clip_", (None, 0.1)), ("sqrt_", ()), ("exp_", ()), ("sin_", ()), ("cos_", ()),
    ("abs_", ()), ("neg_", ()), ("floor_", ()), ("round_", ()), ("tanh_", ()), ("sigmoid_", ()), ("relu_", ()),
    ("pow_", (2,)), ("tril_", ()), ("triu_", (1,)),
])
def test_inplace_forms_equal_the_out_of_place_ones_and_record_the_gradient(method, args):
    x = mt.tensor(np.abs(np.random.default_rng(1).standard_normal((3, 4))) + 0.1, requires_grad=True)
    expected = getattr(x, method.rstrip("_"))(*args)
    y = x * 1
    assert getattr(y, method)(*args) is y
    np.testing.assert_allclose(y.numpy(), expected.numpy())
    u = np.random.default_rng(2).standard_normal((3, 4))
    y.backward(u)
    got = x.grad.numpy().copy()
    x.grad = None
    expected.backward(u)
    np.testing.assert_allclose(got, x.grad.numpy())


def test_inplace_on_a_tensor_saved_for_backward_is_caught():
    x = leaf(3)
    y = x * 1
    z = y.sin()  # keeps y
    y.clamp_(0, 1)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_inplace_forms_refuse_a_leaf_that_requires_grad():
    for call in (lambda t: t.clamp_(0, 1), lambda t: t.sqrt_(), lambda t: t.masked_fill_(t > 0, 0.0),
                 lambda t: t.unsqueeze_(0)):
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
            call(leaf(3))


def test_inplace_integer_results_must_fit():
    x = mt.tensor([1, 4, 9])
    with pytest.raises(TypeError, match="sqrt_: the result has dtype float32"):
        x.sqrt_()
    x.clamp_(2, 5)
    assert x.tolist() == [2, 4, 5] and x.dtype == np.int64


def test_unsqueeze_and_squeeze_in_place():
    x = mt.zeros(3, 4)
    assert x.unsqueeze_(1) is x and x.shape == (3, 1, 4)
    assert x.squeeze_(1).shape == (3, 4)
    y = leaf(3, 4) * 2
    y.unsqueeze_(0)
    y.sum().backward()
    assert y.shape == (1, 3, 4)


def test_pieces_are_views_and_expand_is_a_view():
    x = mt.arange(12.0).reshape(3, 4)
    for piece in (*x.chunk(2, 1), *x.split(1), x.narrow(1, 1, 2), *x.unbind(0)):
        assert np.shares_memory(piece.numpy(), x.numpy())
    assert np.shares_memory(x[0].expand(2, 4).numpy(), x.numpy())
    assert x.chunk(5, 0).__len__() == 3 and len(x.split(3, 1)) == 2


def test_masked_fill_and_where_keep_dtypes():
    x = mt.tensor([1, -2, 3])
    assert x.masked_fill(x < 0, 0).dtype == np.int64
    assert mt.where(x > 0, x, 0).dtype == np.int64
    assert mt.where(x > 0, x, 0.5).dtype == np.float32
    assert mt.where(x > 0, 1.0, 0.0).dtype == np.float32 and mt.where(x > 0, 1, 0).dtype == np.int64
    f = mt.tensor([1.0, 2.0])
    assert mt.where(f > 1, f, mt.tensor(0.0, dtype=mt.float64)).dtype == np.float32  # a 0-d tensor does not promote
    assert mt.maximum(f, mt.tensor([1, 3])).dtype == np.float32


def test_sort_along_dims_and_return_types():
    x = mt.tensor([[3.0, 1.0, 2.0]])
    r = x.sort(descending=True)
    assert type(r).__name__ == "sort" and r.values.tolist() == [[3.0, 2.0, 1.0]] and r.indices.dtype == np.int64
    values, indices = mt.topk(x, 2)
    assert type(mt.topk(x, 1)).__name__ == "topk" and indices.tolist() == [[0, 2]]
    assert type(mt.median(x, 1)).__name__ == "median" and mt.median(x).item() == 2.0


# ----------------------------------------------------------------------------- errors: one line naming the argument
ERRORS = [
    (lambda: mt.clamp(mt.ones(2)), ValueError, "clamp: at least one of min and max"),
    (lambda: mt.clamp(mt.ones(2), min="a"), TypeError, "clamp: min must be a number or a Tensor"),
    (lambda: mt.where(mt.ones(2), mt.ones(2), 0.0), TypeError, "where: condition must be a bool Tensor"),
    (lambda: mt.where(mt.ones(2) > 0, mt.ones(3), 0.0), ValueError, "where: shapes (2,) (condition)"),
    (lambda: mt.maximum(mt.ones(2), 1.0), TypeError, "maximum: other must be a Tensor"),
    (lambda: mt.div(mt.ones(2), 2, rounding_mode="up"), ValueError, "div: rounding_mode must be"),
    (lambda: mt.div(mt.tensor([1]), 0, rounding_mode="floor"), ZeroDivisionError, "div: integer division by zero"),
    (lambda: mt.add(mt.tensor([1]), mt.tensor([1]), alpha=0.5), TypeError, "alpha: a float"),
    (lambda: mt.mm(mt.ones(2), mt.ones(2, 2)), ValueError, "mm: input must be 2-D"),
    (lambda: mt.bmm(mt.ones(2, 2, 2), mt.ones(3, 2, 2)), ValueError, "bmm: batch sizes differ"),
    (lambda: mt.dot(mt.ones(2), mt.ones(3)), ValueError, "dot: sizes differ"),
    (lambda: mt.outer(mt.ones(2, 2), mt.ones(3)), ValueError, "outer: input must be 1-D"),
    (lambda: mt.sqrt([1.0]), TypeError, "sqrt: input must be a Tensor, got list"),
    (lambda: mt.einsum("ij,jk->ik", mt.ones(2, 3)), ValueError, "einsum: equation 'ij,jk->ik' names 2 operands"),
    (lambda: mt.einsum("ii->i", mt.ones(2, 2)), ValueError, "einsum: operand 0 repeats a letter"),
    (lambda: mt.einsum("ij,jk->ik", mt.ones(2, 3), mt.ones(4, 2)), ValueError, "einsum: letter 'j' has size 3"),
    (lambda: mt.einsum("ij->ik", mt.ones(2, 3)), ValueError, "einsum: output letter 'k'"),
    (lambda: mt.einsum("ij", mt.ones(2)), ValueError, "einsum: operand 0 has 1 dimensions"),
    (lambda: mt.einsum("ij,jk", mt.ones(2, 3), mt.ones(3, 2, dtype=mt.float64)), TypeError, "einsum: operands have"),
    (lambda: mt.softmax(mt.ones(2, 3), 2), ValueError, "softmax: dim 2 is out of range"),
    (lambda: mt.softmax(mt.tensor([1, 2]), 0), TypeError, "softmax: expected a floating-point tensor"),
    (lambda: mt.var(mt.tensor([1, 2])), TypeError, "var: expected a floating-point tensor"),
    (lambda: mt.std(mt.ones(3), correction="x"), TypeError, "std: correction must be a number"),
    (lambda: mt.var(mt.ones(3), 3), ValueError, "var: dim 3 is out of range"),
    (lambda: mt.var(mt.ones(3), 0.5), TypeError, "var: dim must be an int"),
    (lambda: mt.topk(mt.ones(3), 4), ValueError, "topk: k (4) is out of range"),
    (lambda: mt.median(mt.ones(0, dtype=mt.int64)), ValueError, "median: the tensor is empty"),
    (lambda: mt.median(mt.ones(2, 0), 1), ValueError, "median: dim 1 of the tensor of shape (2, 0) is empty"),
    (lambda: mt.sort(mt.ones(3), 1), ValueError, "sort: dim 1 is out of range"),
    (lambda: mt.cumsum(mt.ones(()), 2), ValueError, "cumsum: dim 2 is out of range for a tensor of 0 dimensions"),
    (lambda: mt.ones(3, 1).expand(2, 2), ValueError, "expand: the size 3 of dim 0 cannot expand to 2"),
    (lambda: mt.ones(3).expand(-1, 3), ValueError, "expand: -1 is not allowed for the new leading dim 0"),
    (lambda: mt.ones(2, 3).repeat(2), ValueError, "repeat: 1 repeats given for a tensor of 2 dimensions"),
    (lambda: mt.ones(2, 3).flip(0, 0), ValueError, "flip: dims (0, 0) repeat a dim"),
    (lambda: mt.roll(mt.ones(3), (1, 2), 0), ValueError, "roll: shifts (2) and dims (1)"),
    (lambda: mt.ones(2, 3, 4).t(), ValueError, "t: expects a tensor of at most 2 dimensions"),
    (lambda: mt.ones(3).mT, ValueError, "mT: expects a tensor of at least 2 dimensions"),
    (lambda: mt.movedim(mt.ones(2, 3), (0, 1), 0), ValueError, "movedim: source (2 dims) and destination (1)"),
    (lambda: mt.chunk(mt.ones(3), 0), ValueError, "chunk: chunks must be positive"),
    (lambda: mt.split(mt.ones(5), [2, 2]), ValueError, "split: sections [2, 2] must be >= 0 and add up to"),
    (lambda: mt.narrow(mt.ones(5), 0, 3, 3), ValueError, "narrow: start (3) + length (3) exceeds dim 0"),
    (lambda: mt.gather(mt.ones(2, 3), 1, mt.tensor([[0.5]])), TypeError, "gather: index must hold integers"),
    (lambda: mt.gather(mt.ones(2, 3), 1, mt.tensor([0, 1])), ValueError, "gather: index has 1 dimensions but"),
    (lambda: mt.gather(mt.ones(2, 3), 1, mt.tensor([[3]])), IndexError, "gather: index out of range for dim 1"),
    (lambda: mt.scatter(mt.ones(2, 3), 1, mt.tensor([[0]])), TypeError, "scatter: give src"),
    (lambda: mt.scatter(mt.ones(2, 3), 1, mt.tensor([[0, 1]]), mt.ones(1, 1)), ValueError,
     "scatter: index of shape (1, 2) is larger than src"),
    (lambda: mt.index_select(mt.ones(2, 3), 1, mt.tensor([[0]])), ValueError, "index_select: index must be 1-D"),
    (lambda: mt.index_select(mt.ones(2, 3), 1, mt.tensor([3])), IndexError, "index_select: index out of range"),
    (lambda: mt.masked_fill(mt.ones(2), mt.ones(2), 0.0), TypeError, "masked_fill: mask must be a bool Tensor"),
    (lambda: mt.masked_fill(mt.ones(2), mt.ones(3) > 0, 0.0), ValueError, "masked_fill: mask of shape (3,)"),
    (lambda: mt.tril(mt.ones(3)), ValueError, "tril: expects a tensor of at least 2 dimensions"),
    (lambda: mt.diag(mt.ones(2, 2, 2)), ValueError, "diag: expects a 1-D or 2-D tensor"),
    (lambda: mt.full((2,), "a"), TypeError, "full: fill_value must be a number"),
    (lambda: mt.eye(-1), ValueError, "eye: size must be >= 0"),
    (lambda: mt.linspace(0, 1, -1), ValueError, "linspace: steps must be an int >= 0"),
    (lambda: mt.randperm(-1), ValueError, "randperm: n must be an int >= 0"),
    (lambda: mt.rand_like(mt.tensor([1])), TypeError, "rand_like: expected a floating-point dtype"),
    (lambda: mt.ones(2).normal_(std=-1), ValueError, "normal_: std must be >= 0"),
    (lambda: mt.ones(2).uniform_(2, 1), ValueError, "uniform_: expected a <= b"),
    (lambda: mt.equal(mt.ones(2), [1, 1]), TypeError, "equal: other must be a Tensor"),
    (lambda: mt.ones(2).round(decimals=0.5), TypeError, "round: decimals must be an int"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m.split(":")[0] + str(i) for i, (_, _, m) in
                                                               enumerate(ERRORS)])
def test_one_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    text = str(info.value)
    assert message in text and "\n" not in text, text


def test_numpy_functions_on_tensors_call_the_methods_with_numpy_arguments():
    """np.any(t), np.var(t)... call the tensor's own method with axis=, keepdims=, ddof=, out=None."""
    data = np.array([[1.0, 0.0], [2.0, 3.0]])
    t = mt.tensor(data)
    assert bool(np.any(t)) and not bool(np.all(t)) and np.all(t > -1).item() is True
    np.testing.assert_allclose(np.var(t).numpy(), np.var(data))
    np.testing.assert_allclose(np.std(t, ddof=1, axis=0).numpy(), np.std(data, ddof=1, axis=0))
    np.testing.assert_allclose(np.prod(t, axis=1).numpy(), np.prod(data, axis=1))
    assert np.any(t, axis=0, keepdims=True).shape == (1, 2)
    with pytest.raises(TypeError, match="any: unexpected argument foo=1"):
        t.any(foo=1)
