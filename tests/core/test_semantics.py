"""PyTorch's semantics where they are not a value to compare: the array invariant of every Tensor, in-place
changes of 0-d results, Tensor.__index__, set_grad_enabled's argument, the broadcast-MSE warning, and the
one-line errors for misuse (each naming the argument)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F


def esc(text: str) -> str:
    return re.escape(text)


# ----------------------------------------------------------------------------- 0-d tensors hold 0-d arrays
def test_every_tensor_holds_an_array_even_a_0d_one():
    x = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = mt.tensor(2.0, requires_grad=True)
    results = [x.sum(), x.mean(), x.amax(), s * 3, s + s, -s, s ** 2, (s * x).sum() / 2, x[1], x.max(0).values]
    for r in results:
        assert type(r._data) is np.ndarray and r._data.ndim == 0, type(r._data)
    (s * s).backward()
    (s * s).backward()  # a second backward accumulates into the 0-d gradient
    assert type(s.grad._data) is np.ndarray and s.grad.item() == 8.0
    assert type(s.grad.data._data) is np.ndarray


def test_zero_grad_without_none_zeros_a_0d_gradient_in_place():
    w = mt.tensor(1.5, requires_grad=True)
    opt = mt.optim.SGD([w], lr=0.1)
    (w * w).backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.item() == 0.0
    (w * 4).backward()
    assert w.grad.item() == 4.0


def test_in_place_ops_on_0d_results():
    x = mt.tensor([1.0, 2.0])
    t = x.sum()
    t += 1
    t.mul_(2)
    t[...] = t * 3
    assert t.item() == 24.0
    t.copy_(mt.tensor(5.0))
    t.zero_()
    assert t.item() == 0.0


def test_relu_of_a_0d_result_runs_on_the_host():
    w = mt.tensor(-2.0, requires_grad=True)
    y = F.relu(w * 3 + 10)
    (y * y).backward()  # the upstream gradient of a 0-d product
    assert y.item() == 4.0 and w.grad.item() == 24.0


def test_iterating_a_0d_tensor_is_a_type_error():
    # Python's fallback iteration (through __getitem__) would yield nothing: a loop over a loss would sum to 0
    loss = mt.tensor(2.5)
    with pytest.raises(TypeError, match=esc("iteration over a 0-d tensor")):
        iter(loss)
    with pytest.raises(TypeError, match=esc("iteration over a 0-d tensor")):
        list(mt.ones(2).sum())
    rows = list(mt.arange(6.0).reshape(2, 3))  # one dimension or more: its sub-tensors, as before
    assert [r.tolist() for r in rows] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and list(mt.zeros(0, 2)) == []


# ----------------------------------------------------------------------------- Tensor.__index__
def test_integer_tensors_index_python_sequences():
    classes = ("plane", "car", "bird")
    labels = mt.tensor([2, 0])
    assert [classes[labels[j]] for j in range(2)] == ["bird", "plane"]
    assert classes[mt.tensor([1])] == "car" and list(range(5))[mt.tensor(True)] == 1
    for bad in (mt.tensor(1.0), mt.tensor([0, 1])):
        with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
            classes[bad]


# ----------------------------------------------------------------------------- grad mode
@pytest.mark.parametrize("mode", ["no", 0, None, np.bool_(False)], ids=repr)
def test_set_grad_enabled_refuses_anything_but_a_bool(mode):
    before = mt.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool"):
        mt.set_grad_enabled(mode)
    assert mt.is_grad_enabled() == before


# ----------------------------------------------------------------------------- losses
def test_mse_with_a_broadcast_target_warns_like_pytorch():
    with pytest.warns(UserWarning, match=esc("Using a target size ((2, 1)) that is different to the input size "
                                             "((3,)). This will likely lead to incorrect results")):
        F.mse_loss(mt.ones(3), mt.zeros(2, 1))


def test_cross_entropy_probabilities_refuse_ignore_index():
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported for class-probability"):
        F.cross_entropy(mt.ones(2, 3), mt.ones(2, 3) / 3, ignore_index=1)


# ----------------------------------------------------------------------------- misuse: one clear line each
def test_dim_out_of_range_is_an_index_error_with_the_range():
    with pytest.raises(IndexError, match=esc("softmax: dim 5 is out of range for a tensor of 2 dimensions "
                                             "(expected to be in range of [-2, 1])")):
        F.softmax(mt.ones(2, 3), dim=5)
    with pytest.raises(ValueError, match=esc("(expected to be in range of [-1, 0])")):  # also a ValueError
        mt.tensor(2.0).sum(1)
    with pytest.raises(IndexError, match=esc("max: cannot reduce dim 0 of the tensor of shape (0, 3): it is empty")):
        mt.zeros(0, 3).amax(0)


@pytest.mark.parametrize("value", [np.ones(4), [1.0, 2.0, 3.0, 4.0]], ids=["ndarray", "list"])
def test_linear_on_a_non_tensor(value):
    with pytest.raises(TypeError, match=f"linear: input must be a Tensor, got {type(value).__name__}; convert it"):
        nn.Linear(4, 3)(value)


def test_random_split_refuses_a_generator_that_is_not_one():
    data = mt.data.TensorDataset(mt.ones(10))
    with pytest.raises(TypeError, match="random_split: generator must be a numpy.random.Generator .* got int 5"):
        mt.data.random_split(data, [5, 5], generator=5)


def test_parameter_groups_need_params_and_valid_hyperparameters():
    p = nn.Parameter(mt.ones(2))
    with pytest.raises(ValueError, match=esc("SGD: parameter group 0 has no 'params'; a group is a dict like")):
        mt.optim.SGD([{"lr": 0.1}])
    with pytest.raises(TypeError, match="SGD: a parameter group must be a dict, got list"):
        mt.optim.SGD([p]).add_param_group([p])
    for opt in (mt.optim.Adam, mt.optim.RMSprop, mt.optim.SGD):
        with pytest.raises(ValueError, match=f"{opt.__name__}: invalid lr -1; it must be finite, >= 0"):
            opt([{"params": [p], "lr": -1}])
    adam = mt.optim.Adam([p])
    with pytest.raises(ValueError, match="Adam: invalid eps -1e-08; it must be finite, >= 0"):
        adam.add_param_group({"params": [nn.Parameter(mt.ones(1))], "eps": -1e-8})
    assert len(adam.param_groups) == 1


@pytest.mark.parametrize("gamma", [-1, float("nan"), "0.5"], ids=repr)
def test_exponential_lr_refuses_a_negative_gamma(gamma):
    opt = mt.optim.SGD([nn.Parameter(mt.ones(2))], lr=0.1)
    with pytest.raises((ValueError, TypeError), match="ExponentialLR: .*gamma"):
        mt.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
    assert opt.param_groups[0]["lr"] == 0.1


def test_comparisons_with_non_numbers_keep_numpy_answers_and_other_dtypes_are_refused():
    x = mt.tensor([0.1, 2.0])
    assert (x == None).tolist() == [False, False]  # noqa: E711 - the operator under test
    assert (x == [0.5, 2.0]).tolist() == [False, True]
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        x + np.array([1j, 2])
