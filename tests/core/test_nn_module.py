"""Module API: registration order and names, children, modes, zero_grad, state dicts, dtype conversion."""
from __future__ import annotations

import re

import numpy as np
import pytest
from mt_core_helpers import coolnet

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F

COOLNET_PARAM_NAMES = [
    "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias", "5.weight", "5.bias",
    "9.weight", "9.bias", "10.weight", "10.bias", "12.weight", "12.bias", "13.weight", "13.bias",
    "15.weight", "15.bias",
]
COOLNET_BUFFERS = [f"{i}.{b}" for i in (1, 5, 10, 13) for b in ("running_mean", "running_var", "num_batches_tracked")]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.scale = nn.Parameter(mt.ones(2))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
        self.register_buffer("steps", mt.tensor(np.array(0)))

    def forward(self, x):
        x = self.block.bn(self.block.conv(x)) * self.block.scale.reshape(1, 2, 1, 1)
        return self.head(F.max_pool2d(x.relu(), 2))


def test_coolnet_parameter_names_order_and_shapes(seeded):
    net = coolnet()
    names = [n for n, _ in net.named_parameters()]
    assert names == COOLNET_PARAM_NAMES
    shapes = [p.shape for p in net.parameters()]
    assert shapes[:2] == [(6, 3, 5, 5), (6,)] and shapes[8] == (120, 400) and shapes[-2:] == [(10, 84), (10,)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 62458
    assert [n for n, _ in net.named_buffers()] == COOLNET_BUFFERS


def test_nested_names_children_and_modules():
    net = Net()
    # torch's order (checked against torch 2.13): a module's own parameters, then its children's
    assert [n for n, _ in net.named_parameters()] == [
        "block.scale", "block.conv.weight", "block.conv.bias", "block.bn.weight", "block.bn.bias",
        "head.1.weight", "head.1.bias"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.conv", "block.bn", "head", "head.0",
                                                   "head.1"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "block.bn.running_mean", "block.bn.running_var", "block.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert len(list(net.block.parameters(recurse=False))) == 1


def test_shared_parameter_listed_once():
    a = nn.Linear(3, 3)
    net = nn.Sequential(a, nn.ReLU(), a)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]


def test_reassigning_a_parameter_attribute():
    layer = nn.Linear(2, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.bias = nn.Parameter(mt.zeros(2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_a_parameter_attribute_takes_only_a_parameter_or_none():
    # a plain tensor would silently stop the weight being trained and saved: PyTorch refuses it, and so do we
    layer = nn.Linear(2, 2)
    weight = layer.weight
    with pytest.raises(TypeError, match=re.escape(
            "Linear: cannot assign 'minitorch.Tensor' as parameter 'weight' "
            "(minitorch.nn.Parameter or None expected)")):
        layer.weight = mt.ones(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'bias'"):
        layer.bias = 0
    assert layer.weight is weight and [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.weight = None  # allowed; the name stays a parameter's, so a tensor is still refused
    assert [n for n, _ in layer.named_parameters()] == ["bias"] and list(layer.state_dict()) == ["bias"]
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        layer.weight = mt.ones(2, 2)
    layer.weight = nn.Parameter(mt.ones(2, 2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_an_attribute_changing_kind_is_registered_as_its_new_kind_only():
    m = nn.Module()
    m.a = nn.Parameter(mt.zeros(2))
    m.b = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'minitorch.nn.modules.linear.Linear' as parameter 'a'"):
        m.a = nn.Linear(3, 1)  # a parameter's name takes only a Parameter or None (PyTorch's rule)
    del m.a
    m.a, m.b = nn.Linear(3, 1), nn.Parameter(mt.ones(1))   # a parameter becomes a module and the reverse
    assert [name for name, _ in m.named_parameters()] == ["b", "a.weight", "a.bias"]
    assert [name for name, _ in m.named_children()] == ["a"]
    m.register_buffer("c", mt.zeros(1))
    del m.c, m.a
    assert list(m.state_dict()) == ["b"]


def test_module_needs_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mt.zeros(1))

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\) before assigning"):
        Broken()


def test_train_eval_propagate_and_change_batchnorm(rng, float64):
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.block.train(False)
    assert not net.block.bn.training and net.head.training and net.training
    x = mt.tensor(rng.standard_normal((4, 1, 4, 4)) * 3 + 2)
    net.train()
    train_out = net(x).numpy()
    assert int(net.block.bn.num_batches_tracked.item()) == 1
    net.eval()
    eval_out = net(x).numpy()
    assert int(net.block.bn.num_batches_tracked.item()) == 1  # eval does not count batches
    assert not np.allclose(train_out, eval_out)  # eval uses the running statistics


def test_zero_grad(rng):
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    out = net(mt.tensor(rng.standard_normal((5, 3)).astype(np.float32)))
    out.backward(rng.standard_normal((5, 2)).astype(np.float32))
    assert all(p.grad is not None and np.any(p.grad != 0) for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and np.all(p.grad == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_keys_values_and_sharing(seeded):
    net = coolnet()
    state = net.state_dict()
    assert set(state) == set(COOLNET_PARAM_NAMES) | set(COOLNET_BUFFERS)
    assert [k for k in state if k in COOLNET_PARAM_NAMES] == COOLNET_PARAM_NAMES
    assert state["1.num_batches_tracked"].dtype == np.int64 and state["1.num_batches_tracked"].shape == ()
    np.testing.assert_array_equal(state["10.running_var"].numpy(), np.ones(120, np.float32))
    assert not state["0.weight"].requires_grad
    assert np.shares_memory(state["0.weight"].data, net[0].weight.data)  # like torch: no copy


def test_load_state_dict_round_trip(rng, float64):
    mt.manual_seed(1)
    a = Net()
    a(mt.tensor(rng.standard_normal((3, 1, 4, 4))))  # move the running statistics
    mt.manual_seed(2)
    b = Net()
    x = mt.tensor(rng.standard_normal((3, 1, 4, 4)))
    a.eval(), b.eval()
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    saved = {k: v.numpy().copy() for k, v in a.state_dict().items()}
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), saved[k], err_msg=k)
        assert not np.shares_memory(v.data, a.state_dict()[k].data), k  # copied in, not aliased
    # plain arrays work too, and parameters stay Parameters of the same identity
    weight = b.block.conv.weight
    b.load_state_dict({k: v * 0 + 1 for k, v in saved.items()})
    assert b.block.conv.weight is weight and np.all(weight.numpy() == 1)


def test_non_persistent_buffers_move_with_the_module_but_stay_out_of_state_dict():
    """PyTorch's register_buffer(..., persistent=False): listed by buffers() and cast by to(), but neither saved
    by state_dict nor expected (nor taken) by load_state_dict."""
    m = nn.Module()
    m.register_buffer("a", mt.ones(2))
    m.register_buffer("b", mt.zeros(2), persistent=False)
    m.c = nn.Linear(1, 1)
    m.c.register_buffer("d", mt.ones(1), persistent=False)
    assert [name for name, _ in m.named_buffers()] == ["a", "b", "c.d"] and len(list(m.buffers())) == 3
    assert list(m.state_dict()) == ["a", "c.weight", "c.bias"]
    loaded = {"a": mt.full((2,), 3.0), "c.weight": mt.ones(1, 1), "c.bias": mt.ones(1)}
    assert m.load_state_dict(loaded) == ([], []) and m.a.tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match=re.escape("missing keys [], unexpected keys ['b']")):
        m.load_state_dict({**loaded, "b": mt.ones(2)})
    assert m.load_state_dict({**loaded, "b": mt.ones(2)}, strict=False).unexpected_keys == ["b"]
    assert m.b.tolist() == [0.0, 0.0]  # not taken
    m.double()
    assert m.b.dtype == np.float64 and m.c.d.dtype == np.float64
    m.b = mt.ones(3)  # assigning keeps it non-persistent
    assert "b" not in m.state_dict()
    m.register_buffer("b", mt.ones(3))  # registering again decides anew
    assert list(m.state_dict()) == ["a", "b", "c.weight", "c.bias"]
    m.register_buffer("b", mt.ones(3), persistent=False)
    del m.b
    m.register_buffer("b", mt.ones(3))
    assert "b" in m.state_dict()


def test_tied_parameters_load_from_their_own_state_dict():
    """state_dict names a shared parameter under each of its names, as PyTorch does, and load_state_dict expects
    exactly those keys."""
    m = nn.Module()
    m.l1, m.l2 = nn.Linear(2, 2), nn.Linear(2, 2)
    m.l2.weight = m.l1.weight
    assert list(m.state_dict()) == ["l1.weight", "l1.bias", "l2.weight", "l2.bias"]
    assert m.load_state_dict(m.state_dict()) == ([], [])


def test_module_to_float64_converts_parameters_and_buffers(rng):
    net = Net()
    out = net(mt.tensor(rng.standard_normal((2, 1, 4, 4)).astype(np.float32)))
    out.sum().backward()
    assert net.to(np.float64) is net
    for name, p in net.named_parameters():
        assert p.dtype == np.float64 and p.grad.dtype == np.float64, name
        assert isinstance(p, nn.Parameter) and p.requires_grad
    buffers = dict(net.named_buffers())
    assert buffers["block.bn.running_mean"].dtype == np.float64
    assert buffers["block.bn.running_var"].dtype == np.float64
    assert buffers["block.bn.num_batches_tracked"].dtype == np.int64  # integers stay integers
    assert buffers["steps"].dtype == np.int64
    assert net(mt.tensor(rng.standard_normal((2, 1, 4, 4)))).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_default_dtype_float64_builds_float64_layers(float64):
    assert mt.get_default_dtype() == np.float64
    for layer in (nn.Linear(2, 3), nn.Conv2d(1, 2, 3), nn.BatchNorm1d(3), nn.BatchNorm2d(2)):
        for name, t in list(layer.named_parameters()) + list(layer.named_buffers()):
            expected = np.int64 if name == "num_batches_tracked" else np.float64
            assert t.dtype == expected, (type(layer).__name__, name)
    assert mt.randn(2).dtype == np.float64 and mt.zeros(2).dtype == np.float64


def test_default_dtype_float32_builds_float32_layers():
    assert mt.get_default_dtype() == np.float32
    assert all(p.dtype == np.float32 for p in coolnet().parameters())


def test_sequential_indexing_and_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3
    assert seq[0] is layers[0] and seq[-1] is layers[2] and seq[1] is layers[1]
    assert list(seq) == layers
    with pytest.raises(IndexError):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    out = seq(mt.tensor(np.ones((5, 2), np.float32)))
    assert out.shape == (5, 1) and np.all((out.numpy() > 0) & (out.numpy() < 1))


def test_sequential_runs_the_children_that_setattr_add_module_and_delattr_leave():
    # forward, len, indexing and iteration read the children, so they agree with parameters() and state_dict()
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    for name, child in seq.named_children():  # the usual "swap every ReLU" loop
        if isinstance(child, nn.ReLU):
            setattr(seq, name, nn.Tanh())
    head = nn.Linear(2, 4)
    setattr(seq, "2", head)  # a new head, e.g. for fine-tuning: same place, same name
    assert isinstance(seq[1], nn.Tanh) and seq[2] is head and seq[-1] is head
    assert seq(mt.ones(1, 2)).shape == (1, 4)
    extra = nn.Linear(4, 3)
    seq.add_module("fc", extra)
    assert len(seq) == 4 and seq[3] is extra and list(seq)[-1] is extra and seq(mt.ones(1, 2)).shape == (1, 3)
    delattr(seq, "1")
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Linear"] and len(seq) == 3
    assert list(seq) == [c for _, c in seq.named_children()]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "fc.weight", "fc.bias"]


def test_sequential_slices_assigns_and_deletes_by_position():
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh()]
    seq = nn.Sequential(*layers)
    body = seq[:-1]  # a Sequential, so it can run; its layers keep their names, as in PyTorch
    assert isinstance(body, nn.Sequential) and list(body) == layers[:3] and body(mt.ones(1, 4)).shape == (1, 2)
    assert [n for n, _ in seq[1:3].named_children()] == ["1", "2"]
    sigmoid = nn.Sigmoid()
    seq[-1] = sigmoid
    assert seq[3] is sigmoid and [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="Sequential: expected a Module, got int"):
        seq[0] = 3
    del seq[1]  # the rest are renumbered, as in PyTorch
    assert list(seq) == [layers[0], layers[2], sigmoid]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    del seq[1:]
    assert list(seq) == [layers[0]] and seq(mt.ones(1, 4)).shape == (1, 3)
    with pytest.raises(IndexError, match="Sequential index 1 is out of range for length 1"):
        seq[1]


def test_module_and_parameter_lists_hold_what_setattr_and_delattr_leave():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    tanh = nn.Tanh()
    setattr(blocks, "1", tanh)
    assert blocks[1] is tanh and list(blocks) == list(blocks.children())
    delattr(blocks, "1")
    assert len(blocks) == 1 and [type(m).__name__ for m in blocks] == ["Linear"]
    params = nn.ParameterList([mt.zeros(2), mt.zeros(3)])
    one = nn.Parameter(mt.ones(4))
    setattr(params, "0", one)
    assert params[0] is one and list(params) == list(params.parameters()) and len(params) == 2


def test_module_requires_grad_toggle():
    net = nn.Linear(2, 2)
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    out = net(mt.tensor(np.ones((1, 2), np.float32)))
    assert not out.requires_grad


def test_batchnorm_without_affine_or_running_stats(rng):
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.buffers()) == []
    bn.eval()  # no running statistics: batch statistics even in eval mode, as in torch
    out = bn(mt.tensor(rng.standard_normal((6, 3)) * 4 + 1))
    np.testing.assert_allclose(out.numpy().mean(0), 0, atol=1e-6)



def test_batchnorm_training_moves_the_running_stats_towards_the_batch_with_the_unbiased_variance(rng):
    bn = nn.BatchNorm1d(3, momentum=0.25).double()
    x = rng.standard_normal((4, 3, 5)) * 3 + 2
    bn(mt.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * x.var(axis=(0, 2), ddof=1), rtol=1e-12)

def test_repr_mentions_layers():
    text = repr(coolnet())
    assert text.startswith("Sequential(") and "(0): Conv2d(3, 6, kernel_size=(5, 5)" in text
    assert "(9): Linear(in_features=400, out_features=120, bias=True)" in text
    assert "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)" in text


def test_state_dict_key_order_matches_torch():
    # torch 2.13's order for Net (printed by torch.nn with the same definitions)
    assert list(Net().state_dict()) == [
        "steps", "block.scale", "block.conv.weight", "block.conv.bias", "block.bn.weight", "block.bn.bias",
        "block.bn.running_mean", "block.bn.running_var", "block.bn.num_batches_tracked", "head.1.weight",
        "head.1.bias"]
