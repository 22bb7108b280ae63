"""CUDA kernels (CuPy ``RawModule``): the GPU twins of :mod:`.cpu`.

Same functions, signatures and results as the numba kernels, on CuPy arrays:

* ``im2col`` / ``col2im``: one thread per output element.  ``col2im`` is
  written as a gather (each thread sums the columns that touch its input
  pixel, in the CPU kernel's (i, j) order), so it needs no atomics and gives
  the CPU's result bit for bit.
* ``max_pool_forward``: one thread per window; the first maximum in row-major
  window order wins, and a NaN wins and stays (as on the CPU).
  ``max_pool_backward``: one thread per output, ``atomicAdd`` into the input
  gradient (the signature carries no kernel geometry, so no gather).
* ``batch_norm_forward`` / ``batch_norm_backward`` on (N, C, L): per-channel
  sums in double precision.  A channel is cut into chunks, one block each
  (so that large batches fill the GPU); a first kernel reduces each chunk
  (mean and M2 by two passes over the chunk, or the two gradient sums), a
  second merges the chunks' partials in a fixed order (deterministic) and
  writes the elementwise result.  Running statistics are updated in place
  with the unbiased variance, as by the CPU kernel.

The source is compiled lazily, once per dtype (float32 or float64), on first
use; CuPy also caches the binary on disk.  Other dtypes fall back to the
array-module code in :mod:`.reference`.  This module imports CuPy at import
time: :mod:`minitorch.kernels` imports it only when it first sees a CuPy array.
"""
from __future__ import annotations

from typing import Any

import cupy
import numpy as np

from minitorch.kernels import reference

_THREADS = 256          # threads per block, every kernel (a power of two: the tree reductions need it)
_BN_CHUNK = 4096        # elements of one channel per block in the batch-norm kernels
_BN_MAX_CHUNKS = 64     # at most this many blocks per channel

_SOURCE = r"""
// T is typedef'd to float or double in front of this source.
typedef long long i64;

__device__ __forceinline__ double block_sum(double v, double* sh) {
    // Tree sum over a block whose size is a power of two; sh holds blockDim.x doubles.
    const int tid = threadIdx.x;
    sh[tid] = v;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        if (tid < s) sh[tid] += sh[tid + s];
        __syncthreads();
    }
    const double r = sh[0];
    __syncthreads();  // sh may be reused right away
    return r;
}

extern "C" __global__ void im2col(
    const T* __restrict__ x, T* __restrict__ cols,
    const int N, const int C, const int H, const int W,
    const int kh, const int kw, const int stride, const int pad, const int Ho, const int Wo)
{
    // cols (C*kh*kw, N*Ho*Wo): row (c, i, j), column (n, oh, ow)
    const i64 ncols = (i64)N * Ho * Wo;
    const i64 total = (i64)C * kh * kw * ncols;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (i64)blockDim.x * gridDim.x) {
        const int row = (int)(idx / ncols);
        const int col = (int)(idx - (i64)row * ncols);
        const int j = row % kw;
        const int i = (row / kw) % kh;
        const int c = row / (kw * kh);
        const int ow = col % Wo;
        const int oh = (col / Wo) % Ho;
        const int n = col / (Wo * Ho);
        const int h = oh * stride - pad + i;
        const int w = ow * stride - pad + j;
        T v = (T)0;
        if (h >= 0 && h < H && w >= 0 && w < W) v = x[(((i64)n * C + c) * H + h) * W + w];
        cols[idx] = v;
    }
}

extern "C" __global__ void col2im(
    const T* __restrict__ cols, T* __restrict__ out,
    const int N, const int C, const int H, const int W,
    const int kh, const int kw, const int stride, const int pad, const int Ho, const int Wo)
{
    // Gather: out[n, c, h, w] = sum of cols[(c, i, j), (n, oh, ow)] over the windows that
    // cover (h, w), added in the CPU kernel's order (i, then j, ascending).
    const i64 ncols = (i64)N * Ho * Wo;
    const i64 total = (i64)N * C * H * W;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (i64)blockDim.x * gridDim.x) {
        const int w = (int)(idx % W);
        const int h = (int)((idx / W) % H);
        const int c = (int)((idx / ((i64)W * H)) % C);
        const int n = (int)(idx / ((i64)W * H * C));
        T acc = (T)0;
        for (int i = 0; i < kh; ++i) {
            const int hp = h + pad - i;  // = oh * stride
            if (hp < 0 || hp % stride != 0) continue;
            const int oh = hp / stride;
            if (oh >= Ho) continue;
            for (int j = 0; j < kw; ++j) {
                const int wp = w + pad - j;
                if (wp < 0 || wp % stride != 0) continue;
                const int ow = wp / stride;
                if (ow >= Wo) continue;
                const i64 row = ((i64)c * kh + i) * kw + j;
                acc += cols[row * ncols + ((i64)n * Ho + oh) * Wo + ow];
            }
        }
        out[idx] = acc;
    }
}

extern "C" __global__ void max_pool_forward(
    const T* __restrict__ x, T* __restrict__ out, i64* __restrict__ argmax,
    const int N, const int C, const int H, const int W,
    const int k, const int stride, const int pad, const int Ho, const int Wo)
{
    const i64 total = (i64)N * C * Ho * Wo;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (i64)blockDim.x * gridDim.x) {
        const int ow = (int)(idx % Wo);
        const int oh = (int)((idx / Wo) % Ho);
        const i64 nc = idx / ((i64)Wo * Ho);
        const T* plane = x + nc * H * W;
        T best = NEG_INF;
        i64 best_index = -1;
        for (int i = 0; i < k; ++i) {
            const int h = oh * stride - pad + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < k; ++j) {
                const int w = ow * stride - pad + j;
                if (w < 0 || w >= W) continue;
                const T v = plane[h * W + w];
                // strict '>' keeps the first maximum; a NaN wins and stays
                if (best_index < 0 || v > best || (v != v && best == best)) {
                    best = v;
                    best_index = (i64)h * W + w;
                }
            }
        }
        out[idx] = best;
        argmax[idx] = best_index;
    }
}

extern "C" __global__ void max_pool_backward(
    const T* __restrict__ grad, const i64* __restrict__ argmax, T* __restrict__ out,
    const int plane_out, const int plane_in, const i64 total)
{
    // out must be zeroed; one thread per pooled output, added into its maximum's slot.
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (i64)blockDim.x * gridDim.x) {
        const i64 nc = idx / plane_out;
        const i64 index = argmax[idx];
        if (index >= 0 && index < plane_in) atomic_add(out + nc * plane_in + index, grad[idx]);
    }
}

extern "C" __global__ void bn_partial_stats(
    const T* __restrict__ x, double* __restrict__ partial,
    const int N, const int C, const int L, const int chunk)
{
    // Block (b, c): count, mean and M2 (sum of squared deviations) of chunk b of channel c,
    // by two passes over the chunk in double precision.  partial[(c * nb + b) * 3 + 0..2].
    __shared__ double sh[BLOCK];
    const int b = blockIdx.x, nb = gridDim.x, c = blockIdx.y;
    const i64 count = (i64)N * L;
    const i64 start = (i64)b * chunk;
    const i64 stop = min(start + (i64)chunk, count);
    double s = 0.0;
    for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
        const i64 n = k / L, i = k - n * L;
        s += (double)x[(n * C + c) * L + i];
    }
    const double cnt = (double)(stop > start ? stop - start : 0);
    const double total = block_sum(s, sh);  // every thread of the block calls block_sum
    const double mean = cnt > 0 ? total / cnt : 0.0;
    s = 0.0;
    for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
        const i64 n = k / L, i = k - n * L;
        const double d = (double)x[(n * C + c) * L + i] - mean;
        s += d * d;
    }
    const double m2 = block_sum(s, sh);
    if (threadIdx.x == 0) {
        double* p = partial + ((i64)c * nb + b) * 3;
        p[0] = cnt;
        p[1] = mean;
        p[2] = m2;
    }
}

extern "C" __global__ void bn_forward_apply(
    const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
    T* __restrict__ running_mean, T* __restrict__ running_var, const double* __restrict__ partial,
    T* __restrict__ out, T* __restrict__ xhat, T* __restrict__ scale,
    const int N, const int C, const int L, const int chunk, const int nparts,
    const int training, const int update, const double momentum, const double eps)
{
    // Block (b, c): the statistics of channel c (merged from the nparts partials in a fixed
    // order, or the running ones), then out and xhat over chunk b of the channel.
    __shared__ double stat[2];
    const int b = blockIdx.x, c = blockIdx.y;
    const i64 count = (i64)N * L;
    if (threadIdx.x == 0) {
        double mean, var;
        if (training) {
            // Chan et al.: merge (count, mean, M2) of the chunks, then var = M2 / count
            double n_a = 0.0, mean_a = 0.0, m2_a = 0.0;
            for (int p = 0; p < nparts; ++p) {
                const double* q = partial + ((i64)c * nparts + p) * 3;
                const double n_b = q[0];
                if (n_b <= 0.0) continue;
                const double n_ab = n_a + n_b;
                const double delta = q[1] - mean_a;
                mean_a += delta * (n_b / n_ab);
                m2_a += q[2] + delta * delta * (n_a * n_b / n_ab);
                n_a = n_ab;
            }
            mean = mean_a;
            var = m2_a / (double)count;
            if (update && b == 0) {
                running_mean[c] = (T)((1.0 - momentum) * (double)running_mean[c] + momentum * mean);
                running_var[c] = (T)((1.0 - momentum) * (double)running_var[c]
                                     + momentum * var * (double)count / (double)(count - 1));
            }
        } else {
            mean = (double)running_mean[c];
            var = (double)running_var[c];
        }
        const double invstd = 1.0 / sqrt(var + eps);
        if (b == 0) scale[c] = (T)(invstd * (double)weight[c]);
        stat[0] = mean;
        stat[1] = invstd;
    }
    __syncthreads();
    const double mean = stat[0], invstd = stat[1];
    const double w = (double)weight[c], bb = (double)bias[c];
    const i64 start = (i64)b * chunk;
    const i64 stop = min(start + (i64)chunk, count);
    for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
        const i64 n = k / L, i = k - n * L;
        const i64 at = (n * C + c) * L + i;
        const double h = ((double)x[at] - mean) * invstd;
        xhat[at] = (T)h;
        out[at] = (T)(h * w + bb);
    }
}

extern "C" __global__ void bn_partial_grad(
    const T* __restrict__ g, const T* __restrict__ xhat, double* __restrict__ partial,
    const int N, const int C, const int L, const int chunk)
{
    // Block (b, c): sum(g) and sum(g * xhat) over chunk b of channel c, in double.
    __shared__ double sh[BLOCK];
    const int b = blockIdx.x, nb = gridDim.x, c = blockIdx.y;
    const i64 count = (i64)N * L;
    const i64 start = (i64)b * chunk;
    const i64 stop = min(start + (i64)chunk, count);
    double sg = 0.0, sgx = 0.0;
    for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
        const i64 n = k / L, i = k - n * L;
        const i64 at = (n * C + c) * L + i;
        const double gv = (double)g[at];
        sg += gv;
        sgx += gv * (double)xhat[at];
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
        double* p = partial + ((i64)c * nb + b) * 2;
        p[0] = sg;
        p[1] = sgx;
    }
}

extern "C" __global__ void bn_backward_apply(
    const T* __restrict__ g, const T* __restrict__ xhat, const T* __restrict__ scale,
    const double* __restrict__ partial, T* __restrict__ gx, T* __restrict__ gweight,
    T* __restrict__ gbias, const int N, const int C, const int L, const int chunk,
    const int nparts, const int training)
{
    __shared__ double stat[2];
    const int b = blockIdx.x, c = blockIdx.y;
    const i64 count = (i64)N * L;
    if (threadIdx.x == 0) {
        double sg = 0.0, sgx = 0.0;
        for (int p = 0; p < nparts; ++p) {
            const double* q = partial + ((i64)c * nparts + p) * 2;
            sg += q[0];
            sgx += q[1];
        }
        if (b == 0) {
            gbias[c] = (T)sg;
            gweight[c] = (T)sgx;
        }
        stat[0] = sg;
        stat[1] = sgx;
    }
    __syncthreads();
    const double sg = stat[0], sgx = stat[1];
    const i64 start = (i64)b * chunk;
    const i64 stop = min(start + (i64)chunk, count);
    if (training) {  // both statistics depend on x
        const double kc = (double)scale[c] / (double)count;
        const double cnt = (double)count;
        for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
            const i64 n = k / L, i = k - n * L;
            const i64 at = (n * C + c) * L + i;
            gx[at] = (T)(kc * (cnt * (double)g[at] - sg - (double)xhat[at] * sgx));
        }
    } else {
        const T kc = scale[c];
        for (i64 k = start + threadIdx.x; k < stop; k += blockDim.x) {
            const i64 n = k / L, i = k - n * L;
            const i64 at = (n * C + c) * L + i;
            gx[at] = kc * g[at];
        }
    }
}
"""

_PRELUDE = {
    "float32": (
        "typedef float T;\n"
        "#define NEG_INF __int_as_float((int)0xff800000u)\n"
        "__device__ __forceinline__ void atomic_add(float* a, float v) { atomicAdd(a, v); }\n"
    ),
    "float64": (
        "typedef double T;\n"
        "#define NEG_INF __longlong_as_double(0xfff0000000000000LL)\n"
        "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 600\n"
        "__device__ void atomic_add(double* a, double v) {\n"
        "    unsigned long long* p = (unsigned long long*)a;\n"
        "    unsigned long long old = *p, assumed;\n"
        "    do {\n"
        "        assumed = old;\n"
        "        old = atomicCAS(p, assumed, __double_as_longlong(v + __longlong_as_double(assumed)));\n"
        "    } while (assumed != old);\n"
        "}\n"
        "#else\n"
        "__device__ __forceinline__ void atomic_add(double* a, double v) { atomicAdd(a, v); }\n"
        "#endif\n"
    ),
}

_NAMES = ("im2col", "col2im", "max_pool_forward", "max_pool_backward", "bn_partial_stats",
          "bn_forward_apply", "bn_partial_grad", "bn_backward_apply")
_OPTIONS = ("--fmad=false",)
_modules: dict[str, Any] = {}
_functions: dict[tuple[str, str], Any] = {}


def source(dtype: Any) -> str:
    """The full CUDA source compiled for ``dtype`` (float32 or float64)."""
    name = np.dtype(dtype).name
    return _PRELUDE[name] + f"#define BLOCK {_THREADS}\n" + _SOURCE


def _kernel(name: str, dtype: Any):
    """The compiled kernel ``name`` for ``dtype``; the module is compiled on first use per dtype."""
    key = np.dtype(dtype).name
    function = _functions.get((name, key))
    if function is None:
        module = _modules.get(key)
        if module is None:
            # --fmad=false: no fused multiply-adds, so the arithmetic rounds as the CPU kernels' does
            module = _modules[key] = cupy.RawModule(code=source(key), options=_OPTIONS)
        function = _functions[(name, key)] = module.get_function(name)
    return function


def _supported(*arrays: Any) -> bool:
    dt = arrays[0].dtype
    return dt.name in _PRELUDE and all(a.dtype == dt for a in arrays[1:])


def _grid(total: int) -> tuple[int]:
    # grid-stride loops: a bounded grid is enough for any size
    return (max(1, min(-(-total // _THREADS), 65535 * 16)),)


def _out_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


_i32 = np.int32


# ---------------------------------------------------------------- conv
def im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> Any:
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo): row (c, i, j), column (n, oh, ow)."""
    if not _supported(x):
        return reference.im2col(x, kh, kw, stride, padding)
    N, C, H, W = x.shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
    cols = cupy.empty((C * kh * kw, N * Ho * Wo), dtype=x.dtype)
    if cols.size:
        x = cupy.ascontiguousarray(x)
        _kernel("im2col", x.dtype)(
            _grid(cols.size), (_THREADS,),
            (x, cols, _i32(N), _i32(C), _i32(H), _i32(W), _i32(kh), _i32(kw), _i32(stride),
             _i32(padding), _i32(Ho), _i32(Wo)),
        )
    return cols


def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int) -> Any:
    """Adjoint of :func:`im2col`: every input pixel sums the columns that read it."""
    if not _supported(cols):
        return reference.col2im(cols, x_shape, kh, kw, stride, padding)
    N, C, H, W = x_shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
    out = cupy.empty(tuple(x_shape), dtype=cols.dtype)
    if out.size:
        cols = cupy.ascontiguousarray(cols)
        _kernel("col2im", cols.dtype)(
            _grid(out.size), (_THREADS,),
            (cols, out, _i32(N), _i32(C), _i32(H), _i32(W), _i32(kh), _i32(kw), _i32(stride),
             _i32(padding), _i32(Ho), _i32(Wo)),
        )
    return out


# ---------------------------------------------------------------- pooling
def max_pool_forward(x: Any, kernel: int, stride: int, padding: int) -> tuple[Any, Any]:
    """Window maxima and the flat (h*W + w) index of each window's first maximum (int64)."""
    if not _supported(x):
        return reference.max_pool_forward(x, kernel, stride, padding)
    N, C, H, W = x.shape
    Ho, Wo = _out_size(H, kernel, stride, padding), _out_size(W, kernel, stride, padding)
    out = cupy.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = cupy.empty((N, C, Ho, Wo), dtype=np.int64)
    if out.size:
        x = cupy.ascontiguousarray(x)
        _kernel("max_pool_forward", x.dtype)(
            _grid(out.size), (_THREADS,),
            (x, out, argmax, _i32(N), _i32(C), _i32(H), _i32(W), _i32(kernel), _i32(stride),
             _i32(padding), _i32(Ho), _i32(Wo)),
        )
    return out, argmax


def max_pool_backward(grad: Any, argmax: Any, x_shape: tuple[int, ...]) -> Any:
    """Route each output's gradient to the input element that was its maximum."""
    if not _supported(grad) or argmax.dtype != np.int64:
        return reference.max_pool_backward(grad, argmax, x_shape)
    N, C, H, W = x_shape
    out = cupy.zeros(tuple(x_shape), dtype=grad.dtype)
    if grad.size:
        grad = cupy.ascontiguousarray(grad)
        argmax = cupy.ascontiguousarray(argmax)
        plane_out = grad.shape[2] * grad.shape[3]
        _kernel("max_pool_backward", grad.dtype)(
            _grid(grad.size), (_THREADS,),
            (grad, argmax, out, _i32(plane_out), _i32(H * W), np.int64(grad.size)),
        )
    return out


# ------------------------------------------------------------- batch norm
def _chunks(count: int) -> tuple[int, int]:
    """(blocks per channel, elements per block) for a channel of ``count`` elements."""
    nparts = max(1, min(_BN_MAX_CHUNKS, -(-count // _BN_CHUNK)))
    chunk = -(-count // nparts)
    return nparts, max(chunk, 1)


def _as_param(a: Any, dtype: Any) -> Any:
    """``a`` itself when it is C-contiguous and of ``dtype``, else a contiguous copy."""
    if a.dtype == dtype and a.flags.c_contiguous:
        return a
    return cupy.ascontiguousarray(a.astype(dtype))


def batch_norm_forward(x, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float):
    """Batch norm of x (N, C, L) over N and L: (out, xhat, scale = weight / std).

    In training mode the batch statistics are used and the running ones (if
    given) are updated in place with the unbiased variance.
    """
    if not _supported(x):
        return reference.batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps)
    N, C, L = x.shape
    if C == 0 or N * L == 0:
        return reference.batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps)
    if not training and running_mean is None:
        raise ValueError("batch_norm: evaluation mode needs running statistics")
    x = cupy.ascontiguousarray(x)
    dt = x.dtype
    weight, bias = _as_param(weight, dt), _as_param(bias, dt)
    out = cupy.empty_like(x)
    xhat = cupy.empty_like(x)
    scale = cupy.empty(C, dtype=dt)
    update = bool(training) and running_mean is not None
    # The kernel updates (or reads) contiguous arrays of x's dtype; anything else goes through a copy.
    rm, rv = running_mean, running_var
    if running_mean is not None:
        rm, rv = _as_param(running_mean, dt), _as_param(running_var, dt)
    else:
        rm = rv = scale  # never read or written: the kernel wants a pointer in every slot
    nparts, chunk = _chunks(N * L)
    grid = (nparts, C)
    if training:
        partial = cupy.empty((C, nparts, 3), dtype=np.float64)
        _kernel("bn_partial_stats", dt)(grid, (_THREADS,), (x, partial, _i32(N), _i32(C), _i32(L), _i32(chunk)))
    else:
        partial = scale  # unused
    _kernel("bn_forward_apply", dt)(
        grid, (_THREADS,),
        (x, weight, bias, rm, rv, partial, out, xhat, scale, _i32(N), _i32(C), _i32(L), _i32(chunk),
         _i32(nparts), _i32(1 if training else 0), _i32(1 if update else 0), np.float64(momentum),
         np.float64(eps)),
    )
    if update:
        if rm is not running_mean:  # the kernel updated a copy
            running_mean[...] = rm
        if rv is not running_var:
            running_var[...] = rv
    return out, xhat, scale


def batch_norm_backward(g, xhat, scale, training: bool):
    """(grad_x, grad_weight, grad_bias) of :func:`batch_norm_forward`."""
    if not _supported(g, xhat, scale):
        return reference.batch_norm_backward(g, xhat, scale, training)
    N, C, L = g.shape
    if C == 0 or N * L == 0:
        return reference.batch_norm_backward(g, xhat, scale, training)
    g = cupy.ascontiguousarray(g)
    xhat = cupy.ascontiguousarray(xhat)
    scale = cupy.ascontiguousarray(scale)
    count = N * L
    dt = g.dtype
    gx = cupy.empty_like(g)
    gweight = cupy.empty(C, dtype=dt)
    gbias = cupy.empty(C, dtype=dt)
    nparts, chunk = _chunks(count)
    grid = (nparts, C)
    partial = cupy.empty((C, nparts, 2), dtype=np.float64)
    _kernel("bn_partial_grad", dt)(grid, (_THREADS,), (g, xhat, partial, _i32(N), _i32(C), _i32(L), _i32(chunk)))
    _kernel("bn_backward_apply", dt)(
        grid, (_THREADS,),
        (g, xhat, scale, partial, gx, gweight, gbias, _i32(N), _i32(C), _i32(L), _i32(chunk),
         _i32(nparts), _i32(1 if training else 0)),
    )
    return gx, gweight, gbias


# Cross-entropy on the GPU runs the array-module code: a handful of small
# element-wise launches, and one host sync for the target range check.
cross_entropy_forward = reference.cross_entropy_forward
cross_entropy_backward = reference.cross_entropy_backward

# ReLU is two element-wise launches either way; the array-module code serves.
relu_forward = reference.relu_forward
relu_backward = reference.relu_backward
