"""minitorch on the GPU (CuPy) against minitorch on the CPU (NumPy) and the reference kernels.

Every class here is marked ``gpu``: where CuPy or a GPU is missing, its tests are skipped with the
reason (see conftest.py).  The last test needs no GPU: it checks the error a CPU-only machine gives.

* kernels: each function of minitorch/kernels/cuda.py against kernels/reference.py run on NumPy,
  on random shapes, float32 and float64;
* ops: forward and every input gradient on ``device="cuda"`` against the same on the CPU;
* layers: Linear, Conv2d (stride, padding), BatchNorm1d/2d (train and eval, running statistics),
  MaxPool2d, Flatten, moved with ``Module.to("cuda")``;
* ten CoolNet training steps (SGD, momentum 0.9, batch 8, float32) on both devices;
* save/load of a CUDA model and optimizer; the DataLoader with ``device="cuda"``.

Tolerance: max|gpu - cpu| <= tol * max|cpu| (tol 1e-4 in float32, 1e-9 in float64).
"""
from __future__ import annotations

import sys
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from mt_core_helpers import coolnet  # tests/ is on sys.path (tests/conftest.py)

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch import backend, kernels
from minitorch.kernels import reference


def on(module):
    """Every kernel as ``module`` implements it, allocating its outputs (what a kernel call does)."""
    return SimpleNamespace(**{name: k.on(module) for name, k in kernels.KERNELS.items()})


REF = on(reference)

gpu = pytest.mark.gpu
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]
TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def host(a):
    """A NumPy copy of a Tensor, a CuPy array or a NumPy array."""
    if isinstance(a, mt.Tensor):
        a = a.numpy()
    return backend.to_numpy(a)


def assert_close(actual, expected, tol: float, what: str = "") -> None:
    """max|a - b| <= tol * max|b| (max|b| taken as 1 when b is all zero); shapes and dtypes equal."""
    a, b = host(actual), host(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    if b.size == 0:
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert np.array_equal(np.isnan(a64), np.isnan(b64)), f"{what}: NaNs differ"
    finite = ~np.isnan(b64)
    if not finite.any():
        return
    err = float(np.max(np.abs(a64[finite] - b64[finite])))
    scale = float(np.max(np.abs(b64[finite])))
    bound = tol * (scale if scale > 0 else 1.0)
    assert err <= bound, f"{what}: max abs error {err:.3g} > {bound:.3g} (tol {tol:g}, scale {scale:.3g})"


def rel_norm_error(actual, expected) -> float:
    a, b = host(actual).astype(np.float64), host(expected).astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def is_cupy(a) -> bool:
    cp = backend._load_cupy()
    if isinstance(a, mt.Tensor):
        a = a._data
    return isinstance(a, cp.ndarray)


# ----------------------------------------------------------------------------- kernels
def out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def random_conv_geometry(rng):
    """(N, C, H, W), kernel, stride, padding with at least one output position."""
    while True:
        N, C = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        H, W = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        k, s, p = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if out_size(H, k, s, p) > 0 and out_size(W, k, s, p) > 0:
            return (N, C, H, W), k, s, p


def random_pool_geometry(rng):
    while True:
        shape, k, s, p = random_conv_geometry(rng)
        p = min(p, k // 2)  # max_pool2d allows padding up to half the kernel
        if out_size(shape[2], k, s, p) > 0 and out_size(shape[3], k, s, p) > 0:
            return shape, k, s, p


@gpu
class TestKernels:
    """minitorch/kernels/cuda.py against kernels/reference.py on NumPy."""

    @pytest.fixture(autouse=True)
    def _kernels(self, cp):
        from minitorch.kernels import cuda

        self.cp, self.cuda = cp, cuda

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("seed", range(8))
    def test_im2col(self, seed, dtype):
        rng = np.random.default_rng(seed)
        shape, k, s, p = random_conv_geometry(rng)
        kw = k if seed % 2 else max(1, min(k + 1, shape[3] + 2 * p))  # a non-square kernel too
        x = rng.standard_normal(shape).astype(dtype)
        got = on(self.cuda).im2col(self.cp.asarray(x), k, kw, s, p)
        assert is_cupy(got) and got.dtype == dtype
        np.testing.assert_array_equal(host(got), REF.im2col(x, k, kw, s, p))
        # a non-contiguous input gives the same columns
        xt = self.cp.asarray(np.ascontiguousarray(x.transpose(0, 1, 3, 2))).transpose(0, 1, 3, 2)
        np.testing.assert_array_equal(host(on(self.cuda).im2col(xt, k, kw, s, p)), REF.im2col(x, k, kw, s, p))

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("seed", range(8))
    def test_col2im(self, seed, dtype):
        rng = np.random.default_rng(100 + seed)
        shape, k, s, p = random_conv_geometry(rng)
        N, C, H, W = shape
        cols = rng.standard_normal((C * k * k, N * out_size(H, k, s, p) * out_size(W, k, s, p))).astype(dtype)
        got = on(self.cuda).col2im(self.cp.asarray(cols), shape, k, k, s, p)
        assert is_cupy(got) and got.shape == shape and got.dtype == dtype
        want = REF.col2im(cols, shape, k, k, s, p)
        tol = 1e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(host(got), want, rtol=tol, atol=tol)

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("seed", range(8))
    def test_max_pool(self, seed, dtype):
        rng = np.random.default_rng(200 + seed)
        shape, k, s, p = random_pool_geometry(rng)
        x = rng.standard_normal(shape).astype(dtype)
        if seed % 2:
            x = np.round(x)  # many ties: the first maximum in row-major window order must win
        out, argmax = on(self.cuda).max_pool_forward(self.cp.asarray(x), k, s, p, True)
        want_out, want_arg = REF.max_pool_forward(x, k, s, p, True)
        assert out.dtype == dtype and argmax.dtype == np.int64
        np.testing.assert_array_equal(host(out), want_out)
        np.testing.assert_array_equal(host(argmax), want_arg)
        g = rng.standard_normal(want_out.shape).astype(dtype)
        got = on(self.cuda).max_pool_backward(self.cp.asarray(g), argmax, shape)
        tol = 1e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(host(got), REF.max_pool_backward(g, want_arg, shape), rtol=tol, atol=tol)

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    def test_max_pool_nan_wins_like_the_cpu_kernel(self, dtype):
        from minitorch.kernels import cpu

        rng = np.random.default_rng(7)
        x = rng.standard_normal((2, 3, 7, 7)).astype(dtype)
        x[0, 0, 1, 1] = x[1, 2, 4, 5] = x[1, 2, 5, 5] = np.nan
        out, argmax = on(self.cuda).max_pool_forward(self.cp.asarray(x), 3, 2, 1, True)
        want_out, want_arg = kernels.max_pool_forward.on(cpu)(x, 3, 2, 1, True)
        np.testing.assert_array_equal(host(out), want_out)  # NaNs in the same places
        np.testing.assert_array_equal(host(argmax), want_arg)

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("shape", [(8, 3, 1), (4, 5, 7), (16, 3, 2000), (2, 2, 40000)],
                             ids=["bn1d", "small", "chunked", "many-chunks"])
    @pytest.mark.parametrize("mode", ["train", "eval"])
    def test_batch_norm(self, shape, dtype, mode):
        cp = self.cp
        rng = np.random.default_rng(sum(shape))
        x = (rng.standard_normal(shape) * 2 + 3).astype(dtype)
        C = shape[1]
        w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
        rm, rv = rng.standard_normal(C).astype(dtype), (rng.random(C) + 0.5).astype(dtype)
        training = mode == "train"
        given_ref = (None, None) if training else (rm.copy(), rv.copy())
        given_gpu = (None, None) if training else (cp.asarray(rm), cp.asarray(rv))
        want = REF.batch_norm_forward(x, w, b, *given_ref, 1e-5, True)
        got = on(self.cuda).batch_norm_forward(cp.asarray(x), cp.asarray(w), cp.asarray(b), *given_gpu, 1e-5, True)
        tol = TOL[np.dtype(dtype)] / 10
        for name, a, e in zip(("out", "xhat", "scale", "batch_mean", "batch_var"), got, want, strict=True):
            if e is None:  # evaluation: no batch statistics
                assert a is None, name
                continue
            assert is_cupy(a)
            assert_close(a, e, tol, name)
        if not training:  # the given statistics are only read
            np.testing.assert_array_equal(host(given_gpu[0]), rm)
            np.testing.assert_array_equal(host(given_gpu[1]), rv)
        g = rng.standard_normal(shape).astype(dtype)
        got_b = on(self.cuda).batch_norm_backward(cp.asarray(g), got[1], got[2], training)
        want_b = REF.batch_norm_backward(g, want[1], want[2], training)
        for name, a, e in zip(("grad_x", "grad_weight", "grad_bias"), got_b, want_b, strict=False):
            assert_close(a, e, tol, name)

    def test_dispatch_uses_the_cuda_kernels(self):
        import os

        from minitorch import kernels

        x = self.cp.asarray(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
        if os.environ.get("MINITORCH_CUDA_KERNELS", "").lower() != "reference":
            assert kernels.backend(x) is self.cuda
        cols = kernels.im2col(x, 3, 3, 1, 1)
        assert is_cupy(cols)
        out, argmax = kernels.max_pool_forward(x, 2, 2, 0, True)
        assert is_cupy(out) and is_cupy(argmax)


# ----------------------------------------------------------------------------- ops
def _pos(rng, shape, dtype):
    return (rng.random(shape) + 0.5).astype(dtype)


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# name -> (function of tensors, input makers (rng, dtype) -> array)
def _in_place(a, b):
    h = a * 2
    h.add_(b)
    h.mul_(b)
    h[1] = b * 3
    h /= b
    return h


OPS = {
    "add": (lambda a, b: a + b, [lambda r, d: _normal(r, (3, 4), d), lambda r, d: _normal(r, (4,), d)]),
    "sub": (lambda a, b: a - b, [lambda r, d: _normal(r, (3, 4), d), lambda r, d: _normal(r, (3, 1), d)]),
    "mul": (lambda a, b: a * b, [lambda r, d: _normal(r, (2, 3, 4), d), lambda r, d: _normal(r, (3, 4), d)]),
    "div": (lambda a, b: a / b, [lambda r, d: _normal(r, (3, 4), d), lambda r, d: _pos(r, (3, 4), d)]),
    "pow-scalar": (lambda a: a ** 3, [lambda r, d: _normal(r, (3, 4), d)]),
    "pow-tensor": (lambda a, b: a ** b, [lambda r, d: _pos(r, (3, 4), d), lambda r, d: _normal(r, (3, 4), d)]),
    "neg-rsub": (lambda a: 2.0 - (-a), [lambda r, d: _normal(r, (5,), d)]),
    "matmul": (lambda a, b: a @ b, [lambda r, d: _normal(r, (5, 7), d), lambda r, d: _normal(r, (7, 3), d)]),
    "matmul-batched": (lambda a, b: a @ b, [lambda r, d: _normal(r, (2, 5, 7), d), lambda r, d: _normal(r, (7, 3), d)]),
    "sum": (lambda a: a.sum(), [lambda r, d: _normal(r, (3, 4, 5), d)]),
    "sum-axis": (lambda a: a.sum(axis=(0, 2), keepdims=True), [lambda r, d: _normal(r, (3, 4, 5), d)]),
    "mean": (lambda a: a.mean(dim=1), [lambda r, d: _normal(r, (3, 4, 5), d)]),
    "amax": (lambda a: a.amax(1), [lambda r, d: _normal(r, (4, 6), d)]),
    "max-all": (lambda a: a.max(), [lambda r, d: _normal(r, (4, 6), d)]),
    "max-dim": (lambda a: a.max(1).values * a.max(0, keepdim=True).indices.to(a.dtype).sum(),
                [lambda r, d: _normal(r, (4, 6), d)]),
    "min-dim": (lambda a: mt.min(a, -1, keepdim=True)[0], [lambda r, d: _normal(r, (2, 3, 4), d)]),
    "norm": (lambda a: a.norm() + a.norm(1, dim=1).sum() + a.norm(float("inf"), dim=0).sum(),
             [lambda r, d: _normal(r, (4, 6), d)]),
    "abs": (lambda a: abs(a), [lambda r, d: _normal(r, (4, 6), d)]),
    "cat": (lambda a, b: mt.cat([a, b, a], dim=1),
            [lambda r, d: _normal(r, (3, 2), d), lambda r, d: _normal(r, (3, 4), d)]),
    "stack": (lambda a, b: mt.stack([a, b], dim=-1),
              [lambda r, d: _normal(r, (3, 2), d), lambda r, d: _normal(r, (3, 2), d)]),
    "clone-unsqueeze": (lambda a: a.clone().unsqueeze(0).squeeze() * a, [lambda r, d: _normal(r, (3, 4), d)]),
    "in-place": (lambda a, b: _in_place(a, b), [lambda r, d: _normal(r, (3, 4), d), lambda r, d: _pos(r, (4,), d)]),
    "cast": (lambda a: a.double().float().double() * a.to(mt.float64), [lambda r, d: _normal(r, (3, 4), d)]),
    "reshape": (lambda a: a.reshape(4, 6) * 2, [lambda r, d: _normal(r, (2, 3, 4), d)]),
    "transpose": (lambda a: a.transpose(0, 2) * 2, [lambda r, d: _normal(r, (2, 3, 4), d)]),
    "permute-T": (lambda a: a.permute(2, 0, 1).T * 2, [lambda r, d: _normal(r, (2, 3, 4), d)]),
    "getitem-slice": (lambda a: a[1:, ::2], [lambda r, d: _normal(r, (4, 6), d)]),
    "getitem-repeat": (lambda a: a[[0, 2, 2, 3]], [lambda r, d: _normal(r, (4, 6), d)]),
    "exp": (lambda a: a.exp(), [lambda r, d: _normal(r, (3, 4), d)]),
    "log": (lambda a: a.log(), [lambda r, d: _pos(r, (3, 4), d)]),
    "relu": (lambda a: a.relu(), [lambda r, d: _normal(r, (3, 4), d)]),
    "softmax": (lambda a: F.softmax(a, dim=1), [lambda r, d: _normal(r, (4, 10), d)]),
    "log_softmax": (lambda a: F.log_softmax(a, dim=-1), [lambda r, d: _normal(r, (4, 10), d)]),
    "mse": (lambda a, b: F.mse_loss(a, b), [lambda r, d: _normal(r, (4, 3), d), lambda r, d: _normal(r, (4, 3), d)]),
    "mse-sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"),
                [lambda r, d: _normal(r, (4, 3), d), lambda r, d: _normal(r, (4, 3), d)]),
}


def run_op(fn, arrays, device, upstream_seed=0):
    """Forward on ``device``, backward with a fixed random upstream gradient: (out, grads) on the host."""
    tensors = [mt.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = fn(*tensors)
    assert out.device == device and all(t.device == device for t in tensors)
    up = np.random.default_rng(upstream_seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(up)
    for t in tensors:
        assert t.grad is not None and t.grad.device == device
    return host(out), [host(t.grad) for t in tensors]


@gpu
class TestOps:
    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("name", sorted(OPS))
    def test_op_matches_cpu(self, name, dtype):
        fn, makers = OPS[name]
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        arrays = [m(rng, dtype) for m in makers]
        out_cpu, grads_cpu = run_op(fn, arrays, "cpu")
        out_gpu, grads_gpu = run_op(fn, arrays, "cuda")
        tol = TOL[np.dtype(dtype)]
        assert_close(out_gpu, out_cpu, tol, f"{name} forward")
        for i, (g, c) in enumerate(zip(grads_gpu, grads_cpu, strict=False)):
            assert_close(g, c, tol, f"{name} grad of input {i}")

    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_cross_entropy_matches_cpu(self, reduction, dtype):
        rng = np.random.default_rng(3)
        logits = rng.standard_normal((6, 10)).astype(dtype) * 3
        target = rng.integers(0, 10, size=6).astype(np.int64)
        results = {}
        for device in ("cpu", "cuda"):
            x = mt.tensor(logits, requires_grad=True, device=device)
            y = mt.tensor(target, device=device)
            loss = F.cross_entropy(x, y, reduction=reduction)
            up = np.random.default_rng(1).standard_normal(loss.shape).astype(dtype)
            loss.backward(up)
            results[device] = (host(loss), host(x.grad))
        tol = TOL[np.dtype(dtype)]
        assert_close(results["cuda"][0], results["cpu"][0], tol, "loss")
        assert_close(results["cuda"][1], results["cpu"][1], tol, "grad")

    def test_factories_and_moves(self):
        x = mt.randn(3, 4, device="cuda")
        assert x.device == "cuda" and is_cupy(x) and x.dtype == np.float32
        assert mt.zeros(2, device="cuda").device == "cuda"
        back = x.to("cpu")
        assert back.device == "cpu" and isinstance(back._data, np.ndarray)
        np.testing.assert_array_equal(back.numpy(), x.numpy())
        assert x.cuda().device == "cuda" and x.cpu().device == "cpu"
        assert float((x * 0).sum().item()) == 0.0
        assert "device='cuda'" in repr(x)


# ----------------------------------------------------------------------------- layers
LAYERS = {
    "linear": (lambda: nn.Linear(7, 5), (6, 7)),
    "linear-nobias": (lambda: nn.Linear(7, 5, bias=False), (6, 7)),
    "conv": (lambda: nn.Conv2d(3, 4, 3), (2, 3, 8, 8)),
    "conv-stride-pad": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 9)),
    "conv-5x5-pad2": (lambda: nn.Conv2d(2, 3, 5, padding=2, bias=False), (3, 2, 7, 6)),
    "bn1d": (lambda: nn.BatchNorm1d(5), (8, 5)),
    "bn1d-3d": (lambda: nn.BatchNorm1d(5), (8, 5, 3)),
    "bn2d": (lambda: nn.BatchNorm2d(4), (6, 4, 5, 5)),
    "maxpool": (lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
    "maxpool-3-2-1": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 7)),
    "flatten": (lambda: nn.Flatten(), (2, 3, 4, 4)),
    "relu": (lambda: nn.ReLU(), (4, 6)),
}


def run_layer(make, shape, device, dtype, train: bool, steps: int = 2):
    """A layer from seed 0, moved to ``device``; ``steps`` forward/backward passes.

    Returns the last output, input gradient, parameter gradients and buffers, all on the host.
    """
    mt.manual_seed(0)
    layer = make().to(dtype).to(device)
    layer.train(train)
    rng = np.random.default_rng(1)
    out = x = None
    for _ in range(steps):
        layer.zero_grad()
        x = mt.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True, device=device)
        out = layer(x)
        assert out.device == device
        out.backward(rng.standard_normal(out.shape).astype(dtype))
    params = {n: host(p.grad) for n, p in layer.named_parameters()}
    buffers = {n: host(b) for n, b in layer.named_buffers()}
    for n, p in layer.named_parameters():
        assert p.device == device and p.grad.device == device, n
    return host(out), host(x.grad), params, buffers


@gpu
class TestLayers:
    @pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
    @pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
    @pytest.mark.parametrize("name", sorted(LAYERS))
    def test_layer_matches_cpu(self, name, train, dtype):
        make, shape = LAYERS[name]
        cpu = run_layer(make, shape, "cpu", dtype, train)
        gpu_ = run_layer(make, shape, "cuda", dtype, train)
        tol = TOL[np.dtype(dtype)]
        assert_close(gpu_[0], cpu[0], tol, f"{name} output")
        assert_close(gpu_[1], cpu[1], tol, f"{name} input grad")
        assert gpu_[2].keys() == cpu[2].keys() and gpu_[3].keys() == cpu[3].keys()
        for key in cpu[2]:
            assert_close(gpu_[2][key], cpu[2][key], tol, f"{name} grad of {key}")
        for key in cpu[3]:  # running statistics (and num_batches_tracked)
            assert_close(gpu_[3][key], cpu[3][key], tol, f"{name} buffer {key}")

    def test_module_to_moves_everything_and_back(self):
        mt.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
        before = {k: v.numpy() for k, v in model.state_dict().items()}
        model.to("cuda")
        assert all(is_cupy(v) for v in model.state_dict().values())
        model.to("cpu")
        for k, v in model.state_dict().items():
            assert isinstance(v._data, np.ndarray)
            np.testing.assert_array_equal(v.numpy(), before[k])


# ----------------------------------------------------------------------------- training
# coolnet() is the core suite's (tests/mt_core_helpers.py), so both suites train the same network.
def train_coolnet(device: str, steps: int = 10, batch: int = 8):
    mt.manual_seed(0)
    model = coolnet().to(device)
    model.train()
    opt = mt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(42)
    losses = []
    for _ in range(steps):
        x = mt.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), device=device)
        y = mt.tensor(rng.integers(0, 10, size=batch).astype(np.int64), device=device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return model, losses


@gpu
class TestTraining:
    def test_ten_coolnet_steps_match_cpu(self):
        cpu_model, cpu_losses = train_coolnet("cpu")
        gpu_model, gpu_losses = train_coolnet("cuda")
        np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4)
        cpu_state, gpu_state = cpu_model.state_dict(), gpu_model.state_dict()
        assert cpu_state.keys() == gpu_state.keys()
        for key in cpu_state:
            assert is_cupy(gpu_state[key]), key
            if cpu_state[key].dtype.kind == "f":
                err = rel_norm_error(gpu_state[key], cpu_state[key])
                assert err <= 1e-4, f"{key}: relative error {err:.3g} after 10 steps"
            else:
                np.testing.assert_array_equal(host(gpu_state[key]), host(cpu_state[key]))

    def test_eval_forward_after_training_matches_cpu(self):
        cpu_model, _ = train_coolnet("cpu", steps=3)
        gpu_model, _ = train_coolnet("cuda", steps=3)
        x = np.random.default_rng(9).standard_normal((5, 3, 32, 32)).astype(np.float32)
        with mt.no_grad():
            a = cpu_model.eval()(mt.tensor(x))
            b = gpu_model.eval()(mt.tensor(x, device="cuda"))
        assert_close(b, a, 1e-4, "eval logits")


# ----------------------------------------------------------------------------- save/load, data
def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


@gpu
class TestIO:
    def test_save_load_cuda_state_comes_back_on_the_host(self, tmp_path):
        model, _ = train_coolnet("cuda", steps=2)
        opt = mt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss = F.cross_entropy(model(mt.randn(4, 3, 32, 32, device="cuda")),
                               mt.tensor(np.arange(4, dtype=np.int64), device="cuda"))
        loss.backward()
        opt.step()
        path = tmp_path / "ckpt.npz"
        mt.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": 3}, path)
        on_gpu = mt.load(path)  # tensors come back where they were saved, as in PyTorch
        assert all(leaf.device == "cuda" for leaf in _leaves(on_gpu["model"]))
        state = mt.load(path, map_location="cpu")
        assert state["step"] == 3
        for leaf in _leaves(state):
            if isinstance(leaf, mt.Tensor):
                assert leaf.device == "cpu" and isinstance(leaf._data, np.ndarray)
            else:
                assert not is_cupy(leaf)
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(state["model"][key].numpy(), host(value))
        # and back into a model on the GPU
        mt.manual_seed(123)
        fresh = coolnet().to("cuda")
        fresh.load_state_dict(state["model"])
        for key, value in fresh.state_dict().items():
            assert is_cupy(value)
            np.testing.assert_array_equal(host(value), host(model.state_dict()[key]))

    def test_dataloader_yields_cuda_tensors(self):
        from minitorch.data import DataLoader, TensorDataset

        rng = np.random.default_rng(0)
        xs = rng.standard_normal((20, 3, 8, 8)).astype(np.float32)
        ys = rng.integers(0, 10, size=20).astype(np.int64)
        gpu_loader = DataLoader(TensorDataset(xs, ys), batch_size=8, shuffle=True, seed=5, device="cuda")
        cpu_loader = DataLoader(TensorDataset(xs, ys), batch_size=8, shuffle=True, seed=5)
        batches = list(gpu_loader)
        assert [len(b[0]) for b in batches] == [8, 8, 4]
        for (xg, yg), (xc, yc) in zip(batches, cpu_loader, strict=False):
            assert isinstance(xg, mt.Tensor) and xg.device == "cuda" and is_cupy(xg) and is_cupy(yg)
            assert xg.dtype == np.float32 and yg.dtype == np.int64
            np.testing.assert_array_equal(host(xg), host(xc))
            np.testing.assert_array_equal(host(yg), host(yc))

    def test_dataloader_on_synthetic_images_feeds_coolnet(self):
        from minitorch.data import CIFAR10_MEAN, CIFAR10_STD, DataLoader, SyntheticImages
        from minitorch.data import transforms as T

        ds = SyntheticImages(train=False, size=16, seed=0,
                             transform=T.Compose([T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)]))
        loader = DataLoader(ds, batch_size=8, device="cuda")
        mt.manual_seed(0)
        model = coolnet().to("cuda")
        for images, labels in loader:
            assert images.device == "cuda" and images.shape == (8, 3, 32, 32)
            loss = F.cross_entropy(model(images), labels)
            assert np.isfinite(loss.item())


# ----------------------------------------------------------------------------- no GPU needed
def test_cuda_without_cupy_raises_device_error(monkeypatch):
    """Where CuPy cannot be imported, asking for "cuda" raises DeviceError naming CuPy.

    Runs on every machine: the import of cupy is made to fail (and restored afterwards).
    """
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    with pytest.raises(backend.DeviceError, match="CuPy"):
        mt.tensor([1.0], device="cuda")
    with pytest.raises(backend.DeviceError, match="CuPy"):
        mt.zeros(2, device="cuda")
    assert backend.cupy_available() is False
