"""Large batches' CPU paths: batch norm's x * k + shift pass against its formula, bit for bit, and every kernel
that splits a large batch over threads (kernels/loops.run_split) giving exactly the values of one whole call,
eagerly and in a captured step's replays."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import minitorch as mt
from minitorch import kernels
from minitorch.kernels import cpu, loops
from minitorch.step_capture import training_step
from tests.core.test_kernels import CPU

DTYPES = [np.float32, np.float64]


@pytest.fixture
def split_everything(monkeypatch):
    """Every batch of two or more images goes in parts, on three threads (parts of 1 and 2 images at N = 4)."""
    monkeypatch.setattr(loops, "SPLIT_MIN_VALUES", 0)
    monkeypatch.setattr(loops.numba.config, "NUMBA_NUM_THREADS", 3)
    monkeypatch.setattr(loops, "_POOL", [])


def whole_then_split(monkeypatch, call):
    """call() with splitting off, then with every batch split (three threads)."""
    monkeypatch.setattr(loops, "SPLIT_MIN_VALUES", 1 << 62)
    whole = call()
    monkeypatch.setattr(loops, "SPLIT_MIN_VALUES", 0)
    monkeypatch.setattr(loops.numba.config, "NUMBA_NUM_THREADS", 3)
    monkeypatch.setattr(loops, "_POOL", [])
    return whole, call()


def bn_inputs(rng, shape, dtype):
    C = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w, b = rng.uniform(-1.5, 1.5, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    mean, var = rng.standard_normal(C).astype(dtype), rng.uniform(0.01, 3, C).astype(dtype)
    return x, w, b, mean, var


def fma(a, b, c):
    """a * b + c rounded once to float64 (exact rationals, then the nearest float), elementwise."""
    exact = np.frompyfunc(lambda p, q, r: float(Fraction(float(p)) * Fraction(float(q)) + Fraction(float(r))), 3, 1)
    return exact(a, b, c).astype(np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(5, 3, 37), (9, 7, 1), (1, 4, 16)])
@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_batch_norm_eval_without_xhat_is_its_formula_bit_for_bit(request, shape, dtype, split):
    # the formula the CPU kernel has always used in evaluation: per channel, in float64,
    # k = weight / sqrt(var + eps) and shift = bias - mean * k; then x * k + shift in float64, rounded to
    # the dtype.  The compiler may fuse either multiply-add into one rounding (it fuses both on an FMA machine)
    if split:
        request.getfixturevalue("split_everything")
    x, w, b, mean, var = bn_inputs(np.random.default_rng(sum(shape)), shape, dtype)
    eps = 1e-5
    k = 1.0 / np.sqrt(var.astype(np.float64) + eps) * w.astype(np.float64)
    b64, mean64, x64 = b.astype(np.float64), mean.astype(np.float64), x.astype(np.float64)
    shifts = [b64 - mean64 * k, fma(-mean64, k, b64)]
    wants = [op(x64, k[:, None], shift[:, None]).astype(dtype)
             for shift in shifts for op in (lambda a, p, q: a * p + q, fma)]
    out, xhat, scale, batch_mean, batch_var = CPU.batch_norm_forward(x, w, b, mean, var, eps, False)
    assert xhat is None and batch_mean is None and batch_var is None
    assert out.dtype == dtype
    assert any(np.array_equal(out, want) for want in wants)
    np.testing.assert_array_equal(scale, (1.0 / np.sqrt(var.astype(np.float64) + eps) * w).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_without_xhat_split_is_the_whole_call(monkeypatch, training, dtype):
    x, w, b, mean, var = bn_inputs(np.random.default_rng(3), (7, 5, 13), dtype)
    given = (None, None) if training else (mean, var)
    whole, split = whole_then_split(monkeypatch, lambda: CPU.batch_norm_forward(x, w, b, *given, 1e-5, False))
    for a, c in zip(whole, split, strict=True):
        if a is None:
            assert c is None
        else:
            np.testing.assert_array_equal(c, a)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("keep_mask", [False, True])
def test_relu_split_is_the_whole_call(monkeypatch, dtype, keep_mask):
    a = np.random.default_rng(4).standard_normal((6, 3, 5, 5)).astype(dtype)
    a[1, 0, 0, :3] = [np.nan, -np.inf, np.inf]
    whole, split = whole_then_split(monkeypatch, lambda: CPU.relu_forward(a, keep_mask))
    np.testing.assert_array_equal(split[0], whole[0])  # NaN == NaN here
    np.testing.assert_array_equal(split[0], np.where((a > 0) | np.isnan(a), a, 0))
    if keep_mask:
        np.testing.assert_array_equal(split[1], a > 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf], ids=["finite", "nan", "inf"])
def test_max_pool_values_split_is_the_whole_call_and_a_bad_part_falls_back(monkeypatch, dtype, bad):
    x = np.random.default_rng(5).standard_normal((5, 2, 6, 8)).astype(dtype)
    if bad is not None:
        x[4, 1, 2, 3] = bad  # in the last part only
    whole, split = whole_then_split(monkeypatch, lambda: CPU.max_pool_forward(x, 2, 2, 0, False))
    assert whole[1] is split[1] is None
    np.testing.assert_array_equal(split[0], whole[0])
    windows = x.reshape(5, 2, 3, 2, 4, 2)
    want = np.where(np.isnan(windows).any(axis=(3, 5)), np.nan, windows.max(axis=(3, 5)))
    np.testing.assert_array_equal(split[0], want)


@pytest.mark.parametrize("padding", [0, 2])
def test_simd_conv_forward_split_is_the_whole_call(monkeypatch, padding):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((21, 3, 9, 9)).astype(np.float32)  # parts of 7 images: a block of 4 and 3 left over
    weight, bias = rng.standard_normal((4, 3, 5, 5)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    whole, split = whole_then_split(monkeypatch, lambda: CPU.conv2d_forward(x, weight, bias, padding))
    np.testing.assert_array_equal(split, whole)
    np.testing.assert_allclose(whole, kernels.conv2d_forward.on(kernels.reference)(x, weight, bias, padding),
                               rtol=1e-4, atol=1e-4)


def test_a_replay_splits_where_the_eager_call_does(split_everything):
    a = np.random.default_rng(7).standard_normal(64)
    out, mask = np.empty_like(a), np.empty(64, dtype=bool)
    loop, args = cpu.relu_forward.replay(a, True, out, mask)
    assert type(loop) is loops.InParts and loop.batched == (0, 1, 2) and len(args) == 4
    assert np.shares_memory(args[0], a)  # the very arrays, at the top level (a replay may rebind an input there)
    assert loop.loop is not cpu._relu_forward  # the compiled entry point, not the dispatcher
    assert loop(*args) == [None, None, None]  # three parts
    np.testing.assert_array_equal(out, np.maximum(a, 0))
    assert loops.run_split(lambda v: v.shape[0], (a,), (0,)) == [21, 21, 22]


def test_a_split_within_a_part_runs_that_part_whole(split_everything):
    """A loop that splits again (a kernel's wrapper called in parts) must not wait on the pool its own part holds:
    the pool's threads run their parts whole."""
    import threading

    def inner(a):
        return sum(loops.run_split(lambda v: v.shape[0], (a,), (0,)))

    results = []
    worker = threading.Thread(target=lambda: results.append(loops.run_split(inner, (np.zeros(12),), (0,))),
                              daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "nested run_split deadlocked"
    assert results == [[4, 4, 4]]


def test_split_threads_follow_numba_num_threads(monkeypatch):
    monkeypatch.setattr(loops, "SPLIT_MIN_VALUES", 0)
    monkeypatch.setattr(loops.numba.config, "NUMBA_NUM_THREADS", 1)
    assert loops.run_split(lambda v: v.shape[0], (np.zeros(10),), (0,)) == [10]


@pytest.mark.parametrize("padding", [0, 2])
def test_simd_conv_input_grad_split_is_the_whole_call(monkeypatch, padding):
    rng = np.random.default_rng(9)
    g = rng.standard_normal((21, 4, 9 + 2 * padding - 4, 9 + 2 * padding - 4)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    whole, split = whole_then_split(monkeypatch, lambda: CPU.conv2d_input_grad(g, weight, (21, 3, 9, 9), padding))
    np.testing.assert_array_equal(split, whole)
    np.testing.assert_allclose(whole, kernels.conv2d_input_grad.on(kernels.reference)(g, weight, (21, 3, 9, 9),
                                                                                      padding), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("bad", [None, np.nan], ids=["finite", "nan"])
def test_max_pool_with_indices_and_its_backward_split_are_the_whole_calls(monkeypatch, dtype, bad):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((5, 2, 6, 8)).astype(dtype)
    g = rng.standard_normal((5, 2, 3, 4)).astype(dtype)
    if bad is not None:
        x[4, 1, 2, 3] = bad  # in the last part only: the whole pool is redone by the general loop

    def both():
        out, argmax = CPU.max_pool_forward(x, 2, 2, 0, True)
        return out, argmax, CPU.max_pool_backward(g, argmax, x.shape), CPU.relu_backward(x, x > 0)

    whole, split = whole_then_split(monkeypatch, both)
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(b, a)
    want = kernels.max_pool_forward.on(kernels.reference)(x, 2, 2, 0, True)
    np.testing.assert_array_equal(split[0], want[0])
    np.testing.assert_array_equal(split[1], want[1])


def test_a_captured_step_that_splits_replays_the_eager_step_bit_for_bit(split_everything):
    """Training at a batch large enough to split (here every batch, on three threads): the replay runs the same
    parts, so parameters after eager steps and after replayed ones agree to the bit."""
    import minitorch.nn as nn
    import minitorch.nn.functional as F

    rng = np.random.default_rng(11)
    batches = [(mt.tensor(rng.standard_normal((7, 3, 16, 16), dtype=np.float32)), mt.tensor(rng.integers(0, 10, 7)))
               for _ in range(4)]
    runs = []
    for captured in (False, True):
        mt.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(54, 10))
        opt = mt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        run = training_step(model, F.cross_entropy, opt, capture=captured)
        losses = [run(*batches[i % 4]).item() for i in range(6)]
        if captured:
            assert run.counts["replayed"] >= 3
            program = next(iter(run.recordings.values()))[0].program
            assert sum(type(fn) is loops.InParts for fn, _, _ in program.steps) >= 6  # conv, ReLU: in parts
        runs.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("dtype", [mt.float32, mt.float64], ids=["f32", "f64"])
def test_coolnet_evaluation_logits_do_not_depend_on_the_split(monkeypatch, dtype):
    import minitorch.nn as nn

    mt.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 10),
    ).to(dtype)
    x = mt.tensor(np.random.default_rng(8).standard_normal((9, 3, 32, 32))).to(dtype)
    model.train()
    with mt.no_grad():
        model(x)  # running statistics away from (0, 1)
    model.eval()

    def logits():
        with mt.no_grad():
            return model(x).numpy().copy()

    whole, split = whole_then_split(monkeypatch, logits)
    assert whole.dtype == (np.float32 if dtype is mt.float32 else np.float64)
    np.testing.assert_array_equal(split, whole)


def test_gemms_run_on_one_blas_thread_for_a_while_after_a_split(monkeypatch):
    """After a loop ran in parts, Linear's GEMMs large enough for OpenBLAS to thread bind a matmul on one BLAS
    thread (OpenBLAS's spinning workers would take the cores the split needs), with the same bits; small ones,
    and any without a recent split, NumPy's own matmul."""
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(4)
    x, w, g = (rng.standard_normal(s, dtype=np.float32) for s in [(300, 64), (48, 64), (300, 48)])
    threads = []
    real_matmul = np.matmul

    def spy(*args):
        threads.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))
        return real_matmul(*args)

    monkeypatch.setattr(loops, "_last_split", [float("-inf")])
    assert not loops.splitting()
    assert cpu.linear_forward.__wrapped__(x, w, np.empty((300, 48), np.float32))[0] is np.matmul
    plain = CPU.linear_forward(x, w), CPU.linear_weight_grad(g, x)
    loops.run_split(lambda a: None, (np.zeros((2, 1 << 19), np.float32),), (0,))  # a split, if threads allow
    if loops.split_threads() < 2:
        loops._last_split[0] = loops.time.monotonic()   # one thread here: as if a split had just run
    assert loops.splitting()
    small = cpu.linear_forward.__wrapped__(x[:4], w[:8], np.empty((4, 8), np.float32))  # one BLAS thread anyway
    assert small[0] is np.matmul
    monkeypatch.setattr(loops.np, "matmul", spy)
    for kernel, args in [(cpu.linear_forward, (x, w, np.empty((300, 48), np.float32))),
                         (cpu.linear_weight_grad, (g, x, np.empty((48, 64), np.float32)))]:
        assert kernel.__wrapped__(*args)[0] is loops.matmul_beside_split
    split = CPU.linear_forward(x, w), CPU.linear_weight_grad(g, x)
    assert threads == [1, 1]
    for a, b in zip(plain, split, strict=True):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(loops, "_last_split", [loops.time.monotonic() - loops.BLAS_ALONE_AFTER_SPLIT_S - 1])
    assert not loops.splitting()
    threads.clear()  # a form bound during a split (a captured step's) gives BLAS its threads back afterwards
    loops.matmul_beside_split(x, w.T, np.empty((300, 48), np.float32))
    assert threads == [max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")]
