"""Replay programs as CUDA graphs (minitorch/step_capture/cuda_graph.py) and the capturable GEMM.

The first tests need no GPU: how a program is cut at its guards, and that a CPU program is left as it
is.  The rest are marked ``gpu`` (skipped, saying why, without CuPy and a GPU): a small training step
written as a program of CUDA kernel calls into preallocated arrays (conv, ReLU, max-pool, Linear,
cross-entropy, their gradients, SGD) replayed as a graph must equal the same program run eagerly
in the capturable mode bit for bit, and the cuBLAS replay within float32 rounding; the RawKernel GEMM
must equal cuBLAS within float32 rounding; a program that cannot be captured falls back to a plain
replay with a warning.
"""
from __future__ import annotations

import contextlib
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from minitorch.step_capture import cuda_graph
from minitorch.step_capture.program import Program, Stop, _guard

gpu = pytest.mark.gpu


# ---------------------------------------------------------------- no GPU needed
def test_segments_cut_at_the_guards():
    a = np.zeros(3)
    s1, s2, s3 = (np.add, (a, 1, a), {}), (np.multiply, (a, 2, a), {}), (np.negative, (a, a), {})
    guard = (_guard, (a, 0), {})
    got = cuda_graph.segments([s1, s2, guard, s3, guard])
    assert [kind for kind, _ in got] == ["graph", "guard", "graph", "guard"]
    assert got[0][1] == [s1, s2] and got[2][1] == [s3] and got[1][1] == [guard]
    assert cuda_graph.segments([]) == []


def test_a_cpu_program_is_not_wrapped():
    a = np.ones(4)
    program = Program([(np.add, (a, a, a), {})], ["numpy.add"])
    assert not cuda_graph.runs_on_gpu(program)
    assert cuda_graph.for_device(program) is program


class _FakeGpuArray:
    """Stands for a CuPy array where none can be made: capture tells them apart by their module."""

    __module__ = "cupy._core.core"


def test_a_gpu_step_under_capture_runs_eagerly_with_a_warning_unless_strict():
    from minitorch.step_capture import CaptureError, capture

    calls = []
    step = capture(lambda a: calls.append(a) or len(calls), strict=False)
    arg = _FakeGpuArray()
    with pytest.warns(RuntimeWarning, match="GPU \\(CuPy\\) argument.*run uncaptured"):
        assert step(arg) == 1
    assert step(arg) == 2 and step.counts["eager"] == 1  # the second call runs eagerly, without a new warning
    with pytest.raises(CaptureError, match="GPU"):
        capture(lambda a: a, strict=True)(arg)


# ------------------------------------------- the orchestration, on a model of CUDA stream capture
class FakeCuda:
    """A model of what GraphProgram uses of ``cupy.cuda``: work "launched" while a stream captures is
    recorded into the graph (not run), and a graph launch runs it; host reads refuse a capture."""

    def __init__(self) -> None:
        self.capturing: list | None = None
        outer = self

        class Stream:
            def __init__(self, non_blocking: bool = False) -> None:
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def wait_event(self, event) -> None:
                pass

            def record(self):
                return None

            def is_capturing(self) -> bool:
                return outer.capturing is not None

            def begin_capture(self) -> None:
                outer.capturing = []

            def end_capture(self):
                work, outer.capturing = outer.capturing, None
                return Graph(work)

        class Graph:
            def __init__(self, work: list) -> None:
                self.work = work

            def upload(self, stream) -> None:
                pass

            def launch(self, stream=None) -> None:
                for fn in self.work:
                    fn()

        class MemoryPool:
            def malloc(self, size):
                raise AssertionError("not used by the model")

        self.cuda = SimpleNamespace(Stream=Stream, MemoryPool=MemoryPool, get_current_stream=lambda: Stream(),
                                    using_allocator=lambda fn: contextlib.nullcontext())

    def launch(self, fn) -> None:
        """Device work: run now, or record it when a capture is under way."""
        if self.capturing is not None:
            self.capturing.append(fn)
        else:
            fn()

    def host_read(self, a) -> float:
        if self.capturing is not None:
            raise RuntimeError("operation not permitted when stream is capturing")
        return float(a.sum())


@pytest.fixture
def fake(monkeypatch):
    model = FakeCuda()
    monkeypatch.setitem(sys.modules, "cupy", SimpleNamespace(cuda=model.cuda))
    cuda_kernels = pytest.importorskip("minitorch.kernels.cuda", reason="kernels/cuda.py imports CuPy")
    monkeypatch.setattr(cuda_kernels, "cupy", SimpleNamespace(cuda=model.cuda))
    return model


def test_model_graph_runs_the_step_then_launches_one_graph_per_segment(fake):
    a, b = np.arange(4.0), np.empty(4)
    calls = []

    def double(src, dst):
        calls.append("double")
        fake.launch(lambda: np.multiply(src, 2.0, out=dst))

    def add_one(src, dst):
        fake.launch(lambda: np.add(src, 1.0, out=dst))

    program = Program([(double, (a, b), {}), (_guard, (b, 0), {}), (add_one, (b, a), {})], ["double", "guard", "add"])
    graph = cuda_graph.GraphProgram(program)
    graph.run()  # the warm-up runs the step: a = 2a + 1
    assert a.tolist() == [1.0, 3.0, 5.0, 7.0] and graph.launches == 2 and graph.fallback is None
    assert calls == ["double", "double"]  # the warm-up, then the capture (which records, not runs)
    graph.run()  # a launch: no Python step runs
    assert a.tolist() == [3.0, 7.0, 11.0, 15.0] and calls == ["double", "double"]
    a[0] = np.inf
    with pytest.raises(Stop):
        graph.run()
    assert a[1] == 7.0  # the graph after the guard did not run


def test_model_graph_falls_back_with_a_warning_when_a_step_reads_the_host(fake):
    a = np.ones(3)
    seen = []
    program = Program([(lambda x: seen.append(fake.host_read(x)), (a,), {})], ["reads_the_host"])
    graph = cuda_graph.GraphProgram(program)
    with pytest.warns(RuntimeWarning, match="CUDA graph: .*reads_the_host: RuntimeError: operation not permitted"):
        graph.run()
    assert seen == [3.0] and graph.fallback is not None and graph.launches == 0
    graph.run()
    assert seen == [3.0, 3.0]  # a plain replay


def test_model_graph_reports_a_deferred_check_after_the_launch(fake):
    from minitorch.kernels import cuda

    target = np.array([1, 2])
    flag = np.zeros((), bool)

    def check(t):
        fake.launch(lambda: np.copyto(flag, (t >= 3).any()))
        cuda._defer_or_raise(flag, "target out of range")

    graph = cuda_graph.GraphProgram(Program([(check, (target,), {})], ["check"]))
    graph.run()
    assert graph.launches == 1 and len(graph.checks) == 1
    graph.run()
    target[1] = 5
    with pytest.raises(ValueError, match="target out of range"):
        graph.run()
    with pytest.raises(ValueError, match="target out of range"):  # out of a capture: checked at once
        check(target)


# ---------------------------------------------------------------- GPU
def _tol_gemm(a, b, k):
    """Elementwise bound on |gemm - cuBLAS| for float32: two sums in different orders, each within
    k * eps * sum|a_ik b_kj| of the exact one."""
    eps = np.finfo(a.dtype).eps
    return 2 * max(k, 1) * eps * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))) + 1e-30


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("M, N, K, ta, tb", [
    (1, 1, 1, False, False), (4, 10, 84, False, True), (120, 4, 400, True, False),
    (6, 3200, 75, False, False), (150, 64, 1000, True, True), (257, 65, 17, False, True),
])
def test_gemm_kernel_matches_cublas(cp, dtype, M, N, K, ta, tb):
    from minitorch.kernels import cuda

    rng = np.random.default_rng(M * 7 + N + K)
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    da, db = cp.asarray(a), cp.asarray(b)
    da, db = (da.T if ta else da), (db.T if tb else db)  # transposed views: strides, not copies
    ours = cp.empty((M, N), dtype=dtype)
    with cuda.capturable():
        cuda.matmul(da, db, ours)
    blas = cp.empty((M, N), dtype=dtype)
    cuda.matmul(da, db, blas)  # outside the mode: cuBLAS
    ha, hb = (a.T if ta else a), (b.T if tb else b)
    err = np.abs(cp.asnumpy(ours).astype(np.float64) - cp.asnumpy(blas).astype(np.float64))
    assert (err <= _tol_gemm(ha, hb, K)).all(), f"max error {err.max():.3g}"


def _training_program(cp, batch: int = 4):
    """A LeNet-like step as a program of CUDA kernel calls into preallocated arrays, and its arrays."""
    from minitorch.kernels import cuda

    rng = np.random.default_rng(0)
    f32 = np.float32
    A = {
        "x": cp.asarray(rng.standard_normal((batch, 3, 12, 12)).astype(f32)),
        "t": cp.asarray(rng.integers(0, 10, batch)),
        "w": cp.asarray(rng.standard_normal((6, 3, 5, 5)).astype(f32) * 0.2),
        "b": cp.asarray(rng.standard_normal(6).astype(f32)),
        "W": cp.asarray(rng.standard_normal((10, 6 * 4 * 4)).astype(f32) * 0.1),
        "mom": cp.asarray(rng.standard_normal(10 * 96).astype(f32)),
        "scale": cp.full(batch, 1.0 / batch, dtype=f32),
    }
    e = {name: cp.empty(shape, dtype=dt) for name, shape, dt in [
        ("conv", (batch, 6, 8, 8), f32), ("relu", (batch, 6, 8, 8), f32), ("mask", (batch, 6, 8, 8), bool),
        ("pool", (batch, 6, 4, 4), f32), ("argmax", (batch, 6, 4, 4), np.int64), ("logits", (batch, 10), f32),
        ("losses", (batch,), f32), ("probs", (batch, 10), f32), ("glogits", (batch, 10), f32),
        ("gW", (10, 96), f32), ("gpool", (batch, 96), f32), ("grelu", (batch, 6, 8, 8), f32),
        ("gpre", (batch, 6, 8, 8), f32), ("gw", (6, 3, 5, 5), f32), ("gx", (batch, 3, 12, 12), f32),
    ]}
    A.update(e)
    flat = A["pool"].reshape(batch, -1)
    steps = [
        (cuda.conv2d_forward, (A["x"], A["w"], A["b"], 0, A["conv"]), {}),
        (cuda.relu_forward, (A["conv"], True, A["relu"], A["mask"]), {}),
        (cuda.max_pool_forward, (A["relu"], 2, 2, 0, True, A["pool"], A["argmax"]), {}),
        (cuda.linear_forward, (flat, A["W"], A["logits"]), {}),
        (cuda.cross_entropy_forward, (A["logits"], A["t"], A["losses"], A["probs"]), {}),
        (cuda.cross_entropy_backward, (A["probs"], A["t"], A["scale"], A["glogits"]), {}),
        (cuda.linear_weight_grad, (A["glogits"], flat, A["gW"]), {}),
        (cuda.matmul, (A["glogits"], A["W"], A["gpool"]), {}),  # the gemm kernel in a graph, else cuBLAS
        (cuda.max_pool_backward, (A["gpool"].reshape(batch, 6, 4, 4), A["argmax"], (batch, 6, 8, 8),
                                  A["gpre"]), {}),
        (cuda.relu_backward, (A["gpre"], A["mask"], A["grelu"]), {}),
        (cuda.conv2d_weight_grad, (A["x"], A["grelu"], (5, 5), 0, A["gw"]), {}),
        (cuda.conv2d_input_grad, (A["grelu"], A["w"], (batch, 3, 12, 12), 0, A["gx"]), {}),
        (cuda.sgd_update, (A["W"].reshape(-1), A["gW"].reshape(-1), A["mom"], 0.1, 0.9, 0.0, 0.0, False, False), {}),
    ]
    return Program(steps, [fn.__name__ for fn, _, _ in steps]), A


_STATE = ("W", "mom")
_RESULTS = ("conv", "pool", "logits", "losses", "probs", "gW", "gw", "gx", "W", "mom")


def _snapshot(cp, arrays, names):
    return {n: cp.asnumpy(arrays[n]).copy() for n in names}


def _restore(cp, arrays, saved):
    for n, v in saved.items():
        arrays[n][...] = cp.asarray(v)


@gpu
def test_graph_replay_equals_the_eager_capturable_run_bit_for_bit(cp):
    from minitorch.kernels import cuda

    program, A = _training_program(cp)
    start = _snapshot(cp, A, _STATE)
    graph = cuda_graph.GraphProgram(program)
    graph.run()  # the warm-up: runs the step, then captures it
    assert graph.fallback is None, graph.fallback
    assert graph.launches == 1
    # a new batch, from the same state: graph launch vs the same program run eagerly in the capturable mode
    rng = np.random.default_rng(1)
    x2 = rng.standard_normal(A["x"].shape).astype(np.float32)
    t2 = rng.integers(0, 10, A["t"].shape[0])
    results = []
    for run in (lambda: graph.run(), lambda: _eager_capturable(program, cuda)):
        _restore(cp, A, start)
        A["x"][...] = cp.asarray(x2)
        A["t"][...] = cp.asarray(t2)
        run()
        cp.cuda.Device().synchronize()
        results.append(_snapshot(cp, A, _RESULTS))
    for name in _RESULTS:
        assert np.array_equal(results[0][name], results[1][name]), f"{name}: graph != eager (capturable)"
    # and the plain replay (cuBLAS products) within float32 rounding
    _restore(cp, A, start)
    A["x"][...] = cp.asarray(x2)
    A["t"][...] = cp.asarray(t2)
    program.run()
    plain = _snapshot(cp, A, _RESULTS)
    for name in _RESULTS:
        a, b = results[0][name].astype(np.float64), plain[name].astype(np.float64)
        assert np.max(np.abs(a - b)) <= 1e-4 * max(np.max(np.abs(b)), 1.0), f"{name}: graph vs cuBLAS replay"
    assert not np.array_equal(results[0]["W"], start["W"])  # the step did update the weights


def _eager_capturable(program, cuda):
    with cuda.capturable():
        program.run()


@gpu
def test_graph_launches_once_per_segment_and_stops_at_a_failed_guard(cp):
    a = cp.arange(6, dtype=cp.float32)
    b = cp.empty_like(a)
    steps = [(cp.multiply, (a, 2.0, b), {}), (_guard, (b, 0), {}), (cp.add, (b, 1.0, a), {})]
    graph = cuda_graph.GraphProgram(Program(steps, ["multiply", "guard", "add"]))
    graph.run()
    assert graph.launches == 2 and graph.fallback is None
    a[...] = cp.arange(6, dtype=cp.float32)
    graph.run()
    assert cp.asnumpy(a).tolist() == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    a[0] = cp.inf
    with pytest.raises(Stop):
        graph.run()
    assert float(a[1]) == 3.0  # the segment after the guard did not run


def _reads_on_the_host(a, out):
    out.fill(float(a.sum()))  # a device-to-host copy and a synchronisation: not capturable


@gpu
def test_step_that_cannot_be_captured_falls_back_with_a_warning(cp):
    a = cp.ones((8, 8), dtype=cp.float32)
    out = cp.empty((8, 8), dtype=cp.float32)
    program = Program([(cp.multiply, (a, 2.0, out), {}), (_reads_on_the_host, (out, a), {})],
                      ["cupy.multiply", "reads_on_the_host"])
    graph = cuda_graph.GraphProgram(program)
    with pytest.warns(RuntimeWarning, match="CUDA graph: .*reads_on_the_host.*replayed step by step"):
        graph.run()  # the warm-up runs the step; its capture fails
    assert graph.fallback is not None and graph.launches == 0
    assert float(a[0, 0]) == 128.0
    a.fill(1)
    graph.run()  # the plain replay from now on
    assert float(a[0, 0]) == 128.0


@gpu
def test_an_out_of_range_target_is_reported_after_the_graph_runs(cp):
    program, A = _training_program(cp)
    graph = cuda_graph.GraphProgram(program)
    graph.run()
    assert graph.launches == 1
    A["t"][0] = 10
    with pytest.raises(ValueError, match="out of range for 10 classes"):
        graph.run()


@gpu
@pytest.mark.parametrize("padding", [0, 2])
def test_capturable_convolution_kernels_match_the_reference(cp, padding):
    from minitorch.kernels import cuda, reference

    rng = np.random.default_rng(padding)
    x = rng.standard_normal((3, 4, 9, 7))
    w = rng.standard_normal((5, 4, 3, 3))
    bias = rng.standard_normal(5)
    Ho, Wo = 9 + 2 * padding - 2, 7 + 2 * padding - 2
    g = rng.standard_normal((3, 5, Ho, Wo))
    for f in (np.float32, np.float64):
        tol = 1e-4 if f is np.float32 else 1e-10
        want = [np.empty((3, 5, Ho, Wo), f), np.empty(w.shape, f), np.empty(x.shape, f)]
        reference.conv2d_forward(x.astype(f), w.astype(f), bias.astype(f), padding, want[0])
        reference.conv2d_weight_grad(x.astype(f), g.astype(f), (3, 3), padding, want[1])
        reference.conv2d_input_grad(g.astype(f), w.astype(f), x.shape, padding, want[2])
        got = [cp.empty(a.shape, f) for a in want]
        dx, dw, dg = (cp.asarray(v.astype(f)) for v in (x, w, g))
        with cuda.capturable():
            cuda.conv2d_forward(dx, dw, cp.asarray(bias.astype(f)), padding, got[0])
            cuda.conv2d_weight_grad(dx, dg, (3, 3), padding, got[1])
            cuda.conv2d_input_grad(dg, dw, x.shape, padding, got[2])
        for name, a, b in zip(("forward", "weight grad", "input grad"), got, want, strict=True):
            err = np.max(np.abs(cp.asnumpy(a).astype(np.float64) - b))
            assert err <= tol * max(np.max(np.abs(b)), 1.0), f"{f.__name__} {name}: {err:.3g}"
