"""minitorch/kernels/cpu_direct.py: which direct convolution a CPU conv layer runs, eagerly and in replays.

float32 layers must take :mod:`cpu_simd` (a silent fall back to :mod:`cpu_conv` would only show as a slower
step), float64 ones :mod:`cpu_conv`; padded and non-contiguous float32 inputs go through a staged copy that a
replay refills, so captured steps stay bit-identical to eager ones there too.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_capture import Setup, assert_same_state, batch

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch import kernels
from minitorch.kernels import cpu_conv, cpu_simd
from minitorch.kernels import reference as reference_kernels

SIMD = ("conv2d_forward_into", "conv2d_weight_grad_into", "conv2d_input_grad_into")
GENERIC = ("conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad")


@pytest.fixture
def calls(monkeypatch):
    """Counts of the calls into each module's conv kernels (the spies wrap the real ones)."""
    counts = {name: 0 for name in SIMD + GENERIC}

    def spy(module, name):
        real = getattr(module, name)

        def counted(*args):
            counts[name] += 1
            return real(*args)
        monkeypatch.setattr(module, name, counted)

    for name in SIMD:
        spy(cpu_simd, name)
    for name in GENERIC:
        spy(cpu_conv, name)
    return counts


def test_coolnet_float32_takes_the_simd_kernels_eager_and_captured(calls, rng):
    """Both conv layers forward and weight grad, conv2's input grad (conv1's input needs none): 5 SIMD calls a
    step, none into cpu_conv, whether the step runs eagerly or replays."""
    eager, other = Setup("coolnet"), Setup("coolnet")
    step = mt.capture(other.step)
    x, y = batch(rng, 4)
    eager.step(x, y)
    assert calls == {"conv2d_forward_into": 2, "conv2d_weight_grad_into": 2, "conv2d_input_grad_into": 1,
                     "conv2d_forward": 0, "conv2d_weight_grad": 0, "conv2d_input_grad": 0}
    step(x, y)
    for _ in range(3):
        x, y = batch(rng, 4)
        assert eager.step(x, y).item() == step(x, y).item()
    assert step.counts["replayed"] >= 1
    assert calls["conv2d_input_grad_into"] == 8  # eight steps, eager or captured
    assert calls["conv2d_forward_into"] == calls["conv2d_weight_grad_into"] == 2 * 8
    assert calls["conv2d_forward"] == calls["conv2d_weight_grad"] == calls["conv2d_input_grad"] == 0
    assert_same_state(eager, other)


def test_float64_layers_stay_on_cpu_conv(calls, rng):
    x = mt.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
    w = mt.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = mt.tensor(rng.standard_normal(4), requires_grad=True)
    assert x.dtype == w.dtype == mt.float64
    F.conv2d(x, w, b, padding=1).sum().backward()
    assert calls["conv2d_forward"] == calls["conv2d_weight_grad"] == calls["conv2d_input_grad"] == 1
    assert sum(calls[name] for name in SIMD) == 0


@pytest.mark.parametrize("padding", [0, 2])
def test_padded_and_strided_inputs_replay_bit_identically(rng, padding):
    """A padded float32 layer on a non-contiguous input: the staged copies are refilled on every replay."""
    def make():
        mt.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=padding), nn.Conv2d(4, 5, 3, padding=padding))
        return net, mt.optim.SGD(net.parameters(), lr=0.1)

    def train(net, opt, x):
        opt.zero_grad()
        out = net(x)
        loss = (out * out).mean()
        loss.backward()  # the second layer's input gradient: the padded one, its border cut
        opt.step()
        return loss

    (n1, o1), (n2, o2) = make(), make()
    step = mt.capture(lambda x: train(n2, o2, x))
    for i in range(5):
        data = rng.standard_normal((6, 3, 9, 7)).astype(np.float32)
        x = mt.from_numpy(np.asfortranarray(data) if i % 2 else data)  # odd steps: not C-contiguous
        assert train(n1, o1, x).item() == step(x).item()
    assert step.counts["replayed"] >= 2
    for (name, a), (_, b) in zip(n1.state_dict().items(), n2.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_padded_simd_kernels_match_the_reference(rng):
    """The CPU kernels through the registry (staged padding, the input gradient's border cut) against the
    float64 reference."""
    x = rng.standard_normal((5, 2, 6, 9)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    g = rng.standard_normal((5, 3, 6, 9)).astype(np.float32)
    cpu, ref = (lambda name, m: getattr(kernels, name).on(m)), reference_kernels
    x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
    pairs = [(cpu("conv2d_forward", kernels.backend(x))(x, w, b, 1), cpu("conv2d_forward", ref)(x64, w64, b64, 1)),
             (cpu("conv2d_weight_grad", kernels.backend(x))(x, g, (3, 3), 1),
              cpu("conv2d_weight_grad", ref)(x64, g64, (3, 3), 1)),
             (cpu("conv2d_input_grad", kernels.backend(x))(g, w, x.shape, 1),
              cpu("conv2d_input_grad", ref)(g64, w64, x.shape, 1))]
    for got, want in pairs:
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
