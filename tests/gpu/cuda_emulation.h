// CUDA C run on the CPU, for tests/gpu/test_cuda_emulated.py: one OpenMP thread per CUDA thread, an OpenMP
// barrier per __syncthreads(), __shared__ arrays as statics (shared by the block's threads), atomics as
// OpenMP atomics.  Blocks run one after another.  Enough for kernels without warp-level code (ours).
#include <omp.h>
#include <cmath>
#include <cstring>
#include <algorithm>
using std::min; using std::max;
struct dim3_ { unsigned x, y, z; };
static dim3_ blockIdx, blockDim, gridDim;
static thread_local dim3_ threadIdx;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(x)
#define __shared__ static
#define __syncthreads() _Pragma("omp barrier")
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long i) { double f; std::memcpy(&f, &i, 8); return f; }
static inline void atomicAdd(float* a, float v) {
#pragma omp atomic
    *a += v;
}
static inline void atomicAdd(double* a, double v) {
#pragma omp atomic
    *a += v;
}
template <class F> static void launch(unsigned gx, unsigned gy, unsigned threads, F f) {
    omp_set_dynamic(0);
    gridDim = {gx, gy, 1}; blockDim = {threads, 1, 1};
    for (unsigned by = 0; by < gy; ++by)
        for (unsigned bx = 0; bx < gx; ++bx) {
            blockIdx = {bx, by, 0};
#pragma omp parallel num_threads(threads)
            { threadIdx = {(unsigned)omp_get_thread_num(), 0, 0}; f(); }
        }
}
