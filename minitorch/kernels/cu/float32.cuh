typedef float T;
#define NEG_INF __int_as_float((int)0xff800000u)
__device__ __forceinline__ void atomic_add(float* a, float v) { atomicAdd(a, v); }
