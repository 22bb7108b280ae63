"""minitorch/kernels/cpu_simd.py: the SIMD convolutions against the im2col + GEMM definition (kernels/reference.py).

Each kernel is checked on CoolNet's two layers and on edge shapes that reach every path: blocks of 16, 8
and 4 images, the 0-3 images left over in wide rows, tiny and odd-sized images, non-square kernels, and
padding (through ``zero_padded``, as the callers apply it).  The reference runs in float64 on the same
float32 inputs, so the difference is float32 rounding of a sum of C*kh*kw (or N*Ho*Wo) terms.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minitorch import kernels
from minitorch.kernels import cpu_simd
from minitorch.kernels import reference as reference_kernels
from minitorch.kernels.cpu_conv import zero_padded


class reference:
    """The reference convolutions, allocating their outputs (the backends write into outputs they are handed)."""

    conv2d_forward = staticmethod(kernels.conv2d_forward.on(reference_kernels))
    conv2d_weight_grad = staticmethod(kernels.conv2d_weight_grad.on(reference_kernels))
    conv2d_input_grad = staticmethod(kernels.conv2d_input_grad.on(reference_kernels))


REPO = Path(__file__).resolve().parents[2]

# (N, C, H, W, O, kh, kw, padding)
SHAPES = [
    (4, 3, 32, 32, 6, 5, 5, 0),     # CoolNet conv1, batch 4 (one block of 4)
    (4, 6, 14, 14, 16, 5, 5, 0),    # CoolNet conv2, batch 4
    (21, 6, 14, 14, 16, 5, 5, 0),   # 16 + 4 + one image in wide rows (16 lanes); 8 + 8 + 4 + 1 (8 lanes)
    (11, 3, 9, 7, 5, 3, 3, 1),      # 8 + 3 left over, odd sizes, padding
    (9, 2, 18, 21, 3, 3, 3, 0),     # 8 + 1 on rows of 16+ pixels (the shuffle transposes of blocks of 8)
    (3, 2, 6, 11, 7, 2, 3, 2),      # wide rows only, non-square kernel, padding 2
    (1, 1, 1, 1, 1, 1, 1, 0),       # a single pixel
    (2, 1, 5, 5, 1, 5, 5, 0),       # the kernel covers the image: one output pixel
    (5, 4, 3, 17, 3, 3, 1, 0),      # 4 + 1, a 3x1 kernel on a wide image
]


def _data(shape, seed=0):
    N, C, H, W, O, kh, kw, p = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W), dtype=np.float32)
    w = rng.standard_normal((O, C, kh, kw), dtype=np.float32)
    b = rng.standard_normal(O, dtype=np.float32)
    Ho, Wo = H + 2 * p - kh + 1, W + 2 * p - kw + 1
    g = rng.standard_normal((N, O, Ho, Wo), dtype=np.float32)
    return x, w, b, g


def _close(got, want, terms):
    """Within float32 rounding of a sum of ``terms`` products of unit-normal numbers."""
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=4e-7 * terms)


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_forward_matches_reference(shape):
    N, C, H, W, O, kh, kw, p = shape
    x, w, b, _ = _data(shape)
    _close(cpu_simd.conv2d_forward(x, w, b, p), reference.conv2d_forward(*_f64(x, w, b), p), C * kh * kw)
    no_bias = cpu_simd.conv2d_forward(x, w, None, p)
    _close(no_bias, reference.conv2d_forward(*_f64(x, w), np.zeros(O), p), C * kh * kw)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_weight_grad_matches_reference(shape):
    N, C, H, W, O, kh, kw, p = shape
    x, _, _, g = _data(shape)
    got = cpu_simd.conv2d_weight_grad(x, g, (kh, kw), p)
    _close(got, reference.conv2d_weight_grad(*_f64(x, g), (kh, kw), p), N * g.shape[2] * g.shape[3])


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_input_grad_matches_reference(shape):
    N, C, H, W, O, kh, kw, p = shape
    _, w, _, g = _data(shape)
    got = cpu_simd.conv2d_input_grad(g, w, (N, C, H, W), p)
    _close(got, reference.conv2d_input_grad(*_f64(g, w), (N, C, H, W), p), O * kh * kw)


def test_the_out_forms_overwrite_what_they_are_handed():
    shape = (6, 3, 10, 10, 4, 3, 3, 0)
    x, w, b, g = _data(shape)
    out = np.full((6, 4, 8, 8), np.nan, np.float32)
    cpu_simd.conv2d_forward_into(x, w, b, out)
    np.testing.assert_array_equal(out, cpu_simd.conv2d_forward(x, w, b, 0))
    gw = np.full_like(w, np.nan)
    cpu_simd.conv2d_weight_grad_into(x, g, gw)
    np.testing.assert_array_equal(gw, cpu_simd.conv2d_weight_grad(x, g, (3, 3), 0))
    gx = np.full_like(x, np.nan)
    cpu_simd.conv2d_input_grad_into(g, w, gx)
    np.testing.assert_array_equal(gx, cpu_simd.conv2d_input_grad(g, w, x.shape, 0))


@pytest.mark.parametrize("nb", [4, 8, 16])
def test_staging_moves_every_pixel_of_every_row_width(nb):
    """A block's staging (images innermost) and unstaging are exact transposes, for every row width: whole
    runs of LANES pixels, then the short runs of a row's last pixels, each written once and nothing beside."""
    rng = np.random.default_rng(nb)
    lanes = cpu_simd.LANES
    if nb > lanes:
        pytest.skip("blocks are at most LANES images")
    for W in [*range(1, 2 * lanes + 3), 47]:
        for C, H, d in ((3, 5, 0), (2, 3, 2)):
            x = rng.standard_normal((nb + 3, C, H, W), dtype=np.float32)
            xb = np.full((C, H + 2 * d, W + 2 * d + 3, nb), 7.0, np.float32)
            cpu_simd._to_block(x, 2, xb, d, d)
            want = np.full_like(xb, 7.0)
            want[:, d:d + H, d:d + W] = x[2:2 + nb].transpose(1, 2, 3, 0)
            np.testing.assert_array_equal(xb, want, err_msg=f"staging, width {W}")
            Wr = -(-W // (lanes // nb)) * (lanes // nb)
            ys = rng.standard_normal((C, H * Wr * nb + lanes), dtype=np.float32)
            out = np.full((nb + 3, C, H, W), 5.0, np.float32)
            cpu_simd._from_block(ys, 2, nb, Wr, out)
            want = np.full_like(out, 5.0)
            want[2:2 + nb] = ys[:, :H * Wr * nb].reshape(C, H, Wr, nb)[:, :, :W].transpose(3, 0, 1, 2)
            np.testing.assert_array_equal(out, want, err_msg=f"unstaging, width {W}")


def _freed_memory_holding(value: float, shape: tuple) -> None:
    """Leave freed blocks filled with ``value`` at every size the kernels' scratch buffers take, so that an
    uninitialised buffer (np.empty) the kernel then allocates likely holds it."""
    N, C, H, W, O, kh, kw, p = shape
    for size in (C * (H + 2 * p) * (W + 2 * p) * 16 + 64, O * (H + kh) * (W + kw) * 16 + 64, 1 << 16):
        for quarter in range(1, 5):
            block = np.full(size * quarter // 4, value, np.float32)
            del block


@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[2], SHAPES[4]], ids=lambda s: "x".join(map(str, s)))
def test_scratch_memory_left_uninitialised_is_never_read(shape):
    """The kernels stage blocks in buffers they do not zero whole (only what a block leaves unwritten): the
    results are the same bits whatever freed memory held before, NaN included."""
    N, C, H, W, O, kh, kw, p = shape
    x, w, b, g = _data(shape, seed=7)
    runs = []
    for value in (0.0, np.nan, np.inf):
        _freed_memory_holding(value, shape)
        y = cpu_simd.conv2d_forward(x, w, b, p)
        _freed_memory_holding(value, shape)
        gw = cpu_simd.conv2d_weight_grad(x, g, (kh, kw), p)
        _freed_memory_holding(value, shape)
        gx = cpu_simd.conv2d_input_grad(g, w, (N, C, H, W), p)
        assert np.isfinite(y).all() and np.isfinite(gw).all() and np.isfinite(gx).all()
        runs.append(b"".join(a.tobytes() for a in (y, gw, gx)))
    assert runs[0] == runs[1] == runs[2]


def test_an_image_gets_the_same_bits_in_any_batch():
    """Forward and input gradient: one FMA chain per output in a fixed tap order, whichever path (block of
    16, 8 or 4, or wide rows) the image takes; so a batch's results are those of its images alone."""
    shape = (21, 6, 14, 14, 16, 5, 5, 0)
    x, w, b, g = _data(shape, seed=3)
    y = cpu_simd.conv2d_forward(x, w, b, 0)
    gx = cpu_simd.conv2d_input_grad(g, w, x.shape, 0)
    for n in (0, 15, 16, 20):
        np.testing.assert_array_equal(y[n:n + 1], cpu_simd.conv2d_forward(x[n:n + 1], w, b, 0))
        np.testing.assert_array_equal(gx[n:n + 1], cpu_simd.conv2d_input_grad(g[n:n + 1], w, (1, 6, 14, 14), 0))


@pytest.mark.parametrize("batch", [1, 4, 16])
def test_nan_and_inf_propagate(batch):
    shape = (batch, 3, 12, 12, 4, 5, 5, 0)
    x, w, b, g = _data(shape, seed=5)
    x[0, 1, 6, 7] = np.nan
    x[-1, 2, 3, 3] = np.inf
    want = reference.conv2d_forward(*_f64(x, w, b), 0)
    got = cpu_simd.conv2d_forward(x, w, b, 0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    # the weight gradient: every entry the definition makes NaN is NaN (the gap columns of wide rows may add
    # NaNs from 0 * inf; see the module docstring)
    gw_want = reference.conv2d_weight_grad(*_f64(x, g), (5, 5), 0)
    gw = cpu_simd.conv2d_weight_grad(x, g, (5, 5), 0)
    assert np.isnan(gw[np.isnan(gw_want)]).all() and np.isnan(gw_want).any()
    g[0, 2, 4, 4] = np.nan
    gx_want = reference.conv2d_input_grad(*_f64(g, w), x.shape, 0)
    gx = cpu_simd.conv2d_input_grad(g, w, x.shape, 0)
    np.testing.assert_array_equal(np.isnan(gx), np.isnan(gx_want))


def test_padding_is_the_callers_zero_padded():
    shape = (4, 3, 8, 8, 2, 3, 3, 1)
    x, w, b, g = _data(shape)
    out = np.empty((4, 2, 8, 8), np.float32)
    cpu_simd.conv2d_forward_into(zero_padded(x, 1), w, b, out)
    np.testing.assert_array_equal(out, cpu_simd.conv2d_forward(x, w, b, 1))


def test_other_dtypes_are_refused_by_name():
    x, w, b, g = _data((2, 1, 5, 5, 1, 3, 3, 0))
    with pytest.raises(TypeError, match="float32"):
        cpu_simd.conv2d_forward(x.astype(np.float64), w, b, 0)


def test_lanes_follow_the_compilation_target():
    from numba.core.registry import cpu_target

    features = cpu_target.target_context.codegen().magic_tuple()[2].split(",")
    assert cpu_simd.LANES == (16 if "+avx512f" in features else 8)
    assert cpu_simd.LANES in (8, 16)


HASWELL = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fsgsbase,+fxsr,+lzcnt,+mmx,+movbe,+pclmul,"
           "+popcnt,+rdrnd,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,+xsaveopt")


@pytest.mark.slow
def test_eight_lanes_on_a_target_without_avx512():
    """The kernels compiled for an AVX2 machine (numba's target set to Haswell, as on a CPU without AVX-512):
    8 lanes, the same results within rounding.  A fresh process, since the target is fixed at numba's start;
    numba caches that build separately (its cache key holds the target)."""
    if "+avx2" not in _host_features():
        pytest.skip("this CPU cannot run AVX2 code")
    script = textwrap.dedent("""
        import numpy as np
        from minitorch import kernels
        from minitorch.kernels import cpu_simd
        from minitorch.kernels import reference as reference_kernels
        reference = type("reference", (), {k: staticmethod(getattr(kernels, k).on(reference_kernels))
                                           for k in ("conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad")})
        assert cpu_simd.LANES == 8, cpu_simd.LANES
        rng = np.random.default_rng(0)
        for N, C, H, O in ((21, 6, 14, 16), (4, 3, 32, 6), (3, 2, 9, 5)):
            x = rng.standard_normal((N, C, H, H), dtype=np.float32)
            w = rng.standard_normal((O, C, 5, 5), dtype=np.float32)
            b = rng.standard_normal(O, dtype=np.float32)
            g = rng.standard_normal((N, O, H - 4, H - 4), dtype=np.float32)
            x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
            pairs = [(cpu_simd.conv2d_forward(x, w, b, 0), reference.conv2d_forward(x64, w64, b64, 0)),
                     (cpu_simd.conv2d_weight_grad(x, g, (5, 5), 0),
                      reference.conv2d_weight_grad(x64, g64, (5, 5), 0)),
                     (cpu_simd.conv2d_input_grad(g, w, x.shape, 0),
                      reference.conv2d_input_grad(g64, w64, x.shape, 0))]
            for got, want in pairs:
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
        print("ok")
    """)
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": HASWELL,
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def _host_features() -> str:
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_features().flatten()
