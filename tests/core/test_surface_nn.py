"""The new nn surface beyond its numbers: arguments as PyTorch takes them, bad ones refused with a message that
names them, modes (Dropout), buffers (CrossEntropyLoss.weight), init and gradient clipping."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F


def esc(text: str) -> str:
    return re.escape(text)


def f64(rng, shape):
    return mt.tensor(rng.standard_normal(shape))


# ----------------------------------------------------------------------------- Conv2d
def test_conv2d_keeps_pytorch_attributes_and_repr():
    conv = nn.Conv2d(4, 6, (3, 2), padding="same", dilation=2, groups=2, bias=False)
    assert (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) == ((3, 2), (1, 1), "same",
                                                                                           (2, 2), 2)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias is None
    assert repr(conv) == ("Conv2d(4, 6, kernel_size=(3, 2), stride=(1, 1), padding=same, dilation=(2, 2), "
                          "groups=2, bias=False)")
    assert nn.Conv2d(4, 6, 3, stride=(1, 2), padding=(0, 1)).stride == (1, 2)
    assert repr(nn.Conv2d(3, 6, 5, padding=2)) == "Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"


def test_conv2d_same_and_valid_output_sizes(rng):
    x = f64(rng, (1, 2, 9, 8))
    for kernel, dilation in (((3, 3), 1), ((4, 2), 1), ((2, 5), (3, 1))):
        w = f64(rng, (3, 2) + kernel)
        assert F.conv2d(x, w, padding="same", dilation=dilation).shape == (1, 3, 9, 8)
    assert F.conv2d(x, f64(rng, (3, 2, 4, 3)), padding="valid").shape == (1, 3, 6, 6)


def test_depthwise_conv2d_sees_only_its_channel(rng):
    x = np.zeros((1, 3, 5, 5))
    x[0, 1] = rng.standard_normal((5, 5))  # only channel 1 is non-zero
    conv = nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False).double()
    out = conv(mt.tensor(x)).numpy()
    assert np.all(out[0, [0, 2]] == 0) and np.abs(out[0, 1]).max() > 0


def test_conv2d_bad_arguments():
    with pytest.raises(ValueError, match=esc("Conv2d: in_channels (3) must be divisible by groups (2)")):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=esc("Conv2d: out_channels (5) must be divisible by groups (2)")):
        nn.Conv2d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match=esc("Conv2d: padding='same' is not supported for strided convolutions")):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=esc("Conv2d: invalid padding string 'full', should be one of 'same',")):
        nn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match=esc("Conv2d: padding_mode 'reflect' is not supported; only 'zeros'")):
        nn.Conv2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=esc("Conv2d: dilation must be positive, got (1, 0)")):
        nn.Conv2d(2, 2, 3, dilation=(1, 0))
    with pytest.raises(ValueError, match="Conv2d: padding must be non-negative, got -1"):
        nn.Conv2d(2, 2, 3, padding=-1)
    with pytest.raises(TypeError, match=esc("Conv2d: stride must be an int or a pair of ints, got 1.5")):
        nn.Conv2d(2, 2, 3, stride=1.5)
    with pytest.raises(ValueError, match="Conv2d: groups must be at least 1, got 0"):
        nn.Conv2d(2, 2, 3, groups=0)


def test_functional_conv2d_group_mismatch_names_the_shapes(rng):
    x, w = f64(rng, (1, 4, 5, 5)), f64(rng, (6, 3, 3, 3))
    with pytest.raises(ValueError, match=esc("conv2d: input of shape (1, 4, 5, 5) has 4 channels but weight of "
                                             "shape (6, 3, 3, 3) expects 6 (2 groups of 3)")):
        F.conv2d(x, w, groups=2)
    with pytest.raises(ValueError, match=esc("conv2d: weight of shape (5, 2, 3, 3) has 5 output channels, not "
                                             "divisible by groups=2")):
        F.conv2d(x, f64(rng, (5, 2, 3, 3)), groups=2)
    with pytest.raises(ValueError, match=esc("conv2d: input of shape (1, 4, 5, 5) is smaller than the kernel 3x3 "
                                             "(padding (0, 0, 0, 0), stride (1, 1), dilation (3, 3))")):
        F.conv2d(x, f64(rng, (2, 4, 3, 3)), dilation=3)


# ----------------------------------------------------------------------------- pooling
def test_pooling_reprs_match_pytorch():
    assert repr(nn.MaxPool2d(3, 2, 1, ceil_mode=True)) == ("MaxPool2d(kernel_size=3, stride=2, padding=1, "
                                                           "dilation=1, ceil_mode=True)")
    assert repr(nn.AvgPool2d((2, 3))) == "AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)"
    assert repr(nn.AdaptiveAvgPool2d((1, None))) == "AdaptiveAvgPool2d(output_size=(1, None))"


def test_max_pool2d_return_indices_are_flat_positions(rng):
    x = mt.tensor(rng.permutation(48).reshape(1, 1, 6, 8).astype(np.float64))
    out, idx = nn.MaxPool2d((2, 3), stride=(2, 3), ceil_mode=True, return_indices=True)(x)
    assert out.shape == idx.shape == (1, 1, 3, 3) and idx.dtype == np.int64
    np.testing.assert_array_equal(x.numpy().reshape(-1)[idx.numpy().reshape(-1)], out.numpy().reshape(-1))


def test_max_pool2d_nan_wins_and_padding_never_does():
    x = np.full((1, 1, 4, 4), -np.inf)
    x[0, 0, 3, 2] = np.nan
    out, idx = F.max_pool2d(mt.tensor(x), 3, stride=2, padding=1, dilation=1, ceil_mode=True, return_indices=True)
    assert np.isnan(out.numpy()[0, 0, 1, 1]) and idx.numpy()[0, 0, 1, 1] == 3 * 4 + 2
    assert out.numpy()[0, 0, 0, 0] == -np.inf and idx.numpy()[0, 0, 0, 0] == 0  # first input element, not padding


def test_pooling_bad_arguments(rng):
    x = f64(rng, (1, 1, 6, 6))
    with pytest.raises(ValueError, match="max_pool2d: padding 2 must be at most half the kernel size 3"):
        F.max_pool2d(x, (4, 3), padding=(1, 2))
    with pytest.raises(ValueError, match="avg_pool2d: padding 2 must be at most half the kernel size 3"):
        nn.AvgPool2d(3, padding=2)(x)
    with pytest.raises(ValueError, match=esc("avg_pool2d: input of shape (1, 1, 6, 6) is smaller than the 7x2 window")):
        F.avg_pool2d(x, (7, 2))
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be at least 1, got 0"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match=esc("adaptive_avg_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) "
                                             "input, got shape (6,")):
        F.adaptive_avg_pool2d(f64(rng, (6, 6)), 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be at least 1, got 0"):
        nn.AdaptiveAvgPool2d((0, 2))(x)
    with pytest.raises(TypeError, match="avg_pool2d: input has dtype int64; expected a floating-point tensor"):
        F.avg_pool2d(mt.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match="MaxPool2d: dilation must be positive, got 0"):
        nn.MaxPool2d(2, dilation=0)


def test_global_average_pooling_is_the_mean(rng):
    x = f64(rng, (2, 3, 5, 7))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy()[..., 0, 0], x.numpy().mean(axis=(2, 3)),
                               rtol=1e-13)


# ----------------------------------------------------------------------------- Dropout
def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero(rng):
    x = f64(rng, (4, 5))
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.9, training=False) is x
    assert repr(nn.Dropout(0.25, inplace=True)) == "Dropout(p=0.25, inplace=True)"


def test_dropout_in_training_mode(rng):
    x = mt.tensor(rng.uniform(1, 2, (200, 100)))
    out = nn.Dropout(0.3)(x).numpy()
    kept = out != 0
    assert abs((~kept).mean() - 0.3) < 0.02
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / 0.7, rtol=1e-13)
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


def test_dropout_masks_follow_the_seed_and_differ_between_calls(rng):
    x = mt.ones(50, 40, dtype=np.float64)
    mt.manual_seed(3)
    a, b = F.dropout(x).numpy(), F.dropout(x).numpy()
    mt.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x).numpy(), a)
    assert not np.array_equal(a, b)


def test_dropout_bad_arguments():
    for bad in (-0.1, 1.5, "0.5", float("nan")):
        with pytest.raises(ValueError, match="Dropout: dropout probability has to be between 0 and 1, but got"):
            nn.Dropout(bad)
    with pytest.raises(TypeError, match="dropout: input has dtype int64; expected a floating-point tensor"):
        F.dropout(mt.tensor(np.ones(3, dtype=np.int64)))


# ----------------------------------------------------------------------------- activations
def test_softmax_without_dim_uses_pytorch_legacy_choice_and_warns(rng):
    x3 = f64(rng, (2, 3, 4))
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        out = nn.Softmax()(x3)
    np.testing.assert_allclose(out.numpy().sum(axis=0), 1.0)  # 3-D: dim 0, as in PyTorch
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        out = F.log_softmax(f64(rng, (2, 3)))
    np.testing.assert_allclose(np.exp(out.numpy()).sum(axis=1), 1.0)


def test_leaky_relu_values_and_bad_slope():
    x = mt.tensor(np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(nn.LeakyReLU(0.1)(x).numpy(), [-0.2, 0.0, 3.0])
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a finite number, got nan"):
        nn.LeakyReLU(float("nan"))
    assert nn.ReLU(inplace=True)(x).numpy().tolist() == [0.0, 0.0, 3.0]


# ----------------------------------------------------------------------------- CrossEntropyLoss
def test_cross_entropy_weight_is_a_buffer_like_pytorch():
    loss = nn.CrossEntropyLoss(weight=mt.tensor(np.array([1.0, 2.0, 0.5])))
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    loss.to(np.float32)
    assert loss.weight.dtype == np.float32


def test_cross_entropy_ignore_index_inside_the_class_range():
    """ignore_index=1 is a real class, so the compiled plain path must not be used."""
    logits = mt.tensor(np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]]), requires_grad=True)
    target = mt.tensor(np.array([0, 1, 0]))
    loss = F.cross_entropy(logits, target, ignore_index=1)
    expected = F.cross_entropy(logits[np.array([0, 2])], target[np.array([0, 2])])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    loss.backward()
    assert np.all(np.asarray(logits.grad)[1] == 0)


def test_cross_entropy_every_row_ignored_gives_nan_and_zero_gradients_like_pytorch():
    logits = mt.tensor(np.zeros((2, 3)), requires_grad=True)
    loss = F.cross_entropy(logits, mt.tensor(np.array([-100, -100])), label_smoothing=0.1)
    assert math.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(np.asarray(logits.grad), 0)


def test_cross_entropy_bad_arguments(rng):
    logits, target = f64(rng, (4, 3)), mt.tensor(np.array([0, 1, 2, 0]))
    with pytest.raises(TypeError, match="CrossEntropyLoss: weight must be a Tensor of shape .C,., got str 'sum'; "
                                        "pass reduction= by keyword"):
        nn.CrossEntropyLoss("sum")
    with pytest.raises(TypeError, match="cross_entropy: weight must be a Tensor of shape .C,., got the string 'none'"):
        F.cross_entropy(logits, target, "none")
    with pytest.raises(TypeError, match="CrossEntropyLoss: size_average and reduce are deprecated"):
        nn.CrossEntropyLoss(size_average=False)
    with pytest.raises(ValueError, match=esc("cross_entropy: weight of shape (4,) does not match the 3 classes of "
                                             "logits of shape (4, 3)")):
        F.cross_entropy(logits, target, weight=mt.tensor(np.ones(4)))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(logits, target)
    with pytest.raises(ValueError, match="cross_entropy: target 7 is out of range for 3 classes"):
        F.cross_entropy(logits, mt.tensor(np.array([0, -100, 7, 1])), label_smoothing=0.1)


# ----------------------------------------------------------------------------- nn.init
def test_init_fills_in_place_from_the_seed_or_a_generator():
    w = mt.zeros(40, 30, dtype=np.float64)
    mt.manual_seed(1)
    a = nn.init.kaiming_normal_(w, nonlinearity="relu").numpy().copy()
    mt.manual_seed(1)
    np.testing.assert_array_equal(nn.init.kaiming_normal_(w, nonlinearity="relu").numpy(), a)
    b = nn.init.xavier_uniform_(w, generator=np.random.default_rng(5)).numpy().copy()
    np.testing.assert_array_equal(nn.init.xavier_uniform_(w, generator=np.random.default_rng(5)).numpy(), b)
    assert np.all(nn.init.constant_(w, 0.25).numpy() == 0.25)
    assert np.all(nn.init.zeros_(w).numpy() == 0) and np.all(nn.init.ones_(w).numpy() == 1)
    assert nn.init.normal_(w, 3.0, 0.5).numpy().mean() == pytest.approx(3.0, abs=0.05)
    assert nn.init.uniform_(w, a=-0.1, b=0.1).numpy().max() <= 0.1


def test_init_bad_arguments():
    with pytest.raises(ValueError, match=esc("fan in and fan out need a tensor of at least 2 dimensions, got shape")):
        nn.init.xavier_uniform_(mt.zeros(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        nn.init.kaiming_uniform_(mt.zeros(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'gelu'"):
        nn.init.kaiming_normal_(mt.zeros(3, 3), nonlinearity="gelu")


# ----------------------------------------------------------------------------- nn.utils
def params_with_grads(*grads):
    params = [nn.Parameter(mt.zeros(*np.shape(g), dtype=np.float64)) for g in grads]
    with np.errstate(invalid="ignore"):  # 0 * inf in the forward of a gradient that holds inf
        for p, g in zip(params, grads, strict=True):
            (p * mt.tensor(np.asarray(g, dtype=np.float64))).sum().backward()
    return params


def test_clip_grad_norm_by_hand():
    a, b = params_with_grads([3.0, 0.0], [[4.0]])  # total 2-norm 5
    total = nn.utils.clip_grad_norm_((p for p in (a, b)), max_norm=1.0)  # a generator is read once
    assert isinstance(total, mt.Tensor) and total.shape == () and total.item() == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(np.asarray(a.grad), [3.0 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(b.grad), [[4.0 * scale]], rtol=1e-15)
    (c,) = params_with_grads([0.5, -0.5])
    assert nn.utils.clip_grad_norm_(c, 1.0, norm_type="inf").item() == 0.5
    np.testing.assert_array_equal(np.asarray(c.grad), [0.5, -0.5])  # under the limit: unchanged


def test_clip_grad_norm_skips_missing_gradients_and_refuses_bad_input():
    a, b = params_with_grads([1.0, 1.0], [2.0])
    b.grad = None
    assert nn.utils.clip_grad_norm_([a, b], 10.0).item() == pytest.approx(math.sqrt(2))
    assert nn.utils.clip_grad_norm_([b], 1.0).item() == 0.0
    (c,) = params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is non-fin"):
        nn.utils.clip_grad_norm_([c], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be a positive number or inf, got -1"):
        nn.utils.clip_grad_norm_([a], 1.0, norm_type=-1)
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be a number, got '1'"):
        nn.utils.clip_grad_norm_([a], "1")
    with pytest.raises(TypeError, match="clip_grad_norm_: parameter 0 is a ndarray, not a Tensor"):
        nn.utils.clip_grad_norm_([np.ones(2)], 1.0)


def test_clip_grad_value():
    (a,) = params_with_grads([-3.0, 0.2, 5.0])
    nn.utils.clip_grad_value_([a], 1.0)
    np.testing.assert_array_equal(np.asarray(a.grad), [-1.0, 0.2, 1.0])
