"""kernels/cuda.py and the CUDA C of kernels/cu/ run on the CPU, against kernels/reference.py (no GPU needed).

The CUDA source is compiled by g++ with ``cuda_emulation.h`` (one OpenMP thread per CUDA thread, a
barrier per ``__syncthreads``), each kernel behind a generated C launcher; kernels/cuda.py then runs
with its ``_kernel`` calling those launchers and its ``cupy`` replaced by NumPy, so its launch code
(grids, chunks, strides, scratch arrays, the capturable GEMM path) and the kernels' index arithmetic
are checked here.  What this cannot check: anything of a real GPU (warps, memory model, NVRTC, CuPy's
own behaviour); tests/gpu/test_gpu.py and test_cuda_graph.py do that on a GPU.  Skipped without g++
with OpenMP or without CuPy (kernels/cuda.py imports it).
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from minitorch.kernels import cu, reference

HERE = Path(__file__).resolve().parent
SIGNATURE = re.compile(r'extern "C" __global__ void (?:__launch_bounds__\(\w+\) )?(\w+)\(([^)]*)\)', re.S)
C_TYPES = {"int": ctypes.c_int, "i64": ctypes.c_longlong, "double": ctypes.c_double}


def _launchers(source: str) -> tuple[str, dict[str, list]]:
    """C launchers ``launch_<name>(gx, gy, threads, params...)`` for every kernel, and each one's ctypes types."""
    out, types = [], {}
    for name, params in SIGNATURE.findall(source):
        decls = [" ".join(p.split()) for p in params.split(",")]
        names = [d.split()[-1] for d in decls]
        argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
        for d in decls:
            base = d.replace("const ", "").replace("__restrict__", "").split()[0]
            argtypes.append(ctypes.c_void_p if "*" in d else C_TYPES[base])
        head = f'extern "C" void launch_{name}(unsigned grid_x_, unsigned grid_y_, unsigned threads_, '
        out.append(head + f'{", ".join(decls)}) '
                   f'{{ launch(grid_x_, grid_y_, threads_, [&] {{ {name}({", ".join(names)}); }}); }}')
        types[name] = argtypes
    return "\n".join(out), types


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """{dtype name: (the compiled library, ctypes types per kernel)}."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed")
    pytest.importorskip("cupy", reason="kernels/cuda.py imports CuPy")
    folder = tmp_path_factory.mktemp("cuda_emulated")
    libs = {}
    for dtype in cu.DTYPES:
        source = cu.source(dtype, 256)
        launchers, types = _launchers(source)
        src = folder / f"{dtype}.cpp"
        src.write_text(f'#include "{HERE / "cuda_emulation.h"}"\n{source}\n{launchers}\n', encoding="utf-8")
        lib = folder / f"{dtype}.so"
        done = subprocess.run([gxx, "-O1", "-ffp-contract=off", "-fopenmp", "-shared", "-fPIC", "-o", str(lib),
                               str(src)], capture_output=True, text=True, timeout=240)
        if done.returncode != 0 and "omp.h" in done.stderr:
            pytest.skip("g++ has no OpenMP")
        assert done.returncode == 0, done.stderr
        libs[dtype] = (ctypes.CDLL(str(lib)), types)
    return libs


class _Stream:
    def is_capturing(self) -> bool:
        return False


@pytest.fixture
def cuda(emulated, monkeypatch):
    """kernels/cuda.py with its kernels run by the emulation and NumPy in place of CuPy."""
    from minitorch.kernels import cuda as module

    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # 256 threads on a few cores: sleep at barriers

    def kernel(name, dtype):
        lib, types = emulated[np.dtype(dtype).name]
        fn = getattr(lib, f"launch_{name}")
        fn.argtypes = types[name]

        def run(grid, block, args):
            gx, gy = (grid[0], grid[1] if len(grid) > 1 else 1)
            values = []
            for a in args:
                if isinstance(a, np.ndarray):
                    assert a.flags.c_contiguous or a.ndim == 2, f"{name}: a non-contiguous array argument"
                    values.append(a.ctypes.data)
                else:
                    values.append(a.item() if isinstance(a, np.generic) else a)
            fn(gx, gy, block[0], *values)
        return run

    fake = SimpleNamespace(ascontiguousarray=np.ascontiguousarray, empty=np.empty, empty_like=np.empty_like,
                           matmul=np.matmul, log=np.log, exp=np.exp, arange=np.arange, int64=np.int64,
                           cuda=SimpleNamespace(get_current_stream=_Stream))
    monkeypatch.setattr(module, "cupy", fake)
    monkeypatch.setattr(module, "_kernel", kernel)
    return module


DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape, k, s, p", [((2, 3, 7, 6), 3, 1, 1), ((1, 2, 9, 9), 4, 2, 0), ((2, 1, 5, 8), 2, 3, 2)])
def test_im2col_and_col2im_equal_the_reference(cuda, dtype, shape, k, s, p):
    rng = np.random.default_rng(sum(shape) + k)
    x = rng.standard_normal(shape).astype(dtype)
    Ho, Wo = reference.conv_output_size(shape[2], k, s, p), reference.conv_output_size(shape[3], k, s, p)
    cols_shape = (shape[1] * k * k, shape[0] * Ho * Wo)
    got, want = np.full(cols_shape, np.nan, dtype), np.empty(cols_shape, dtype)
    cuda.im2col(x, k, k, s, p, got)
    reference.im2col(x, k, k, s, p, want)
    assert np.array_equal(got, want)
    cols = rng.standard_normal(cols_shape).astype(dtype)
    got, want = np.full(shape, np.nan, dtype), np.empty(shape, dtype)
    cuda.col2im(cols, shape, k, k, s, p, got)
    reference.col2im(cols, shape, k, k, s, p, want)
    assert np.array_equal(got, want)  # the gather adds in the reference's (i, j) order


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_max_pool_equals_the_reference(cuda, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 8)).astype(dtype)
    x[0, 0, 1, 1] = np.nan
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1)]:
        Ho, Wo = reference.conv_output_size(7, k, s, p), reference.conv_output_size(8, k, s, p)
        got = (np.empty((2, 3, Ho, Wo), dtype), np.empty((2, 3, Ho, Wo), np.int64))
        want = (np.empty_like(got[0]), np.empty_like(got[1]))
        cuda.max_pool_forward(x, k, s, p, True, *got)
        reference.max_pool_forward(x, k, s, p, True, *want)
        assert np.array_equal(got[0], want[0], equal_nan=True) and np.array_equal(got[1], want[1])
        alone = np.full_like(got[0], np.nan)
        cuda.max_pool_forward(x, k, s, p, False, alone, None)  # no indices kept: the maxima all the same
        assert np.array_equal(alone, want[0], equal_nan=True)
        g = rng.standard_normal(got[0].shape).astype(dtype)
        gx, wx = np.full(x.shape, np.nan, dtype), np.empty(x.shape, dtype)
        cuda.max_pool_backward(g, got[1], x.shape, gx)
        reference.max_pool_backward(g, want[1], x.shape, wx)
        np.testing.assert_allclose(gx, wx, rtol=1e-6 if dtype is np.float32 else 1e-13, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(4, 3, 10), (3, 2, 3000)])  # the second: several chunks per channel
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_equals_the_reference(cuda, dtype, shape, training):
    rng = np.random.default_rng(shape[2])
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    C = shape[1]
    w, b = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    mean, var = (None, None) if training else (rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype) + 0.5)
    stats = (C,) if training else None

    def outputs():
        return [np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype), np.full(C, np.nan, dtype),
                np.full(stats, np.nan, dtype) if stats else None, np.full(stats, np.nan, dtype) if stats else None]

    got, want = outputs(), outputs()
    cuda.batch_norm_forward(x, w, b, mean, var, 1e-5, True, *got)
    reference.batch_norm_forward(x, w, b, mean, var, 1e-5, True, *want)
    tol = 1e-5 if dtype is np.float32 else 1e-12
    for name, a, e in zip(("out", "xhat", "scale", "mean", "var"), got, want, strict=True):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=tol, atol=tol, err_msg=name)
    g = rng.standard_normal(shape).astype(dtype)
    got_b = [np.full(shape, np.nan, dtype), np.full(C, np.nan, dtype), np.full(C, np.nan, dtype)]
    want_b = [np.empty(shape, dtype), np.empty(C, dtype), np.empty(C, dtype)]
    cuda.batch_norm_backward(g, want[1], want[2], training, *got_b)
    reference.batch_norm_backward(g, want[1], want[2], training, *want_b)
    for name, a, e in zip(("gx", "gweight", "gbias"), got_b, want_b, strict=True):
        np.testing.assert_allclose(a, e, rtol=10 * tol, atol=10 * tol * max(1.0, float(np.abs(e).max())),
                                   err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("M, N, K, ta, tb", [(1, 1, 1, False, False), (4, 10, 84, False, True),
                                             (70, 3, 40, True, False), (65, 130, 17, True, True)])
def test_gemm_kernel_sums_in_ascending_k(cuda, dtype, M, N, K, ta, tb):
    """The capturable GEMM: every element the product sum in ascending k, each product and sum rounded."""
    rng = np.random.default_rng(M + N + K)
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    A, B = (a.T if ta else a), (b.T if tb else b)
    got = np.full((M, N), np.nan, dtype)
    with cuda.capturable():
        cuda.matmul(A, B, got)
    want = np.zeros((M, N), dtype)
    for k in range(K):
        want = want + A[:, k:k + 1] * B[k:k + 1, :]
    assert np.array_equal(got, want)


@pytest.mark.parametrize("padding", [0, 2])
def test_capturable_convolution_and_linear_equal_the_reference(cuda, padding):
    rng = np.random.default_rng(padding)
    x, w, bias = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    Ho, Wo = 7 + 2 * padding - 2, 6 + 2 * padding - 2
    g = rng.standard_normal((2, 4, Ho, Wo))
    cases = [("conv2d_forward", (x, w, bias, padding), (2, 4, Ho, Wo)),
             ("conv2d_weight_grad", (x, g, (3, 3), padding), w.shape),
             ("conv2d_input_grad", (g, w, x.shape, padding), x.shape),
             ("linear_forward", (x.reshape(2, -1), rng.standard_normal((5, 126))), (2, 5)),
             ("linear_weight_grad", (rng.standard_normal((2, 5)), x.reshape(2, -1)), (5, 126)),
             ("linear_input_grad", (rng.standard_normal((2, 5)), rng.standard_normal((5, 126))), (2, 126))]
    for name, args, shape in cases:
        got, want = np.full(shape, np.nan), np.empty(shape)
        with cuda.capturable():
            getattr(cuda, name)(*args, got)
        getattr(reference, name)(*args, want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=name)
