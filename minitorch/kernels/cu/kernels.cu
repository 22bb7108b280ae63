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
    T* __restrict__ means, T* __restrict__ variances, const double* __restrict__ partial,
    T* __restrict__ out, T* __restrict__ xhat, T* __restrict__ scale,
    const int N, const int C, const int L, const int chunk, const int nparts,
    const int training, const double eps)
{
    // Block (b, c): the statistics of channel c (in training merged from the nparts partials in a
    // fixed order and written to means, variances; else read from them), then out and xhat over chunk b.
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
            if (b == 0) {
                means[c] = (T)mean;
                variances[c] = (T)var;
            }
        } else {
            mean = (double)means[c];
            var = (double)variances[c];
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

// ---------------------------------------------------------------------------------------------
// GEMM for the small products of Linear and im2col convolution, used where cuBLAS cannot be
// (inside a CUDA-graph stream capture, which CuPy refuses cuBLAS calls in).
//
// C (M, N), C-contiguous, = A (M, K) @ B (K, N), with A[m, k] at A[m * sam + k * sak] and B[k, n]
// at B[k * sbk + n * sbn] (element strides: a transposed operand is the same memory, other strides).
// Block (bx, by) computes the GEMM_BM x GEMM_BN tile of C at (by * GEMM_BM, bx * GEMM_BN) with
// GEMM_THREADS = 256 threads, each a 4 x 4 sub-tile (rows ty + 16 i, columns tx + 16 j), stepping
// through K GEMM_BK at a time via shared memory.  Every element of C is one thread's sum over k in
// ascending order, so the result is deterministic (but not cuBLAS's rounding, which sums in
// another order).  Out-of-range tile entries load as 0, and only in-range elements are stored.
#define GEMM_BM 64
#define GEMM_BN 64
#define GEMM_BK 16
#define GEMM_THREADS 256

extern "C" __global__ void __launch_bounds__(GEMM_THREADS) gemm(
    const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C,
    const int M, const int N, const int K,
    const i64 sam, const i64 sak, const i64 sbk, const i64 sbn)
{
    __shared__ T As[GEMM_BK][GEMM_BM];
    __shared__ T Bs[GEMM_BK][GEMM_BN];
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * GEMM_BM, n0 = blockIdx.x * GEMM_BN;
    T acc[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = (T)0;
    for (int k0 = 0; k0 < K; k0 += GEMM_BK) {
        for (int e = tid; e < GEMM_BK * GEMM_BM; e += GEMM_THREADS) {
            const int kk = e / GEMM_BM, mm = e % GEMM_BM;
            const int m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < K) ? A[(i64)m * sam + (i64)k * sak] : (T)0;
        }
        for (int e = tid; e < GEMM_BK * GEMM_BN; e += GEMM_THREADS) {
            const int kk = e / GEMM_BN, nn = e % GEMM_BN;
            const int n = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (n < N && k < K) ? B[(i64)k * sbk + (i64)n * sbn] : (T)0;
        }
        __syncthreads();
        for (int kk = 0; kk < GEMM_BK; ++kk) {
            T a[4], b[4];
            for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n < N) C[(i64)m * N + n] = acc[i][j];
        }
    }
}
