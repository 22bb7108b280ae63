"""The numba CPU kernels (minitorch/kernels/cpu.py) against the plain-NumPy references (kernels/reference.py)."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from minitorch import kernels
from minitorch.kernels import cpu, cpu_pool, cpu_skinny, loops, reference


def on(module):
    """Every kernel as ``module`` implements it, allocating its outputs (what a kernel call does)."""
    return SimpleNamespace(**{name: k.on(module) for name, k in kernels.KERNELS.items()})


CPU, REF = on(cpu), on(reference)

DTYPES = [np.float32, np.float64]


def random_conv_geometry(rng):
    """A random (shape, kernel, stride, padding) with at least one output position."""
    while True:
        N, C = rng.integers(1, 4), rng.integers(1, 4)
        H, W = rng.integers(1, 10), rng.integers(1, 10)
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, 3))
        if (H + 2 * p - k) // s + 1 > 0 and (W + 2 * p - k) // s + 1 > 0 and H + 2 * p >= k and W + 2 * p >= k:
            return (int(N), int(C), int(H), int(W)), k, s, p


def random_pool_geometry(rng):
    while True:
        shape, k, s, p = random_conv_geometry(rng)
        p = min(p, k // 2)  # max_pool2d allows padding up to half the kernel
        if (shape[2] + 2 * p - k) // s + 1 > 0 and (shape[3] + 2 * p - k) // s + 1 > 0:
            return shape, k, s, p


def out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("seed", range(12))
def test_im2col_matches_reference(seed, dtype):
    rng = np.random.default_rng(seed)
    shape, k, s, p = random_conv_geometry(rng)
    x = rng.standard_normal(shape).astype(dtype)
    got, want = CPU.im2col(x, k, k, s, p), REF.im2col(x, k, k, s, p)
    N, C, H, W = shape
    assert want.shape == (C * k * k, N * out_size(H, k, s, p) * out_size(W, k, s, p))
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("seed", range(12))
def test_col2im_matches_reference_and_is_adjoint_of_im2col(seed, dtype):
    rng = np.random.default_rng(100 + seed)
    shape, k, s, p = random_conv_geometry(rng)
    N, C, H, W = shape
    cols = rng.standard_normal((C * k * k, N * out_size(H, k, s, p) * out_size(W, k, s, p))).astype(dtype)
    got, want = CPU.col2im(cols, shape, k, k, s, p), REF.col2im(cols, shape, k, k, s, p)
    assert got.shape == want.shape == shape
    assert got.dtype == want.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12  # overlapping windows add in different orders
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # <im2col(x), cols> == <x, col2im(cols)>
    x = rng.standard_normal(shape)
    lhs = float((REF.im2col(x, k, k, s, p) * cols.astype(np.float64)).sum())
    rhs = float((x * CPU.col2im(cols.astype(np.float64), shape, k, k, s, p)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_im2col_known_values():
    x = np.arange(2 * 3 * 3, dtype=np.float64).reshape(1, 2, 3, 3)
    cols = CPU.im2col(x, 2, 2, 1, 0)
    # row (c=0, i=0, j=0): top-left of each 2x2 window; column order (n, oh, ow)
    np.testing.assert_array_equal(cols[0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[3], [4, 5, 7, 8])  # (c=0, i=1, j=1)
    np.testing.assert_array_equal(cols[4], [9, 10, 12, 13])  # (c=1, i=0, j=0)
    padded = CPU.im2col(x, 3, 3, 2, 1)
    assert padded.shape == (18, 4)
    np.testing.assert_array_equal(padded[0], [0, 0, 0, 4])  # (0,0) is padding in three windows


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("seed", range(15))
def test_max_pool_forward_matches_reference(seed, dtype):
    rng = np.random.default_rng(200 + seed)
    shape, k, s, p = random_pool_geometry(rng)
    x = rng.standard_normal(shape).astype(dtype)
    out, arg = CPU.max_pool_forward(x, k, s, p, True)
    rout, rarg = REF.max_pool_forward(x, k, s, p, True)
    N, C, H, W = shape
    assert out.shape == (N, C, out_size(H, k, s, p), out_size(W, k, s, p))
    assert out.dtype == rout.dtype == dtype
    assert arg.dtype == rarg.dtype == np.int64
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(arg, rarg)
    # the index really points at the maximum, inside the input
    assert ((arg >= 0) & (arg < H * W)).all()
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(N, C, -1), arg.reshape(N, C, -1), 2),
                                  out.reshape(N, C, -1))


def brute_force_first_max(x, k, s, p):
    N, C, H, W = x.shape
    Ho, Wo = out_size(H, k, s, p), out_size(W, k, s, p)
    out = np.empty((N, C, Ho, Wo), x.dtype)
    arg = np.empty((N, C, Ho, Wo), np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    best, where = None, None
                    for i in range(k):
                        for j in range(k):
                            h, w = oh * s - p + i, ow * s - p + j
                            if 0 <= h < H and 0 <= w < W and (best is None or x[n, c, h, w] > best):
                                best, where = x[n, c, h, w], h * W + w
                    out[n, c, oh, ow], arg[n, c, oh, ow] = best, where
    return out, arg


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 1), (3, 3, 0)], ids=str)
def test_max_pool_ties_pick_first_maximum(k, s, p, dtype):
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    x = rng.integers(0, 3, (2, 2, 6, 7)).astype(dtype)  # many ties
    x[0, 0] = 1  # a constant plane: every window a full tie
    want_out, want_arg = brute_force_first_max(x, k, s, p)
    for impl in (cpu, reference):
        out, arg = kernels.max_pool_forward.on(impl)(x, k, s, p, True)
        np.testing.assert_array_equal(out, want_out, err_msg=impl.__name__)
        np.testing.assert_array_equal(arg, want_arg, err_msg=impl.__name__)


def test_max_pool_negative_inputs_with_padding_never_pick_padding():
    x = -np.arange(1, 1 + 2 * 5 * 5, dtype=np.float64).reshape(1, 2, 5, 5)  # all negative: padding 0 is not -inf
    for impl in (cpu, reference):
        out, arg = kernels.max_pool_forward.on(impl)(x, 3, 2, 1, True)
        np.testing.assert_array_equal(out[0, 0, 0], [-1, -2, -4])
        assert (arg >= 0).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("seed", range(12))
def test_max_pool_backward_matches_reference(seed, dtype):
    rng = np.random.default_rng(300 + seed)
    shape, k, s, p = random_pool_geometry(rng)
    x = rng.integers(0, 4, shape).astype(dtype) if seed % 3 == 0 else rng.standard_normal(shape).astype(dtype)
    _, arg = CPU.max_pool_forward(x, k, s, p, True)
    grad = rng.standard_normal(arg.shape).astype(dtype)
    got, want = CPU.max_pool_backward(grad, arg, shape), REF.max_pool_backward(grad, arg, shape)
    assert got.dtype == want.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12  # overlapping windows (s < k) add in different orders
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # every output's gradient lands somewhere, exactly once
    np.testing.assert_allclose(got.sum(), grad.astype(np.float64).sum(), rtol=1e-5, atol=1e-5)


def test_max_pool_backward_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the centre is the max of all four 2x2 windows (stride 1)
    out, arg = CPU.max_pool_forward(x, 2, 1, 0, True)
    assert (arg == 4).all()
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    for impl in (cpu, reference):
        gx = kernels.max_pool_backward.on(impl)(g, arg, x.shape)
        assert gx[0, 0, 1, 1] == 10.0 and gx.sum() == 10.0


def test_dispatch_uses_cpu_kernels_for_numpy(monkeypatch):
    """minitorch.kernels routes NumPy arrays to the numba kernels (the ones compared above)."""
    calls = []
    real = kernels.backend(np.zeros(1))

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setitem(kernels.BACKENDS, "cpu", Spy())
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    out, arg = kernels.max_pool_forward(x, 2, 2, 0, True)
    kernels.max_pool_backward(out, arg, x.shape)
    kernels.col2im(kernels.im2col(x, 2, 2, 1, 0), x.shape, 2, 2, 1, 0)
    assert calls == ["max_pool_forward", "max_pool_backward", "im2col", "col2im"]


def test_max_pool_all_minus_inf_window_with_padding():
    x = np.full((1, 1, 3, 3), -np.inf)
    _, want = CPU.max_pool_forward(x, 3, 2, 1, True)
    np.testing.assert_array_equal(want, [[[[0, 1], [3, 4]]]])
    _, got = REF.max_pool_forward(x, 3, 2, 1, True)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("module", ["reference", "cpu", "cuda"])
def test_every_backend_implements_every_kernel_with_its_arguments_then_its_outputs(module):
    """One interface: each backend module has a function per declared kernel, taking the declaration's
    arguments and then one parameter per output."""
    import ast
    import inspect
    import pathlib

    samples = {"relu_forward": 2, "batch_norm_forward": 5, "max_pool_forward": 2, "batch_norm_backward": 3,
               "cross_entropy_forward": 2, "sgd_update": 0, "batch_norm_running_stats": 0}
    if module == "cuda":   # read without importing CuPy: each kernel is a def with these parameters, or an alias
        tree = ast.parse(pathlib.Path(kernels.__file__).with_name("cuda.py").read_text())
        params = {n.name: [a.arg for a in n.args.args] for n in tree.body if isinstance(n, ast.FunctionDef)}
        aliases = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert {"DIRECT_CONV_MAX_WEIGHT", "IM2COL_CHUNK_BYTES"} <= aliases
    else:
        mod = reference if module == "reference" else cpu
        params = {n: list(inspect.signature(f).parameters) for n in kernels.KERNELS if (f := getattr(mod, n, None))}
        aliases = set()
        assert isinstance(mod.DIRECT_CONV_MAX_WEIGHT, int) and isinstance(mod.IM2COL_CHUNK_BYTES, int)
    assert {"im2col", "conv2d_forward", "relu_forward", "sgd_update"} <= set(kernels.KERNELS)
    for name, kernel in kernels.KERNELS.items():
        if name in aliases:
            continue
        declared = list(inspect.signature(kernel.outputs).parameters)
        assert params[name][:len(declared)] == declared, name
        assert len(params[name]) - len(declared) == samples.get(name, 1), name


def test_outputs_are_filled_whatever_they_held():
    """A replay hands a kernel the outputs it wrote last time: every element must be written again, so a kernel
    run into outputs full of garbage gives what it gives into fresh ones."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    w, g = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((2, 4, 6, 6))
    logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    calls = [("im2col", (x, 3, 3, 1, 1)), ("col2im", (rng.standard_normal((27, 72)), x.shape, 3, 3, 1, 1)),
             ("conv2d_forward", (x, w, None, 1)), ("conv2d_weight_grad", (x, g, (3, 3), 1)),
             ("conv2d_input_grad", (g, w, x.shape, 1)), ("conv2d_bias_grad", (g,)),
             ("max_pool_forward", (x, 2, 2, 0, True)),
             ("max_pool_backward", (g[:, :, :3, :3], np.zeros((2, 4, 3, 3), np.int64), (2, 4, 6, 6))),
             ("batch_norm_forward", (x.reshape(2, 3, 36), np.ones(3), np.zeros(3), None, None, 1e-5, True)),
             ("batch_norm_backward", (x.reshape(2, 3, 36), x.reshape(2, 3, 36), np.ones(3), True)),
             ("cross_entropy_forward", (logits, target)), ("cross_entropy_backward", (logits, target, np.ones(5))),
             ("relu_forward", (x, True)), ("relu_backward", (x, x > 0)),
             ("linear_forward", (logits, w.reshape(4, -1)[:, :4])), ("linear_weight_grad", (logits, logits)),
             ("linear_input_grad", (logits, w.reshape(4, -1)[:, :4])),
             ("one_hot", (target, 4, np.dtype(np.float32))), ("one_hot", (target[::2], 6, np.dtype(np.int64)))]
    for name, args in calls:
        for module in (reference, cpu):
            kernel = kernels.KERNELS[name]
            fresh = kernel.on(module)(*args)
            garbage = kernel.run(getattr(module, name), args, np,
                                 lambda shape, dtype: np.full(shape, 7, dtype=dtype))
            for a, b in zip(fresh if isinstance(fresh, tuple) else (fresh,),
                            garbage if isinstance(garbage, tuple) else (garbage,), strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"{module.__name__}.{name}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum, dampening, weight_decay, nesterov", [
    (0.0, 0.0, 0.0, False), (0.9, 0.0, 0.01, False), (0.9, 0.1, 0.0, False), (0.9, 0.0, 0.01, True)])
def test_sgd_update_kernel_matches_the_reference(momentum, dampening, weight_decay, nesterov, dtype):
    """Bit for bit: the compiled loop computes in the arrays' dtype, one rounding per operation, as NumPy does."""
    rng = np.random.default_rng(0)
    data, grad, buf = (rng.standard_normal(1000).astype(dtype) for _ in range(3))
    results = []
    for mod in (reference, cpu):
        d, b = data.copy(), buf.copy()
        for first in (True, False, False):
            kernels.sgd_update.on(mod)(d, grad, b, 0.1, momentum, dampening, weight_decay, nesterov, first)
        results.append((d, b))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])


def test_reference_direct_conv_is_the_compiled_ones_definition():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    for padding in (0, 1):
        out = CPU.conv2d_forward(x, w, b, padding)
        np.testing.assert_allclose(out, REF.conv2d_forward(x, w, b, padding), rtol=1e-12, atol=1e-12)
        g = rng.standard_normal(out.shape)
        np.testing.assert_allclose(CPU.conv2d_weight_grad(x, g, (3, 3), padding),
                                   REF.conv2d_weight_grad(x, g, (3, 3), padding), rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(CPU.conv2d_input_grad(g, w, x.shape, padding),
                                   REF.conv2d_input_grad(g, w, x.shape, padding), rtol=1e-11, atol=1e-11)


# ----------------------------------------------------------------------------- batch-norm kernels (if present)
def _bn_kernels():
    if not (hasattr(cpu, "batch_norm_forward") and hasattr(reference, "batch_norm_forward")):
        pytest.skip("this build has no batch-norm kernels")
    return cpu, reference


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("seed", range(4))
def test_batch_norm_kernels_match_reference(seed, training, dtype):
    impl, ref = _bn_kernels()
    rng = np.random.default_rng(400 + seed)
    N, C, L = int(rng.integers(2, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 7))
    x = (rng.standard_normal((N, C, L)) * rng.uniform(0.5, 3, (1, C, 1)) + 1).astype(dtype)
    w, b = rng.uniform(0.5, 1.5, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm0, rv0 = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    results = []
    for k in (impl, ref):
        rm, rv = rm0.copy(), rv0.copy()
        given = (None, None) if training else (rm, rv)
        out, xhat, scale, mean, var = kernels.batch_norm_forward.on(k)(x, w, b, *given, 1e-5, True)
        g = np.random.default_rng(seed).standard_normal(x.shape).astype(dtype)
        gx, gw, gb = kernels.batch_norm_backward.on(k)(g, xhat, scale, training)
        assert out.dtype == gx.dtype == dtype
        np.testing.assert_array_equal(rm, rm0)  # the given statistics are only read
        np.testing.assert_array_equal(rv, rv0)
        results.append((out, xhat, scale, gx, gw, gb, mean, var))
    names = ["out", "xhat", "scale", "grad_x", "grad_weight", "grad_bias", "batch_mean", "batch_var"]
    for name, a, r in zip(names, *results, strict=False):
        if r is None:
            assert a is None
            continue
        np.testing.assert_allclose(a, r, err_msg=name, **tol)
    if training:  # the batch's statistics, the variance biased
        x64 = x.astype(np.float64)
        np.testing.assert_allclose(results[0][6], x64.mean(axis=(0, 2)), **tol)
        np.testing.assert_allclose(results[0][7], x64.var(axis=(0, 2)), **tol)
    else:
        assert results[0][6] is results[0][7] is None


@pytest.mark.parametrize("L", [1, 5], ids=["1d", "2d"])
def test_batch_norm_backward_in_evaluation_is_g_times_scale_even_where_xhat_is_not_finite(L):
    # evaluation's gradient does not read xhat: an inf or NaN there (an inf input) must not reach grad_x
    rng = np.random.default_rng(11)
    g = rng.standard_normal((4, 3, L)).astype(np.float32)
    xhat = rng.standard_normal((4, 3, L)).astype(np.float32)
    xhat[0, 0, 0], xhat[1, 2, -1] = np.inf, np.nan
    scale = rng.uniform(0.5, 2, 3).astype(np.float32)
    gx, gw, gb = CPU.batch_norm_backward(g, xhat, scale, False)
    want, _, _ = REF.batch_norm_backward(g, xhat, scale, False)
    np.testing.assert_array_equal(gx, want)
    assert np.isfinite(gx).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_forward_without_xhat_gives_the_same_output(training, dtype):
    # the path taken when no backward will run: out and batch statistics as with xhat kept
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((5, 3, 11)) * 2 + 1).astype(dtype)
    w, b = rng.uniform(0.5, 1.5, 3).astype(dtype), rng.standard_normal(3).astype(dtype)
    runs = []
    for keep in (True, False):
        given = (None, None) if training else (np.zeros(3, dtype), np.ones(3, dtype))
        out, xhat, scale, mean, var = CPU.batch_norm_forward(x, w, b, *given, 1e-5, keep)
        assert (xhat is None) == (not keep)
        assert (mean is None) == (var is None) == (not training)
        runs.append((out, scale) + ((mean, var) if training else ()))
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    for kept, skipped in zip(*runs, strict=False):
        np.testing.assert_allclose(skipped, kept, **tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(3, 4, 8, 8), (2, 3, 7, 9), (1, 1, 2, 2), (5, 6, 28, 28)], ids=str)
def test_max_pool_2x2_fast_path_matches_reference(shape, dtype):
    # the unrolled 2x2/stride-2 kernel, odd sizes included (the last row/column is dropped)
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    out = np.empty((shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype)
    arg = np.empty(out.shape, np.int64)
    assert cpu_pool._max_pool_2x2(x, out, arg)  # finite input: no fallback
    rout, rarg = REF.max_pool_forward(x, 2, 2, 0, True)
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(arg, rarg)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_max_pool_2x2_with_nan_or_inf_falls_back_and_matches_reference(bad):
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    x[0, 0, 0, 1] = bad        # second in its window: a plain '>' would let a NaN lose
    x[1, 1, 3, 3] = np.nan     # last in its window
    x[1, 0, 2, 2] = x[1, 0, 2, 3] = np.nan   # two NaNs in one window: the first is picked
    out, arg = np.empty((2, 2, 3, 3)), np.empty((2, 2, 3, 3), np.int64)
    assert not cpu_pool._max_pool_2x2(x, out, arg)
    out, arg = CPU.max_pool_forward(x, 2, 2, 0, True)
    rout, rarg = REF.max_pool_forward(x, 2, 2, 0, True)
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(arg, rarg)
    assert np.isnan(out[0, 0, 0, 0]) == (bad != bad) and np.isnan(out[1, 1, 1, 1])


@pytest.mark.parametrize("keep_argmax", [True, False])
def test_max_pool_2x2_orders_infinities_as_the_reference_without_a_fall_back(keep_argmax):
    x = np.random.default_rng(3).standard_normal((2, 2, 6, 6)).astype(np.float32)
    x[0, 0, 0, 1] = np.inf                              # wins its window from second place
    x[0, 1, 2:4, 2:4] = -np.inf                         # a window of -inf: its first element
    x[1, 0, 0, 0], x[1, 0, 1, 1] = -np.inf, np.inf      # both in one window
    out = np.empty((2, 2, 3, 3), np.float32)
    if keep_argmax:
        arg = np.empty(out.shape, np.int64)
        assert cpu_pool._max_pool_2x2(x, out, arg)      # no NaN: the fast loop's result stands
        np.testing.assert_array_equal(arg, REF.max_pool_forward(x, 2, 2, 0, True)[1])
    else:
        assert cpu_pool._max_pool_2x2_values(x, out)
    np.testing.assert_array_equal(out, REF.max_pool_forward(x, 2, 2, 0, True)[0])


@pytest.mark.parametrize("bad", [None, np.nan, -np.inf])
@pytest.mark.parametrize("geometry", [(2, 2, 0), (3, 2, 1)], ids=["2x2", "3x3s2p1"])
@pytest.mark.parametrize("module", ["cpu", "reference"])
def test_max_pool_without_argmax_gives_the_same_maxima(bad, geometry, module):
    """keep_argmax=False (evaluation under no_grad) makes no indices and the very same maxima, the 2x2
    values-only loop included (and its fall back on a NaN)."""
    x = np.random.default_rng(2).standard_normal((3, 2, 6, 8)).astype(np.float32)
    if bad is not None:
        x[1, 1, 2, 3] = bad
    impl = CPU if module == "cpu" else REF
    out, arg = impl.max_pool_forward(x, *geometry, False)
    assert arg is None
    np.testing.assert_array_equal(out, REF.max_pool_forward(x, *geometry, True)[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("target_dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("shape", [(1, 1), (4, 10), (33, 7)], ids=str)
def test_cross_entropy_kernels_match_reference(shape, dtype, target_dtype):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    logits = (rng.standard_normal(shape) * 30).astype(dtype)   # large logits: the max shift matters
    target = rng.integers(0, shape[1], shape[0]).astype(target_dtype)
    losses, probs = CPU.cross_entropy_forward(logits, target)
    rlosses, rprobs = REF.cross_entropy_forward(logits, target)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert losses.dtype == probs.dtype == dtype
    np.testing.assert_allclose(losses, rlosses, rtol=tol, atol=tol)
    np.testing.assert_allclose(probs, rprobs, rtol=tol, atol=tol)
    scale = rng.standard_normal(shape[0]).astype(dtype)
    np.testing.assert_allclose(CPU.cross_entropy_backward(probs, target, scale),
                               REF.cross_entropy_backward(rprobs, target, scale), rtol=tol, atol=tol)


@pytest.mark.parametrize("bad", [-1, 3, 200])
def test_cross_entropy_kernel_names_the_out_of_range_target(bad):
    logits = np.zeros((4, 3))
    target = np.array([0, 2, bad, 1])
    for impl in (cpu, reference):
        with pytest.raises(ValueError, match=f"target {bad} is out of range for 3 classes"):
            kernels.cross_entropy_forward.on(impl)(logits, target)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 6, 28, 28), (3, 16, 5, 5), (1, 1, 1, 1), (0, 3, 2, 2), (2, 3, 0, 4)])
def test_conv_bias_grad_matches_reference(shape, dtype):
    """Per channel, the sum over images and positions: float64 sums rounded once, within float32 rounding of
    NumPy's pairwise float32 sum (float64 data: within a few ulps), NaN and inf carried as in a sum."""
    rng = np.random.default_rng(9)
    g = (rng.standard_normal(shape) * 10).astype(dtype)
    want = g.astype(np.float64).sum(axis=(0, 2, 3))
    got, ref = CPU.conv2d_bias_grad(g), REF.conv2d_bias_grad(g)
    assert got.dtype == ref.dtype == dtype and got.shape == ref.shape == (shape[1],)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-4)
    np.testing.assert_allclose(got, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)
    if g.size:
        g[0, 0, 0, 0], g[-1, -1, -1, -1] = np.nan, np.inf
        got, ref = CPU.conv2d_bias_grad(g), REF.conv2d_bias_grad(g)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    strided = g[:, ::2]  # not contiguous: the reference serves
    np.testing.assert_array_equal(CPU.conv2d_bias_grad(strided), REF.conv2d_bias_grad(strided))


@pytest.mark.parametrize("dtype", DTYPES + [np.int64], ids=["f32", "f64", "i64"])
@pytest.mark.parametrize("keep_mask", [True, False])
def test_relu_kernels_match_reference(dtype, keep_mask):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal((3, 4, 5)) * 3).astype(dtype)[:, ::2]  # non-contiguous input
    if a.dtype.kind == "f":
        a[0, 0, :3] = [np.nan, -np.inf, np.inf]
    out, mask = CPU.relu_forward(a, keep_mask)
    rout, rmask = REF.relu_forward(a, keep_mask)
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, rout)          # NaN stays NaN in both
    if a.dtype.kind == "f":                           # PyTorch's values: relu(nan) = nan, relu(-inf) = 0
        assert np.isnan(out[0, 0, 0]) and out[0, 0, 1] == 0 and out[0, 0, 2] == np.inf
    if not keep_mask:
        assert mask is None and rmask is None
        return
    np.testing.assert_array_equal(mask, rmask)
    g = rng.standard_normal(a.shape).astype(dtype)
    np.testing.assert_array_equal(CPU.relu_backward(g, mask), REF.relu_backward(g, rmask))


# ------------------------------------------------------------------ Linear's products at small batches
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("J, K", [(7, 33), (5, 2 * cpu.WEIGHT_GRAD_COLUMNS + 9)])
@pytest.mark.usefixtures("small_batch_loops")
def test_small_batch_linear_loops_match_the_gemm(rows, dtype, J, K):
    """The loops (taken here at every size) agree with x @ W.T and g.T @ x, odd widths and row counts too, and
    a width that ends in a part of a column block."""
    rng = np.random.default_rng(rows)
    x, weight = rng.standard_normal((rows, K)).astype(dtype), rng.standard_normal((J, K)).astype(dtype)
    g = rng.standard_normal((rows, J)).astype(dtype)
    assert cpu.linear_forward_by_rows(x, weight) and cpu.linear_weight_grad_by_rows(g, x)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5 * np.sqrt(K)}
    out, gw = CPU.linear_forward(x, weight), CPU.linear_weight_grad(g, x)
    assert out.dtype == gw.dtype == dtype
    np.testing.assert_allclose(out, REF.linear_forward(x, weight), **tol)
    np.testing.assert_allclose(gw, REF.linear_weight_grad(g, x), **tol)


def test_small_batch_linear_loops_take_boringnets_first_layer_and_pass_nan_on():
    """Where the loops apply by default (BoringNet's 3072x120 layer at batch 4), and that a NaN in a row reaches
    exactly that row's outputs (only reassociation is allowed, not fastmath's no-NaN)."""
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((4, 3072), dtype=np.float32), rng.standard_normal((120, 3072), dtype=np.float32)
    g = rng.standard_normal((4, 120), dtype=np.float32)
    assert cpu.linear_forward_by_rows(x, weight) and cpu.linear_weight_grad_by_rows(g, x)
    assert not cpu.linear_forward_by_rows(x[:, :400], weight[:, :400])      # a small weight: the GEMM
    assert not cpu.linear_forward_by_rows(np.asfortranarray(x), weight)      # not contiguous: the GEMM
    assert not cpu.linear_weight_grad_by_rows(np.repeat(g, 2, axis=0), np.repeat(x, 2, axis=0))  # 8 rows: the GEMM
    x[2, 5] = np.nan
    out = CPU.linear_forward(x, weight)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()
    gw = CPU.linear_weight_grad(g, x)
    assert np.isnan(gw[:, 5]).all() and np.isfinite(np.delete(gw, 5, axis=1)).all()


def test_a_large_weight_at_a_few_dozen_rows_is_multiplied_from_the_left():
    """A large float64 weight at 9 to 32 rows: out computed as (W @ x.T).T, the same product as x @ W.T (float32
    takes the SIMD products below)."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((120, 3072))
    for rows in (9, 32):
        x = rng.standard_normal((rows, 3072))
        assert cpu.linear_forward_by_weight(x, weight) and not cpu.linear_forward_skinny(x, weight)
        out = CPU.linear_forward(x, weight)
        assert out.shape == (rows, 120) and out.flags.c_contiguous
        np.testing.assert_allclose(out, x @ weight.T, rtol=1e-12, atol=1e-12)
    assert not cpu.linear_forward_by_weight(np.ones((64, 3072)), weight)      # 64 rows: x @ W.T
    assert not cpu.linear_forward_by_weight(np.ones((32, 400)), weight[:, :400])  # a small weight


@pytest.mark.parametrize("N, R, K", [(32, 120, 3072), (9, 120, 3072), (17, 7, 16000), (20, 131, 1024)])
def test_skinny_products_match_float64_and_give_the_same_bits_on_one_thread_or_two(N, R, K):
    """BoringNet's first layer at 9 to 32 rows in float32 (and odd row counts, a weight with fewer rows than a
    thread's tile, one whose rows split unevenly): forward and weight gradient close to float64's, and the two
    threads' halves bit-identical to the serial loop (each output is one chain of operations wherever it falls)."""
    rng = np.random.default_rng(N)
    x, weight = rng.standard_normal((N, K), dtype=np.float32), rng.standard_normal((R, K), dtype=np.float32)
    g = rng.standard_normal((N, R), dtype=np.float32)
    assert cpu.linear_forward_skinny(x, weight) and cpu.linear_weight_grad_skinny(g, x)
    out, gw = CPU.linear_forward(x, weight), CPU.linear_weight_grad(g, x)
    np.testing.assert_allclose(out, x.astype(np.float64) @ weight.T.astype(np.float64), rtol=1e-4,
                               atol=1e-5 * np.sqrt(K))
    np.testing.assert_allclose(gw, g.T.astype(np.float64) @ x.astype(np.float64), rtol=1e-4, atol=1e-5 * np.sqrt(N))
    part = np.empty((N, R, cpu_skinny.LANES), np.float32)
    serial, halves = np.empty_like(out), np.empty_like(out)
    cpu_skinny._forward_rows(x, weight, serial, part, 0, R)
    cpu_skinny._forward_halves(x, weight, halves, part)
    assert serial.tobytes() == halves.tobytes() == out.tobytes()
    serial, halves = np.empty_like(gw), np.empty_like(gw)
    cpu_skinny._weight_grad_rows(g, x, serial, 0, R)
    cpu_skinny._weight_grad_halves(g, x, halves)
    assert serial.tobytes() == halves.tobytes() == gw.tobytes()


def test_skinny_products_where_they_apply_and_a_nan_reaches_its_row(monkeypatch):
    """Taken for float32 C-contiguous arrays, a large weight, 9 to 32 rows and whole vectors; a forked child runs
    the serial loop (GNU OpenMP is not fork-safe), with the same bits; a NaN reaches exactly its outputs."""
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((32, 3072), dtype=np.float32), rng.standard_normal((120, 3072), dtype=np.float32)
    g = rng.standard_normal((32, 120), dtype=np.float32)
    for a, b in [(x.astype(np.float64), weight.astype(np.float64)), (np.asfortranarray(x), weight),
                 (x[:8], weight), (np.repeat(x, 2, axis=0), weight), (x[:, :400], weight[:, :400]),
                 (np.ones((32, 3004), np.float32), np.ones((120, 3004), np.float32))]:  # 3004: not whole vectors
        assert not cpu.linear_forward_skinny(a, b)
    assert not cpu.linear_weight_grad_skinny(g[:4], x[:4]) and not cpu.linear_weight_grad_skinny(g[:, :20], x)
    monkeypatch.setattr(loops, "_last_split", [float("-inf")])
    out = CPU.linear_forward(x, weight)
    # on two threads, GEMMs elsewhere keep BLAS to one thread for a while: its spinning worker and OpenMP's
    # would share the second core (a 3072-1024-1024-10 MLP's step at batch 32 took 2-4x as long)
    assert loops.splitting() == cpu_skinny._two_threads()
    gw = CPU.linear_weight_grad(g, x)
    pid = os.fork()
    if pid == 0:  # the child only reports what it was told at fork
        os._exit(0 if cpu_skinny._forked[0] else 1)
    assert os.waitpid(pid, 0)[1] == 0 and not cpu_skinny._forked[0]
    monkeypatch.setattr(cpu_skinny, "_forked", [True])
    assert not cpu_skinny._two_threads()
    assert CPU.linear_forward(x, weight).tobytes() == out.tobytes()
    assert CPU.linear_weight_grad(g, x).tobytes() == gw.tobytes()
    x[2, 5] = np.nan
    out = CPU.linear_forward(x, weight)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()
    gw = CPU.linear_weight_grad(g, x)
    assert np.isnan(gw[:, 5]).all() and np.isfinite(np.delete(gw, 5, axis=1)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_running_stats_loop_is_bit_identical_to_the_reference(dtype):
    rng = np.random.default_rng(3)
    stats = [rng.standard_normal(13).astype(dtype) for _ in range(2)]
    mean, var = rng.standard_normal(13).astype(dtype), rng.random(13).astype(dtype)
    want = [a.copy() for a in stats]
    REF.batch_norm_running_stats(*want, mean, var, 0.1, 7)
    CPU.batch_norm_running_stats(*stats, mean, var, 0.1, 7)
    for got, expected in zip(stats, want, strict=True):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)


def test_max_pool_op_keeps_indices_only_where_needed(monkeypatch):
    """Under no_grad the op asks for no indices unless return_indices does; the maxima are the same."""
    import minitorch as mt
    import minitorch.nn.functional as F
    from minitorch.ops import pooling

    asked: list[bool] = []
    real = pooling.max_pool_forward
    monkeypatch.setattr(pooling, "max_pool_forward", lambda *args: asked.append(args[-1]) or real(*args))
    x = mt.tensor(np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    with_grad = F.max_pool2d(x, 2)
    with mt.no_grad():
        without = F.max_pool2d(x, 2)
        out, indices = F.max_pool2d(x, 2, return_indices=True)
    assert asked == [True, False, True]
    np.testing.assert_array_equal(without.numpy(), with_grad.numpy())
    np.testing.assert_array_equal(out.numpy(), with_grad.numpy())
    assert indices.shape == out.shape


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64, np.bool_])
def test_one_hot_kernel_matches_the_reference_and_names_the_range(dtype):
    rng = np.random.default_rng(4)
    target = rng.integers(0, 7, (3, 5)).astype(np.int32)[:, ::2]   # not contiguous, not int64
    got = kernels.one_hot.on(cpu)(target, 7, np.dtype(dtype))
    np.testing.assert_array_equal(got, kernels.one_hot.on(reference)(target, 7, np.dtype(dtype)))
    assert got.shape == (3, 3, 7) and got.dtype == dtype
    for mod in (reference, cpu):
        for bad in (7, -1):
            t = target.copy()
            t[1, 1] = bad
            with pytest.raises(ValueError, match=rf"\[0, 7\), got min {t.min()} max {t.max()}$"):
                kernels.one_hot.on(mod)(t, 7, np.dtype(dtype))
