"""The autograd engine: graph walk order, reuse, depth, grad mode, accumulation, freed graphs, detach,
and gradcheck itself failing on a wrong backward."""
from __future__ import annotations

import sys
import weakref

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.autograd import Function, unbroadcast
from minitorch.tensor import apply


class Double(Function):
    """2 * a, counting its backward calls."""

    __slots__ = ()
    backward_calls = 0

    def forward(self, a):
        return 2 * a

    def backward(self, g):
        type(self).backward_calls += 1
        return (2 * g,)


@pytest.fixture
def double():
    Double.backward_calls = 0
    return lambda t: apply(Double(), t)


def leaf(array, dtype=np.float64):
    return mt.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------- order and reuse
def test_diamond_node_backward_runs_once(double, rng):
    x = leaf(rng.standard_normal(5))
    a = double(x)                   # a = 2x, used by three branches
    b = a * a
    c = a + a
    d = (b + c + a).sum()
    d.backward()
    assert Double.backward_calls == 1
    np.testing.assert_allclose(x.grad, (2 * a.numpy() + 3) * 2, rtol=1e-12)


def test_node_reused_many_times(double, rng):
    x = leaf(rng.uniform(0.9, 1.1, 4))
    a = double(x)
    total = a * 0.0
    for k in range(1, 101):
        total = total + a * float(k)  # a feeds 100 products
    total.backward(np.arange(1.0, 5.0))
    assert Double.backward_calls == 1
    np.testing.assert_allclose(x.grad, 2 * 5050 * np.arange(1.0, 5.0), rtol=1e-12)


def test_power_by_repeated_product(rng):
    x = leaf(rng.uniform(0.95, 1.05, 3))
    y = x
    for _ in range(49):
        y = y * x  # x^50: the leaf is an input of 50 nodes
    u = rng.standard_normal(3)
    y.backward(u)
    np.testing.assert_allclose(x.grad, u * 50 * x.numpy() ** 49, rtol=1e-10)


def test_nested_diamonds(double, rng):
    """Each level doubles the number of paths to x; the walk must not multiply work or gradients."""
    x = leaf(rng.standard_normal(3))
    y = double(x)
    for _ in range(30):  # 2^30 paths: a recursive per-path walk would never finish
        y = y * 0.5 + y * 0.5
    y.backward(np.ones(3))
    assert Double.backward_calls == 1
    np.testing.assert_allclose(x.grad, 2.0, rtol=1e-12)


def test_deep_chain_has_no_recursion_error(rng):
    assert sys.getrecursionlimit() < 20000
    x = leaf(rng.standard_normal(2))
    y = x
    for _ in range(10000):
        y = y * 1.0001 + 0.0
    y.backward(np.array([1.0, -2.0]))
    np.testing.assert_allclose(x.grad, np.array([1.0, -2.0]) * 1.0001 ** 10000, rtol=1e-9)


def test_deep_chain_without_backward_can_be_dropped(rng):
    x = leaf(rng.standard_normal(2))
    y = x
    for _ in range(20000):
        y = y + 1.0
    del y  # freeing a 20000-deep graph must not overflow the C stack


def test_gradient_flows_only_to_inputs_that_require_it(rng):
    x = leaf(rng.standard_normal(3))
    c = mt.tensor(rng.standard_normal(3))
    (x * c + c).sum().backward()
    np.testing.assert_allclose(x.grad, c.numpy())
    assert c.grad is None and not c.requires_grad


def test_unused_leaf_gets_no_grad(rng):
    x, y = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))
    (x * 2).sum().backward()
    assert y.grad is None


def test_float32_gradients_stay_float32(rng):
    x = leaf(rng.standard_normal((2, 3)), np.float32)
    (x * x).sum().backward()
    assert x.grad.dtype == np.float32


# ----------------------------------------------------------------------------- grad mode
def test_no_grad_builds_no_graph(rng):
    x = leaf(rng.standard_normal(3))
    with mt.no_grad():
        y = (x * 2).exp().sum()
        assert not mt.is_grad_enabled()
    assert mt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_as_decorator_and_nesting(rng):
    x = leaf(rng.standard_normal(3))

    @mt.no_grad()
    def f(t):
        with mt.enable_grad():
            inner = t * 2
        return t * 3, inner

    outer, inner = f(x)
    assert not outer.requires_grad and inner.requires_grad
    assert mt.is_grad_enabled()


def test_no_grad_restored_after_exception():
    with pytest.raises(KeyError):
        with mt.no_grad():
            raise KeyError("x")
    assert mt.is_grad_enabled()


def test_layers_under_no_grad_build_no_graph(rng, float64):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(2, 3))
    x = mt.tensor(rng.standard_normal((2, 1, 4, 4)))
    with mt.no_grad():
        out = F.cross_entropy(net(x), mt.tensor(np.array([0, 2])))
    assert out.grad_fn is None and not out.requires_grad
    assert int(net[1].num_batches_tracked.item()) == 1  # BatchNorm still updates its statistics


# ----------------------------------------------------------------------------- accumulation and freeing
def test_grad_accumulates_across_backward_calls(rng):
    x = leaf(rng.standard_normal(4))
    u = rng.standard_normal(4)
    (x * x).backward(u)
    first = x.grad.clone()
    np.testing.assert_allclose(first, 2 * x.numpy() * u)
    (x * x).backward(u)
    np.testing.assert_allclose(x.grad, 2 * first)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0)


def test_second_backward_through_freed_graph_raises(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through \w+ a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(rng):
    x = leaf(rng.standard_normal(3))
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-12)
    y.backward()  # a last one frees it
    np.testing.assert_allclose(x.grad, 3 * first, rtol=1e-12)
    with pytest.raises(RuntimeError, match="a second time"):
        y.backward()


def test_backward_takes_pytorchs_argument_names():
    """``y.backward(gradient=g, retain_graph=True)`` as in PyTorch (whose x.grad is then [2, 4, 6])."""
    x = mt.ones(3, requires_grad=True)
    y = x * 2
    y.backward(gradient=mt.tensor([1.0, 2.0, 3.0]), retain_graph=True)
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    y.backward(mt.tensor([1.0, 1.0, 1.0]), None)  # positional, and None frees the graph, as PyTorch's default
    assert x.grad.tolist() == [4.0, 6.0, 8.0]
    with pytest.raises(RuntimeError, match="a second time"):
        y.backward(gradient=mt.tensor([1.0, 1.0, 1.0]))


def test_backward_frees_saved_arrays(rng):
    x = leaf(rng.standard_normal(3))
    y = x * x
    fn = y.grad_fn
    assert fn.a is not None
    y.backward(np.ones(3))
    assert fn.inputs is None and fn.a is None and fn.b is None


RETAIN_CASES = {
    "linear": lambda x, w: F.linear(x, w),
    "conv2d": lambda x, w: F.conv2d(x.reshape(1, 1, 3, 4), w.reshape(3, 1, 2, 2), w[0, :3], padding=1),
    "batch_norm": lambda x, w: F.batch_norm(x, None, None, w[0], w[1], training=True),
    "max_pool": lambda x, w: F.max_pool2d(x.reshape(1, 1, 3, 4), 2, 1),
    "softmax": lambda x, w: F.softmax(x @ w.T, 1),
    "log_softmax": lambda x, w: F.log_softmax(x * w[0], 1),
    "mse": lambda x, w: F.mse_loss(x, w, reduction="sum"),
    "cross_entropy": lambda x, w: F.cross_entropy(x * w[0], mt.tensor(np.array([0, 3, 1])), reduction="none"),
    "reductions": lambda x, w: x.amax(1) + x.max(1).values * x.mean(0)[:3] * w.sum(),
}


@pytest.mark.parametrize("name", sorted(RETAIN_CASES))
def test_retain_graph_gives_the_same_gradient_twice(name, rng):
    x = leaf(rng.standard_normal((3, 4)))
    w = leaf(rng.standard_normal((3, 4)))
    out = RETAIN_CASES[name](x, w)
    u = rng.standard_normal(out.shape)
    out.backward(u, retain_graph=True)
    gx1, gw1 = x.grad.clone(), None if w.grad is None else w.grad.clone()
    x.grad = w.grad = None
    out.backward(u)
    np.testing.assert_allclose(x.grad, gx1, rtol=1e-12, err_msg="input gradient changed")
    if gw1 is not None:
        np.testing.assert_allclose(w.grad, gw1, rtol=1e-12, err_msg="weight gradient changed")


# ----------------------------------------------------------------------------- detach, comparisons, leaves
def test_detach_stops_gradients(rng):
    x = leaf(rng.standard_normal(3))
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, y.data)  # a view, as in PyTorch
    (d * 3 + x).sum().backward()
    np.testing.assert_allclose(x.grad, 1.0)


def test_comparisons_and_argmax_have_no_grad(rng):
    x = leaf(rng.standard_normal((3, 4)))
    for mask in (x > 0, x >= 0, x < 0, x <= 0, x == x, x != 0):
        assert mask.dtype == np.bool_ and not mask.requires_grad and mask.grad_fn is None
    idx = x.argmax(axis=1)
    assert idx.dtype == np.int64 and not idx.requires_grad
    np.testing.assert_array_equal(idx.numpy(), x.numpy().argmax(axis=1))
    (x * (x > 0)).sum().backward()  # a mask as a constant factor
    np.testing.assert_array_equal(x.grad, (x.numpy() > 0).astype(np.float64))


def test_int_tensor_arithmetic_has_no_grad():
    a = mt.tensor([1, 2, 3])
    b = a * 2 + a
    assert b.dtype == np.int64 and not b.requires_grad
    np.testing.assert_array_equal(b.numpy(), [3, 6, 9])


def test_retain_grad_on_intermediate(rng):
    x = leaf(rng.standard_normal(3))
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad, 2 * y.numpy())
    np.testing.assert_allclose(x.grad, 4 * y.numpy())


def test_retain_grad_after_the_tensor_was_used_and_dropped(rng):
    x = leaf(rng.standard_normal(4))
    y = x * 3
    z = y.relu()
    y.retain_grad()        # after y was consumed: the op that made y learns it, not the graph
    z.sum().backward()
    np.testing.assert_array_equal(y.grad, (y.numpy() > 0).astype(float))
    np.testing.assert_allclose(x.grad, 3 * (y.numpy() > 0))


def test_graph_does_not_keep_intermediate_arrays_alive(rng):
    # relu saves only its mask, so once y is dropped its array must be freed: the graph
    # links ops to ops and never holds a non-leaf tensor (this halved CoolNet's peak memory)
    x = leaf(rng.standard_normal(1000))
    y = x * 3
    array = weakref.ref(y._data)  # the array itself, not a Tensor view of it
    z = y.relu()
    del y
    assert array() is None
    z.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * (x.numpy() > 0))


def test_requires_grad_false_on_non_leaf_raises(rng):
    y = leaf(rng.standard_normal(3)) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_backward_on_leaf_sets_its_grad():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_zero_grad_in_place_after_sum_backward():
    layer = nn.Linear(3, 2)
    layer.weight.sum().backward()
    layer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(layer.weight.grad, 0.0)


def test_unbroadcast():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(g, (2, 3, 4)), g)
    np.testing.assert_array_equal(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(g, (2, 1, 4)), g.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(g, ()), g.sum())


# ----------------------------------------------------------------------------- gradcheck catches bugs
class WrongSquare(Function):
    """a**2 whose backward is wrong at one element."""

    __slots__ = ("a",)

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        grad = 2 * self.a * g
        grad[1, 2] += 0.1
        return (grad,)


class WrongSecondInput(Function):
    """a * b whose gradient for b is off by a factor."""

    __slots__ = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return g * self.b, g * self.a * 1.01


class UnflippedBackward(Function):
    """Reverses the elements but forgets to reverse the gradient: only a non-uniform upstream catches it."""

    __slots__ = ()

    def forward(self, a):
        return a[::-1].copy()

    def backward(self, g):
        return (g,)


def test_gradcheck_names_input_and_element_of_a_wrong_backward(rng):
    x = leaf(rng.standard_normal((3, 4)))
    with pytest.raises(mt.GradcheckError, match=r"gradcheck: input 0 \(shape \(3, 4\)\), element \(1, 2\): "
                                                r"analytic .* vs numeric"):
        mt.gradcheck(lambda t: apply(WrongSquare(), t), [x])
    assert issubclass(mt.GradcheckError, ValueError)


def test_gradcheck_names_the_second_input(rng):
    a, b = leaf(rng.standard_normal(3)), leaf(rng.uniform(1, 2, 3))
    with pytest.raises(mt.GradcheckError, match=r"input 1 \(shape \(3,\)\), element \(0,\)"):
        mt.gradcheck(lambda u, v: apply(WrongSecondInput(), u, v), [a, b])


def test_gradcheck_uses_a_random_upstream(rng):
    x = leaf(rng.standard_normal(4))
    fn = lambda t: apply(UnflippedBackward(), t)  # noqa: E731
    fn(x).sum().backward()  # an all-ones upstream cannot see the bug
    np.testing.assert_array_equal(x.grad, np.ones(4))
    with pytest.raises(mt.GradcheckError, match="input 0"):
        mt.gradcheck(fn, [x])


def test_gradcheck_passes_a_correct_function_and_restores_inputs(rng):
    x = leaf(rng.standard_normal((2, 3)))
    before = x.numpy().copy()
    assert mt.gradcheck(lambda t: (t * t).sum(axis=1), [x]) is True
    np.testing.assert_array_equal(x.numpy(), before)


# ----------------------------------------------------------------------------- gradients never alias
def test_gradients_do_not_alias_each_other_or_the_upstream(rng):
    """after (a + b).backward(g), a.grad and b.grad were the same array."""
    a, b = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))
    g = rng.standard_normal(3)
    (a + b).backward(g)
    arrays = [np.asarray(a.grad), np.asarray(b.grad), g]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(arrays[i], arrays[j]), (i, j)
    # the same through views and a retained intermediate: every gradient has its own memory
    c, d = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal(6))
    s = c + d.reshape(2, 3)
    s.retain_grad()
    s.backward(np.ones((2, 3)))
    arrays = [np.asarray(c.grad), np.asarray(d.grad), np.asarray(s.grad)]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(arrays[i], arrays[j]), (i, j)


# ----------------------------------------------------------------------------- in-place changes
def test_backward_refuses_a_saved_tensor_that_was_modified_in_place():
    """y = x * x saves x; changing x afterwards gave 2 * 100 instead of 2 * 1."""
    x = leaf([1.0])
    y = x * x
    x.data[...] = 100.0
    with pytest.raises(RuntimeError, match="a tensor needed for the gradient was modified in place"):
        y.backward(np.array([1.0]))
    assert x.grad is None


def test_gradcheck_default_tolerance_catches_a_gradient_wrong_by_a_thousandth(rng):
    """float64 central differences are good to ~1e-6; rtol=1e-3 let a 0.1% error through."""

    class SlightlyWrong(Function):
        __slots__ = ("a",)

        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return (2 * self.a * g * 1.001,)

    x = leaf(rng.uniform(0.5, 2.0, 4))
    with pytest.raises(mt.GradcheckError, match="input 0"):
        mt.gradcheck(lambda t: apply(SlightlyWrong(), t), [x])


@pytest.mark.parametrize("change", ["mul_ under no_grad", "data.mul_", "data[...] =", "view under no_grad",
                                    "copy_ under no_grad", "zero_ under no_grad"])
def test_every_in_place_path_to_a_saved_input_is_caught(change):
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    if change == "mul_ under no_grad":
        with mt.no_grad():
            x.mul_(100)
    elif change == "data.mul_":
        x.data.mul_(100)
    elif change == "data[...] =":
        x.data[...] = 100.0
    elif change == "view under no_grad":
        with mt.no_grad():
            x.view(2, 1)[0] = 5.0
    elif change == "copy_ under no_grad":
        with mt.no_grad():
            x.copy_(mt.tensor([3.0, 4.0], dtype=np.float64))
    else:
        with mt.no_grad():
            x.zero_()
    with pytest.raises(RuntimeError, match=r"a tensor needed for the gradient was modified in place \(saved by "
                                           r"Mul at version 0, now at version 1\)"):
        y.backward()


def test_in_place_change_to_a_saved_output_is_caught(rng):
    x = leaf(rng.standard_normal(3))
    y = x.exp()  # Exp keeps its output for backward
    z = y.sum()
    with mt.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified in place .saved by Exp"):
        z.backward()


def test_in_place_change_to_an_input_that_is_not_saved_is_fine(rng):
    x, c = leaf(rng.standard_normal(3)), mt.tensor(rng.standard_normal(3))
    y = (x + c).sum()  # Add keeps neither input
    c.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_optimizer_step_between_forward_and_backward_is_caught_and_the_usual_loop_is_not(rng):
    mt.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = mt.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    for _ in range(3):  # zero_grad, forward, backward, step: the graph of the last step is gone
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
    loss = net(x).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weights the graph saved, as PyTorch's in-place update does
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_in_place_on_a_leaf_that_requires_grad_is_refused_while_recording():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad cannot be changed in place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad"):
        x[0] = 3.0
    with pytest.raises(RuntimeError, match="zero_: a leaf tensor that requires grad"):
        x.zero_()
    y = (x * x).sum()
    assert x.tolist() == [1.0, 2.0]
    y.backward(retain_graph=True)  # nothing changed x
    with mt.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 3.0] and x.is_leaf and x.requires_grad
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_recorded_in_place_change_on_a_view_is_refused():
    """The base's graph would not see it (PyTorch rewrites the base's history; minitorch refuses)."""
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2
    v = h[1:]
    with pytest.raises(RuntimeError, match="mul_: this tensor shares memory with another"):
        v.mul_(3)
    assert h.tolist() == [2.0, 4.0, 6.0]


def test_in_place_change_records_on_the_tensor_and_keeps_retain_grad(rng):
    x = leaf(rng.standard_normal(3))
    h = x * 2
    h.retain_grad()
    before = h
    h.mul_(x)  # h = 2 x * x
    assert h is before and h.grad_fn.name == "Mul" and not h.is_leaf
    h.sum().backward()
    np.testing.assert_allclose(x.grad, 4 * x.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(h.grad, np.ones(3))


# ----------------------------------------------------------------------------- grad mode helpers
def test_set_grad_enabled_as_call_context_and_decorator():
    x = leaf([1.0])
    mt.set_grad_enabled(False)
    assert not mt.is_grad_enabled() and not (x * 2).requires_grad
    mt.set_grad_enabled(True)
    assert mt.is_grad_enabled()
    for train in (True, False):  # the tutorial's `with torch.set_grad_enabled(phase == "train"):`
        with mt.set_grad_enabled(train):
            assert (x * 2).requires_grad is train
        assert mt.is_grad_enabled()

    @mt.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert mt.is_grad_enabled() and not f(x).requires_grad and mt.is_grad_enabled()


def test_inference_mode_and_bare_decorators():
    x = leaf([1.0])
    with mt.inference_mode():
        assert not (x * 2).requires_grad
    with mt.inference_mode(False):
        assert (x * 2).requires_grad

    @mt.inference_mode
    def f(t):
        return t * 2

    @mt.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad and mt.is_grad_enabled()


def test_gradient_of_a_sum_over_a_size_1_dim_is_writable():
    """NumPy's broadcast_to gives a read-only view even when nothing is broadcast; .grad must be writable."""
    x = leaf(np.ones((3, 1)))
    x.sum(dim=1).sum().backward()
    x.grad.zero_()
    assert x.grad.tolist() == [[0.0]] * 3


# ------------------------------------------------------------------ saving for backward covers exactly what it reads
def test_a_dilated_conv_refuses_backward_after_its_weight_changed_in_place():
    """GeneralConv2d (dilation, groups...) saves its weight for the input gradient through the engine: an
    in-place change to the weight before backward would silently give a wrong gradient, so backward refuses."""
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((1, 2, 7, 7)), requires_grad=True)
    w = mt.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, dilation=2)
    assert type(y.grad_fn).__name__ == "GeneralConv2d"
    with mt.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"modified in place.*GeneralConv2d"):
        y.sum().backward()


def test_an_input_backward_does_not_read_may_change_in_place():
    """Linear with a frozen weight keeps only the weight (its input gradient is g @ W): changing the input in place
    afterwards is fine, and the gradient is the right one (the check is exactly what backward reads)."""
    rng = np.random.default_rng(1)
    leaf = mt.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w = mt.tensor(rng.standard_normal((3, 5)))
    h = leaf * 1.0
    y = F.linear(h, w)
    h.mul_(3.0)  # recorded in place on h, which Linear did not save
    upstream = rng.standard_normal((4, 3))
    y.backward(mt.tensor(upstream))
    np.testing.assert_allclose(leaf.grad.numpy(), upstream @ w.numpy(), rtol=1e-12)
