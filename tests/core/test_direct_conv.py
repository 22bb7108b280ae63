"""The direct CPU convolution (kernels/cpu_conv.py) must agree with im2col + GEMM, value for value.

Both paths run through the same ``Conv2d`` op; only the dispatch is forced.  The
layer gradchecks (test_layers_gradcheck.py) check the direct path against finite
differences too, since every stride-1 CPU case there now takes it.
"""
import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.kernels import direct_conv_applies
from minitorch.ops import conv


def _run(x, w, b, padding, g):
    """Output and the three gradients of one conv2d call."""
    xt = mt.tensor(x, requires_grad=True)
    wt = mt.tensor(w, requires_grad=True)
    bt = mt.tensor(b, requires_grad=True)
    out = F.conv2d(xt, wt, bt, 1, padding)
    out.backward(mt.tensor(g))
    return out.numpy(), xt.grad, wt.grad, bt.grad


# (N, C, H, W, O, kh, kw, padding): taps fused by 5, by 3 and singly, channel counts not divisible by 3,
# non-square images and kernels, 1x1 kernels, padding, and CoolNet's two layers
CASES = [
    (2, 3, 9, 7, 5, 5, 5, 0),
    (3, 2, 8, 11, 4, 3, 4, 1),
    (1, 1, 6, 6, 1, 1, 1, 0),
    (2, 4, 7, 9, 7, 2, 7, 2),
    (5, 6, 14, 14, 16, 5, 5, 0),
    (64, 3, 32, 32, 6, 5, 5, 0),
    (40, 6, 14, 14, 16, 5, 5, 1),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
def test_direct_conv_matches_im2col(monkeypatch, case, dtype):
    N, C, H, W, O, kh, kw, p = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    g = rng.standard_normal((N, O, H + 2 * p - kh + 1, W + 2 * p - kw + 1)).astype(dtype)

    taken = []
    monkeypatch.setattr(conv, "direct_conv_applies", lambda *a: taken.append(True) or True)
    direct = _run(x, w, b, p, g)
    assert taken, "the direct path was not taken"
    monkeypatch.setattr(conv, "direct_conv_applies", lambda *a: False)
    gemm = _run(x, w, b, p, g)

    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    for name, a, e in zip(("output", "input grad", "weight grad", "bias grad"), direct, gemm, strict=False):
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype == dtype and a.shape == e.shape, name
        np.testing.assert_allclose(a, e, err_msg=name, **tol)


def test_dispatch_policy(monkeypatch):
    x = np.zeros((2, 3, 8, 8), np.float32)
    assert direct_conv_applies(x, np.zeros((6, 3, 5, 5), np.float32), 1)
    assert not direct_conv_applies(x, np.zeros((6, 3, 5, 5), np.float32), 2)       # stride 2: im2col
    assert direct_conv_applies(x, np.zeros((16, 6, 5, 5), np.float32), 1)          # CoolNet's conv2
    assert not direct_conv_applies(x, np.zeros((64, 3, 5, 5), np.float32), 1)      # a larger weight: GEMM
    from minitorch import kernels
    from minitorch.kernels import reference

    monkeypatch.setitem(kernels.BACKENDS, "cpu", reference)   # a backend without direct kernels (the GPU's)
    assert not direct_conv_applies(x, np.zeros((6, 3, 5, 5), np.float32), 1)
