"""The three networks: output shapes, parameter counts, and PyTorch's parameter names."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch as mt
from hw5.models import BoringNet, CoolNet, LazyNet, build_model, count_parameters

COOLNET_PARAMETERS = (
    (3 * 6 * 25 + 6) + 2 * 6            # conv1, bn1
    + (6 * 16 * 25 + 16) + 2 * 16       # conv2, bn2
    + (400 * 120 + 120) + 2 * 120       # fc1, bn3
    + (120 * 84 + 84) + 2 * 84          # fc2, bn4
    + (84 * 10 + 10)                    # fc3
)

NAMES = {
    "lazynet": ["fc1.weight", "fc1.bias"],
    "boringnet": ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"],
    "coolnet": ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias",
                "bn2.weight", "bn2.bias", "fc1.weight", "fc1.bias", "bn3.weight", "bn3.bias",
                "fc2.weight", "fc2.bias", "bn4.weight", "bn4.bias", "fc3.weight", "fc3.bias"],
}


@pytest.mark.parametrize("model, expected", [
    (LazyNet(), 30730),
    (BoringNet(), 3072 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10),
    (BoringNet(activation=False), 3072 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10),
    (CoolNet(), COOLNET_PARAMETERS),
])
def test_parameter_counts(model, expected):
    assert count_parameters(model) == expected


@pytest.mark.parametrize("name", ["lazynet", "boringnet", "coolnet"])
def test_output_shape(name):
    model = build_model(name)
    out = model(mt.randn(5, 3, 32, 32))
    assert out.shape == (5, 10)


@pytest.mark.parametrize("name", ["lazynet", "boringnet", "coolnet"])
def test_parameter_names(name):
    assert [n for n, _ in build_model(name).named_parameters()] == NAMES[name]


def test_coolnet_state_dict_has_batchnorm_buffers():
    keys = set(CoolNet().state_dict())
    for bn in ("bn1", "bn2", "bn3", "bn4"):
        assert {f"{bn}.running_mean", f"{bn}.running_var", f"{bn}.num_batches_tracked"} <= keys


def test_names_and_shapes_match_the_same_pytorch_modules():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TorchLazy(tnn.Module):
        def __init__(self):
            super().__init__()
            self.flatten, self.fc1 = tnn.Flatten(), tnn.Linear(3072, 10)

    class TorchBoring(tnn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = tnn.Flatten()
            self.fc1, self.fc2, self.fc3 = tnn.Linear(3072, 120), tnn.Linear(120, 84), tnn.Linear(84, 10)
            self.act = tnn.ReLU()

    class TorchCool(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(3, 6, 5), tnn.BatchNorm2d(6)
            self.conv2, self.bn2 = tnn.Conv2d(6, 16, 5), tnn.BatchNorm2d(16)
            self.pool, self.relu, self.flatten = tnn.MaxPool2d(2), tnn.ReLU(), tnn.Flatten()
            self.fc1, self.bn3 = tnn.Linear(400, 120), tnn.BatchNorm1d(120)
            self.fc2, self.bn4 = tnn.Linear(120, 84), tnn.BatchNorm1d(84)
            self.fc3 = tnn.Linear(84, 10)

    for ours, theirs in ((LazyNet(), TorchLazy()), (BoringNet(), TorchBoring()), (CoolNet(), TorchCool())):
        expected = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == expected


def test_boringnet_without_activation_is_affine():
    """No ReLU: f(a) + f(b) - f(0) == f(a + b), which the ReLU version breaks."""
    mt.manual_seed(0)
    a, b, zero = mt.randn(2, 3, 32, 32), mt.randn(2, 3, 32, 32), mt.zeros(2, 3, 32, 32)
    for activation, affine in ((False, True), (True, False)):
        f = BoringNet(activation)
        lhs = (f(a) + f(b) - f(zero)).numpy()
        rhs = f(a + b).numpy()
        assert np.allclose(lhs, rhs, atol=1e-3) == affine


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet")
