typedef double T;
#define NEG_INF __longlong_as_double(0xfff0000000000000LL)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 600
__device__ void atomic_add(double* a, double v) {
    unsigned long long* p = (unsigned long long*)a;
    unsigned long long old = *p, assumed;
    do {
        assumed = old;
        old = atomicCAS(p, assumed, __double_as_longlong(v + __longlong_as_double(assumed)));
    } while (assumed != old);
}
#else
__device__ __forceinline__ void atomic_add(double* a, double v) { atomicAdd(a, v); }
#endif
