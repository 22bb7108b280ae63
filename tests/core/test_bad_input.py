"""Bad input raises ValueError/TypeError (or a subclass) whose message names the operation and the shapes,
dtypes or keys involved -- and a failed operation changes nothing."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.optim.lr_scheduler import StepLR


def esc(text: str) -> str:
    return re.escape(text)


_RNG = np.random.default_rng(0)


def f32(shape, rng=_RNG):
    return mt.tensor(rng.standard_normal(shape).astype(np.float32))


# ----------------------------------------------------------------------------- shapes
def test_linear_shape_mismatch():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=esc("linear: input of shape (2, 5) does not match weight of shape (3, 4)")):
        layer(f32((2, 5)))
    with pytest.raises(ValueError, match=esc("linear: bias of shape (4,) does not match weight of shape (3, 4)")):
        F.linear(f32((2, 4)), layer.weight, f32((4,)))


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match=esc("matmul: shapes (2, 3) and (4, 5) do not align (3 != 4)")):
        f32((2, 3)) @ f32((4, 5))
    with pytest.raises(ValueError, match=esc("matmul: shapes (2, 3, 4) and (3,) do not align")):
        f32((2, 3, 4)) @ f32((3,))
    with pytest.raises(ValueError, match=r"matmul: operands must be at least 1-D, got shapes \(\) and \(3,\)"):
        f32(()) @ f32((3,))


def test_conv2d_input_not_3d_or_4d():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=esc("conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                                             "(3, 8)")):
        conv(f32((3, 8)))


def test_conv2d_wrong_channel_count():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=esc("conv2d: input of shape (1, 2, 8, 8) has 2 channels but weight of "
                                             "shape (4, 3, 3, 3) expects 3")):
        conv(f32((1, 2, 8, 8)))


def test_conv2d_input_smaller_than_kernel():
    with pytest.raises(ValueError, match=esc("conv2d: input of shape (1, 1, 3, 3) is smaller than the kernel 5x5")):
        nn.Conv2d(1, 1, 5)(f32((1, 1, 3, 3)))


def test_conv_and_pool_reject_bad_hyperparameters():
    with pytest.raises(TypeError, match=esc("Conv2d: kernel_size must be an int or a pair of ints, got (3, 5, 2)")):
        nn.Conv2d(1, 1, (3, 5, 2))
    with pytest.raises(ValueError, match="Conv2d: stride must be positive, got 0"):
        nn.Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match="max_pool2d: padding 2 must be at most half the kernel size 3"):
        nn.MaxPool2d(3, padding=2)(f32((1, 1, 6, 6)))
    with pytest.raises(ValueError, match=esc("max_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                                             "shape (6, 6)")):
        nn.MaxPool2d(2)(f32((6, 6)))
    with pytest.raises(ValueError, match=esc("max_pool2d: input of shape (1, 1, 2, 2) is smaller than the 3x3")):
        nn.MaxPool2d(3)(f32((1, 1, 2, 2)))


def test_batchnorm_feature_count():
    with pytest.raises(ValueError, match=esc("BatchNorm1d(4): input of shape (2, 3) has 3 features")):
        nn.BatchNorm1d(4)(f32((2, 3)))
    with pytest.raises(ValueError, match=esc("BatchNorm2d(3): input of shape (2, 5, 4, 4) has 5 features")):
        nn.BatchNorm2d(3)(f32((2, 5, 4, 4)))
    with pytest.raises(ValueError, match=esc("BatchNorm2d: expected a 4-D input, got shape (2, 3, 4)")):
        nn.BatchNorm2d(3)(f32((2, 3, 4)))
    with pytest.raises(ValueError, match=esc("BatchNorm1d: expected a 2 or 3-D input, got shape (2, 3, 4, 4)")):
        nn.BatchNorm1d(3)(f32((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=esc("batch_norm: input of shape (2, 3) has 3 features but weight has "
                                             "shape (4,)")):
        F.batch_norm(f32((2, 3)), None, None, f32((4,)), f32((4,)), training=True)


def test_batchnorm_training_needs_more_than_one_value():
    bn = nn.BatchNorm1d(3)
    before = bn.running_mean.numpy().copy()
    with pytest.raises(ValueError, match=esc("batch_norm: training needs more than 1 value per channel, got input "
                                             "(1, 3)")):
        bn(f32((1, 3)))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)


def test_cross_entropy_target_out_of_range():
    logits = f32((4, 3))
    with pytest.raises(ValueError, match="cross_entropy: target 5 is out of range for 3 classes"):
        F.cross_entropy(logits, mt.tensor(np.array([0, 1, 5, 2])))
    with pytest.raises(ValueError, match="cross_entropy: target -1 is out of range for 3 classes"):
        nn.CrossEntropyLoss()(logits, mt.tensor(np.array([0, -1, 1, 2])))
    with pytest.raises(ValueError, match="cross_entropy: target 3 is out of range for 3 classes"):
        F.cross_entropy(logits, mt.tensor(np.array([3, 3, 3, 3])))


def test_cross_entropy_target_wrong_dtype_or_shape():
    logits = f32((4, 3))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices, got dtype float32"):
        F.cross_entropy(logits, f32((4,)))
    with pytest.raises(ValueError, match=esc("cross_entropy: target of shape (4, 1) does not match logits of shape "
                                             "(4, 3)")):
        F.cross_entropy(logits, mt.tensor(np.zeros((4, 1), dtype=np.int64)))
    with pytest.raises(ValueError, match=esc("cross_entropy: target of shape (3,) does not match logits of shape "
                                             "(4, 3)")):
        F.cross_entropy(logits, mt.tensor(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=esc("cross_entropy: target of shape (2,) does not match input of shape "
                                             "(2, 3, 4); expected class indices of shape (2, 4) or probabilities")):
        F.cross_entropy(f32((2, 3, 4)), mt.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be one of .* got 'avg'"):
        F.cross_entropy(logits, mt.tensor(np.array([0, 1, 2, 0])), reduction="avg")


def test_mse_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=esc("mse_loss: input of shape (2, 3) and target of shape (3, 2) do not "
                                             "broadcast together")):
        F.mse_loss(f32((2, 3)), f32((3, 2)))
    with pytest.raises(ValueError, match=esc("mse_loss: input of shape (2, 3) and target of shape (2,) do not")):
        nn.MSELoss()(f32((2, 3)), f32((2,)))


def test_shape_ops_bad_arguments():
    t = f32((2, 3))
    with pytest.raises(ValueError, match=esc("reshape: cannot reshape a tensor of shape (2, 3) into (4,)")):
        t.reshape(4)
    with pytest.raises(ValueError, match="sum: dim 2 is out of range for a tensor of 2 dimensions"):
        t.sum(axis=2)
    with pytest.raises(ValueError, match="max: dim -3 is out of range for a tensor of 2 dimensions"):
        t.max(dim=-3)
    with pytest.raises(ValueError, match=esc("transpose: axes (0, 0) are not a permutation for shape (2, 3)")):
        t.permute(0, 0)
    with pytest.raises(ValueError, match=esc("flatten: start_dim 1 comes after end_dim 0 for shape (2, 3)")):
        t.flatten(1, 0)
    with pytest.raises(ValueError, match=esc("item: only one-element tensors convert to a Python number, got "
                                             "shape (2, 3)")):
        t.item()


# ----------------------------------------------------------------------------- dtypes
def test_int_input_to_linear():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="linear: input has dtype int64; expected a floating-point tensor"):
        layer(mt.tensor(np.arange(6).reshape(2, 3)))


def test_float32_input_with_float64_weights():
    layer = nn.Linear(3, 2).to(np.float64)
    with pytest.raises(TypeError, match=esc("linear: dtypes differ (input float32, weight float64, bias float64)")):
        layer(f32((2, 3)))
    conv = nn.Conv2d(1, 2, 3).double()
    with pytest.raises(TypeError, match=esc("conv2d: dtypes differ (input float32, weight float64, bias float64)")):
        conv(f32((1, 1, 4, 4)))
    bn = nn.BatchNorm1d(3).double()
    with pytest.raises(TypeError, match=esc("batch_norm: dtypes differ (input float32, weight float64, "
                                            "bias float64)")):
        bn(f32((4, 3)))


def test_requires_grad_on_int_tensor():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, not dtype int64"):
        mt.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, not dtype bool"):
        mt.tensor(np.array([True, False])).requires_grad_()


def test_unsupported_dtypes():
    with pytest.raises(TypeError, match="set_default_dtype: dtype int64 is not supported; use float32 or float64"):
        mt.set_default_dtype(np.int64)
    assert mt.get_default_dtype() == np.float32
    with pytest.raises(TypeError, match="tensor: unsupported dtype <U"):
        mt.tensor(["a", "b"])
    with pytest.raises(TypeError, match="Module.to: dtype float16 is not supported"):
        nn.Linear(2, 2).to(np.float16)
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype float32; use float64"):
        mt.gradcheck(lambda t: t * 2, [mt.tensor([1.0], dtype=np.float32, requires_grad=True)])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        mt.gradcheck(lambda t: t * 2, [mt.tensor([1.0], dtype=np.float64)])


# ----------------------------------------------------------------------------- autograd misuse
def test_backward_non_scalar_without_gradient():
    x = mt.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match=esc("backward: grad can be implicit only for a scalar output, got shape "
                                             "(2, 3)")):
        y.backward()
    with pytest.raises(ValueError, match=esc("backward: gradient shape (3, 2) does not match output shape (2, 3)")):
        y.backward(np.ones((3, 2)))
    assert x.grad is None
    y.backward(np.ones((2, 3)))  # the graph is still usable after the failed calls
    np.testing.assert_array_equal(x.grad, 2 * np.ones((2, 3)))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="backward: the tensor does not require grad"):
        (mt.tensor([1.0]) * 2).sum().backward()


# ----------------------------------------------------------------------------- state dicts
def two_layer():
    mt.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def snapshot(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def fresh_state(model):
    return {k: np.full(v.shape, 7.0) for k, v in snapshot(model).items()}


def test_load_state_dict_missing_keys_changes_nothing():
    model = two_layer()
    before = snapshot(model)
    state = fresh_state(model)
    del state["1.running_var"], state["0.bias"]
    with pytest.raises(ValueError, match=esc("load_state_dict into Sequential: missing keys ['0.bias', "
                                             "'1.running_var'], unexpected keys []")):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_extra_keys_changes_nothing():
    model = two_layer()
    before = snapshot(model)
    state = fresh_state(model)
    state["2.weight"] = np.ones(3)
    with pytest.raises(ValueError, match=esc("missing keys [], unexpected keys ['2.weight']")):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_wrong_shape_changes_nothing():
    model = two_layer()
    before = snapshot(model)
    state = fresh_state(model)
    state["1.running_mean"] = np.ones(5)  # after several good entries
    with pytest.raises(ValueError, match=esc("load_state_dict into Sequential: '1.running_mean' has shape (5,) in "
                                             "the state dict but (4,) in the module")):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_non_strict_reports_keys():
    model = two_layer()
    state = fresh_state(model)
    del state["0.bias"]
    state["extra"] = np.ones(2)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.numpy(), 7.0)
    assert not np.all(model[0].bias.numpy() == 7.0)


def test_optimizer_load_state_dict_mismatch():
    a = nn.Linear(2, 2)
    opt = mt.optim.SGD(a.parameters(), lr=0.1, momentum=0.9)
    other = mt.optim.SGD([a.weight], lr=0.1)
    with pytest.raises(ValueError, match=esc("SGD.load_state_dict: the saved groups [1] do not match this "
                                             "optimizer's [2] parameters per group")):
        opt.load_state_dict(other.state_dict())



def test_another_optimizers_state_dict_is_refused_and_changes_nothing():
    model = nn.Linear(3, 2)
    adam = mt.optim.Adam(model.parameters(), lr=0.01)
    model(mt.randn(4, 3)).sum().backward()
    adam.step()
    sgd = mt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = sgd.state_dict()
    with pytest.raises(ValueError, match=esc("SGD.load_state_dict: saved group 0 has hyper-parameters ['amsgrad', "
                                             "'betas', 'decoupled_weight_decay', 'eps'] that SGD does not, and "
                                             "lacks its ['dampening', 'momentum', 'nesterov']")):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.state_dict() == before and sgd.param_groups[0]["momentum"] == 0.9


def test_an_older_or_annotated_state_dict_of_the_same_optimizer_still_loads():
    model = nn.Linear(3, 2)
    opt = mt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    StepLR(opt, step_size=2)  # adds initial_lr to the group
    annotated, older = opt.state_dict(), opt.state_dict()
    annotated["param_groups"][0]["name"] = "all"   # a key of the user's own: carried over, as in PyTorch
    del older["param_groups"][0]["maximize"]       # a checkpoint from before a hyper-parameter existed
    for saved in (annotated, older):
        fresh = mt.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
        fresh.load_state_dict(saved)
        group = fresh.param_groups[0]
        assert (group["lr"], group["momentum"], group["maximize"], group["initial_lr"]) == (0.1, 0.9, False, 0.1)
        assert group.get("name") == saved["param_groups"][0].get("name")


# ----------------------------------------------------------------------------- optimizers and containers
def test_optimizer_and_scheduler_arguments():
    params = list(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="SGD: invalid lr -0.1; it must be finite, >= 0"):
        mt.optim.SGD(params, lr=-0.1)
    with pytest.raises(ValueError, match="SGD: nesterov momentum needs momentum > 0 and dampening = 0"):
        mt.optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        mt.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameters must be Tensors, got ndarray"):
        mt.optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be positive, got 0"):
        StepLR(mt.optim.SGD(params, lr=0.1), step_size=0)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="Sequential: argument 1 is a function, not a Module"):
        nn.Sequential(nn.ReLU(), F.relu)


# ----------------------------------------------------------------------------- files
def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.ckpt"
    with pytest.raises(FileNotFoundError, match=f"load: no such file {esc(str(path))}"):
        mt.load(path)


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint", b"PK\x03\x04 truncated zip"],
                         ids=["empty", "text", "truncated-zip"])
def test_load_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    with pytest.raises(mt.SerializationError, match=f"load: {esc(str(path))} is damaged or not a minitorch "
                                                    "checkpoint"):
        mt.load(path)
    assert issubclass(mt.SerializationError, ValueError)


def test_load_truncated_checkpoint(tmp_path):
    path = tmp_path / "model.ckpt"
    mt.save({"w": mt.tensor(np.arange(1000.0))}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(mt.SerializationError, match="is damaged or not a minitorch checkpoint"):
        mt.load(path)


def test_load_npz_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(mt.SerializationError, match=f"load: {esc(str(path))} is an .npz file but not a minitorch "
                                                    "checkpoint"):
        mt.load(path)


def test_load_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(3))
    with pytest.raises(mt.SerializationError, match="not a minitorch checkpoint"):
        mt.load(path)


def test_save_unsupported_object_leaves_no_file(tmp_path):
    path = tmp_path / "x.ckpt"
    with pytest.raises(TypeError, match="save: cannot store an object of type object"):
        mt.save({"a": object()}, path)
    with pytest.raises(TypeError, match="save: dict keys must be str or int, got tuple"):
        mt.save({(1, 2): 3}, path)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- misuse fails at the call
@pytest.mark.parametrize("kwargs,error,message", [
    (dict(lr=float("nan")), ValueError, "SGD: invalid lr nan; it must be finite, >= 0"),
    (dict(lr=0.1, momentum=float("inf")), ValueError, "SGD: invalid momentum inf; it must be finite, >= 0"),
    (dict(lr="0.1"), TypeError, "SGD: lr must be a number, got str '0.1'"),
    (dict(lr=0.1, weight_decay=-1e-4), ValueError, "SGD: invalid weight_decay -0.0001; it must be finite, >= 0"),
    (dict(lr=0.1, dampening=None), TypeError, "SGD: dampening must be a number, got NoneType None"),
    (dict(lr=True), TypeError, "SGD: lr must be a number, got bool True"),
], ids=["lr-nan", "momentum-inf", "lr-str", "weight_decay-negative", "dampening-None", "lr-bool"])
def test_sgd_hyperparameters_are_checked_at_construction(kwargs, error, message):
    params = list(nn.Linear(2, 2).parameters())
    with pytest.raises(error, match=esc(message)):
        mt.optim.SGD(params, **kwargs)


def test_sgd_param_group_hyperparameters_are_checked_and_a_refused_group_is_not_kept():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = mt.optim.SGD(a.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=esc("SGD: invalid lr -inf; it must be finite, >= 0")):
        opt.add_param_group({"params": b.parameters(), "lr": float("-inf")})
    assert len(opt.param_groups) == 1
    with pytest.raises(TypeError, match=esc("SGD: momentum must be a number, got str '0.9'")):
        mt.optim.SGD([{"params": a.parameters(), "momentum": "0.9"}], lr=0.1)


@pytest.mark.parametrize("factory", ["randn", "rand", "zeros", "ones"])
def test_factory_sizes_must_be_ints(factory):
    make = getattr(mt, factory)
    with pytest.raises(TypeError, match=esc(f"{factory}: size must be ints, got 2.5 (float) at position 0")):
        make(2.5)
    with pytest.raises(TypeError, match=esc(f"{factory}: size must be ints, got '3' (str) at position 1")):
        make((2, "3"))
    with pytest.raises(ValueError, match=esc(f"{factory}: size must be >= 0, got -1 at position 0")):
        make(-1, 2)
    assert make(np.int64(2), 3).shape == (2, 3)


def test_converting_a_tensor_that_requires_grad_to_an_integer_dtype():
    x = mt.tensor([1.5, 2.5], requires_grad=True)
    with pytest.raises(TypeError, match=esc("to: cannot convert a tensor that requires grad to int64, which "
                                            "carries no gradient; use .detach().to(int64)")):
        x.to(mt.int64)
    with pytest.raises(TypeError, match="to: cannot convert a tensor that requires grad to int64"):
        x.long()
    assert x.detach().to(mt.int64).tolist() == [1, 2]
    with mt.no_grad():
        assert x.long().dtype == np.int64
    with pytest.raises(TypeError, match="to: 'float128x' is neither a dtype nor a device"):
        x.to("float128x")


def test_transpose_dims_out_of_range():
    t = f32((1, 2, 3, 4))
    with pytest.raises(ValueError, match="transpose: dim1 4 is out of range for a tensor of 4 dimensions"):
        t.transpose(0, 4)
    with pytest.raises(ValueError, match="transpose: dim0 -5 is out of range for a tensor of 4 dimensions"):
        t.transpose(-5, 1)
    with pytest.raises(TypeError, match="transpose: dim must be an int, got float"):
        t.transpose(0, 1.0)
    assert t.transpose(-1, 0).shape == (4, 2, 3, 1)


def test_other_dims_out_of_range():
    t = f32((2, 3))
    with pytest.raises(ValueError, match="unsqueeze: dim 3 is out of range for a tensor of 2 dimensions"):
        t.unsqueeze(3)
    with pytest.raises(ValueError, match="max: dim 2 is out of range for a tensor of 2 dimensions"):
        t.max(2)
    with pytest.raises(TypeError, match="max: dim must be an int, got tuple; "):
        t.max((0, 1))
    with pytest.raises(TypeError, match="max: keepdim goes with an int dim, not with a second tensor"):
        mt.max(t, t, True)  # max(a, b) is elementwise, as in PyTorch, and has no keepdim
    with pytest.raises(TypeError, match="cannot combine a Tensor with a max of Tensors; for max/min along a dim, "
                                        "take .values"):
        t.max(1) + t[:, 0]  # code written for the old values-only max
    with pytest.raises(ValueError, match=esc("cat: tensor 1 has shape (2, 4), which does not match tensor 0's "
                                             "shape (2, 3) outside dim 0")):
        mt.cat([t, f32((2, 4))])
    with pytest.raises(ValueError, match="cat: dim 2 is out of range for 2 dimensions"):
        mt.cat([t, t], dim=2)
    with pytest.raises(TypeError, match=esc("cat: tensors[1] is a ndarray, not a Tensor")):
        mt.cat([t, np.zeros((2, 3))])
    with pytest.raises(TypeError, match="stack: tensors must be a list or tuple of Tensors, got Tensor"):
        mt.stack(t)
    with pytest.raises(ValueError, match=esc("stack: tensor 1 has shape (3, 2) but tensor 0 has shape (2, 3)")):
        mt.stack([t, f32((3, 2))])
    with pytest.raises(ValueError, match="norm: p must be a number > 0 .or inf, or 'fro'., got 'nuc'"):
        t.norm("nuc")


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.Linear(np.zeros((3, 4)), 2), TypeError, "Linear: in_features must be an int, got ndarray"),
    (lambda: nn.Linear(4, 2.0), TypeError, "Linear: out_features must be an int, got float"),
    (lambda: nn.Linear(0, 2), ValueError, "Linear: in_features must be at least 1, got 0"),
    (lambda: nn.Linear(3, -1), ValueError, "Linear: out_features must be at least 1, got -1"),
    (lambda: nn.Conv2d(0, 4, 3), ValueError, "Conv2d: in_channels must be at least 1, got 0"),
    (lambda: nn.Conv2d(3, 0, 3), ValueError, "Conv2d: out_channels must be at least 1, got 0"),
    (lambda: nn.Conv2d(f32((1, 3, 8, 8)), 4, 3), TypeError, "Conv2d: in_channels must be an int, got Tensor"),
], ids=["linear-ndarray", "linear-float", "linear-0", "linear-negative", "conv-0-in", "conv-0-out", "conv-tensor"])
def test_layer_sizes(make, error, message):
    with pytest.raises(error, match=esc(message)):
        make()


def test_optimizer_state_dict_from_another_model_is_refused_and_changes_nothing(rng):
    small = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    other = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2))  # same parameter count, other shapes
    opt = mt.optim.SGD(small.parameters(), lr=0.1, momentum=0.9)
    donor = mt.optim.SGD(other.parameters(), lr=0.5, momentum=0.9)
    other(mt.tensor(rng.standard_normal((2, 5)).astype(np.float32))).sum().backward()
    donor.step()
    with pytest.raises(ValueError, match=esc("SGD.load_state_dict: state 'momentum_buffer' of parameter 0 has "
                                             "shape (4, 5), but the parameter has shape (4, 3); is the state dict "
                                             "from another model?")):
        opt.load_state_dict(donor.state_dict())
    assert opt.state == {} and opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="SGD.load_state_dict: expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict(small.state_dict())


# ----------------------------------------------------------------------------- round 3 (a probe of bad input)
@pytest.mark.parametrize("call,message", [
    (lambda: f32((2, 3)).flatten(1, 3), "flatten: dim 3 is out of range for a tensor of 2 dimensions"),
    (lambda: f32((2, 3)).flatten(5), "flatten: dim 5 is out of range for a tensor of 2 dimensions"),
    (lambda: nn.Flatten()(f32((3,))), "flatten: dim 1 is out of range for a tensor of 1 dimensions"),
    (lambda: nn.Flatten(2, 5)(f32((2, 3, 4))), "flatten: dim 5 is out of range for a tensor of 3 dimensions"),
    (lambda: mt.flatten(f32(()), 1), "flatten: dim 1 is out of range for a tensor of 0 dimensions"),
], ids=["end-dim", "start-dim", "Flatten-1d", "Flatten-end", "0-d"])
def test_flatten_dims_out_of_range(call, message):
    """They were taken modulo the rank: flatten(1, 3) of a 2-D tensor silently merged nothing."""
    with pytest.raises(IndexError, match=esc(message)):
        call()
    assert f32(()).flatten().shape == (1,) and f32((2, 3, 4)).flatten(-2).shape == (2, 12)


def test_reshape_refuses_negative_sizes_other_than_minus_one():
    with pytest.raises(ValueError, match=esc("reshape: invalid size -2 in shape (-2, 3); only -1 may be negative")):
        f32((2, 3)).reshape(-2, 3)  # NumPy read it as -1
    assert f32((2, 3)).reshape(-1, 3).shape == (2, 3)


def test_tensor_of_none_is_refused():
    with pytest.raises(TypeError, match="tensor: data is None"):
        mt.tensor(None)  # was a NaN
    with pytest.raises(TypeError, match="tensor: cannot make a tensor from list: could not infer dtype of None"):
        mt.tensor([1.0, None])


def test_layer_and_group_norm_check_weight_shape_and_dtype():
    with pytest.raises(ValueError, match=esc("group_norm: input of shape (2, 6, 3) needs a weight of shape (6,), "
                                             "got (4,)")):
        nn.GroupNorm(2, 4)(f32((2, 6, 3)))  # failed inside a reshape of the weight
    with pytest.raises(ValueError, match=esc("layer_norm: input of shape (2, 4) needs a bias of shape (4,), got (2,)")):
        F.layer_norm(f32((2, 4)), 4, f32((4,)), f32((2,)))
    x64 = mt.tensor(np.ones((2, 4)))
    with pytest.raises(TypeError, match=esc("layer_norm: dtypes differ (input float64, weight float32, bias float32)")):
        nn.LayerNorm(4)(x64)  # the result was silently float64
    with pytest.raises(TypeError, match=esc("group_norm: dtypes differ (input float64, weight float32")):
        nn.GroupNorm(2, 4)(x64)
    assert nn.LayerNorm(4).double()(x64).dtype == np.float64


def test_1d_layers_name_the_1d_shapes():
    """The errors came from the conv2d/pool2d the 1-D layers run, naming their (N, C, 1, L) planes."""
    with pytest.raises(ValueError, match=esc("conv1d: input of shape (2, 5, 8) has 5 channels but weight of shape "
                                             "(4, 3, 3) expects 3")):
        nn.Conv1d(3, 4, 3)(f32((2, 5, 8)))
    with pytest.raises(ValueError, match=esc("conv1d: input of shape (2, 3, 2) is shorter than the kernel 3")):
        nn.Conv1d(3, 4, 3)(f32((2, 3, 2)))
    with pytest.raises(ValueError, match=esc("avg_pool1d: input of shape (2, 3, 1) is shorter than the window 2")):
        nn.AvgPool1d(2)(f32((2, 3, 1)))
    with pytest.raises(ValueError, match=esc("max_pool1d: input of shape (3, 2) is shorter than the window 3")):
        nn.MaxPool1d(3)(f32((3, 2)))
    assert nn.Conv1d(3, 4, 3, padding="same")(f32((1, 3, 2))).shape == (1, 4, 2)


def test_binary_cross_entropy_targets():
    p = mt.tensor(np.array([0.2, 0.5, 0.5], np.float32))
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(p, mt.tensor(np.array([0.0, 2.0, 1.0], np.float32)))  # gave a loss
    with pytest.raises(TypeError, match="binary_cross_entropy: target must be a floating-point tensor of "
                                        "probabilities, got dtype int64"):
        F.binary_cross_entropy(p, mt.tensor(np.array([0, 1, 1])))  # gave a float64 loss
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: target must be a floating-point"):
        nn.BCEWithLogitsLoss()(p, mt.tensor(np.array([0, 1, 1])))
    with pytest.raises(ValueError, match=esc("binary_cross_entropy_with_logits: pos_weight of shape (2,) does not "
                                             "broadcast to the input's shape (3,)")):
        F.binary_cross_entropy_with_logits(p, p, pos_weight=mt.ones(2))  # NumPy's error, from inside the op
    with pytest.raises(ValueError, match=esc("binary_cross_entropy: weight of shape (2, 3) does not broadcast to "
                                             "the input's shape (3,)")):
        F.binary_cross_entropy(p, p, weight=mt.ones(2, 3), reduction="sum")  # a loss summed over a (2, 3)


def test_optimizer_params_given_as_one_tensor_or_twice():
    w = nn.Parameter(mt.ones(2, 3))
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Tensors or of dicts .parameter groups., "
                                        "got a Parameter; wrap it in a list"):
        mt.optim.SGD(w, lr=0.1)  # said "can only optimise leaf tensors" (list() gave its rows)
    with pytest.raises(TypeError, match="Adam: params must be an iterable .* got a dict"):
        mt.optim.Adam({"params": [w]}, lr=0.1)
    with pytest.raises(ValueError, match=esc("Adam: parameter group 0 lists a parameter twice, at positions 0 and 2 "
                                             "(shape (2, 3))")):
        mt.optim.Adam([w, nn.Parameter(mt.ones(1)), w], lr=0.1)  # Adam stepped it twice, SGD once


def test_load_state_dict_refuses_non_dicts_and_non_numbers_and_changes_nothing():
    model = two_layer()
    before = snapshot(model)
    with pytest.raises(TypeError, match="load_state_dict into Sequential: expected a dict of tensors by name .as "
                                        "state_dict.. gives., got Sequential"):
        model.load_state_dict(two_layer())
    state = fresh_state(model)
    state["1.num_batches_tracked"] = None  # the last entry: the others were copied before the error
    with pytest.raises(TypeError, match="load_state_dict into Sequential: '1.num_batches_tracked' is a NoneType of "
                                        "dtype object in the state dict; expected numbers"):
        model.load_state_dict(state)
    assert_unchanged(model, before)
    state["1.num_batches_tracked"] = np.array(3)
    state["0.weight"] = "abc"
    with pytest.raises(TypeError, match="'0.weight' is a str of dtype <U3"):  # said "has shape ()"
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_register_buffer_and_train_arguments():
    m = nn.Module()
    with pytest.raises(KeyError, match="register_buffer: buffer name must be a non-empty string without '.', got "
                                       "'a.b'"):
        m.register_buffer("a.b", mt.ones(2))
    with pytest.raises(TypeError, match="Module: buffer 'c' must be a Tensor, got int"):
        m.register_buffer("c", 3)
    assert m._buffer_names == ()  # the refused names were registered before
    with pytest.raises(ValueError, match="Linear.train: mode must be a bool, got 'no'"):
        nn.Linear(2, 2).train("no")


def test_init_refuses_integer_tensors_and_negative_std():
    ints = mt.tensor(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="uniform_: tensor has dtype int64; random initialisation needs a "
                                        "floating-point tensor"):
        nn.init.uniform_(ints)  # filled it with zeros
    with pytest.raises(ValueError, match="normal_: std must be >= 0, got -1"):
        nn.init.normal_(mt.zeros(3), std=-1)  # NumPy's "scale < 0"


def test_save_over_a_directory_names_it(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"cannot write a file over a directory: '{esc(str(tmp_path))}'"):
        mt.save({"w": mt.ones(2)}, tmp_path)  # named the temporary file, once it was written
    assert os.listdir(tmp_path) == []
