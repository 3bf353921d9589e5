// Shared device helpers for gradengine's kernels.
//
// Compiled at run time by NVRTC (through CuPy), so no host headers: NVRTC has no <cmath>
// or <cstdint>. gradengine/kernels.py pastes this file over the line that includes it,
// so that CuPy's disk cache key changes whenever this header does.
#pragma once

// Every launch uses 256 threads a block; bias_act_bwd's shared buffer is sized for it.
#define GE_BLOCK 256

// float16 as raw bits: cuda_fp16.h is not reachable under every NVRTC / CuPy install, and
// two PTX conversions are all the kernels need (arithmetic happens in float).
struct __align__(2) ge_half {
    unsigned short bits;
};

// The accumulation type: float for half, the element type otherwise (double stays double).
template <typename T> struct acc_of { using type = T; };
template <> struct acc_of<ge_half> { using type = float; };
template <typename T> using acc_t = typename acc_of<T>::type;

__device__ __forceinline__ float to_acc(float x) { return x; }
__device__ __forceinline__ double to_acc(double x) { return x; }

#ifdef GE_HOST_EMULATION
// The CPU test harness runs these kernels on host threads, where inline PTX cannot go.
__device__ __forceinline__ float to_acc(ge_half h) {
    return static_cast<float>(__builtin_bit_cast(_Float16, h.bits));
}
__device__ __forceinline__ ge_half half_from_float(float f) {
    return ge_half{__builtin_bit_cast(unsigned short, static_cast<_Float16>(f))};
}
#else
__device__ __forceinline__ float to_acc(ge_half h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}
__device__ __forceinline__ ge_half half_from_float(float f) {
    ge_half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
    return h;
}
#endif

template <typename T> __device__ __forceinline__ T from_acc(acc_t<T> a) { return a; }
template <> __device__ __forceinline__ ge_half from_acc<ge_half>(float a) {
    return half_from_float(a);
}

__device__ __forceinline__ float ge_exp(float x) { return expf(x); }
__device__ __forceinline__ double ge_exp(double x) { return exp(x); }
// Fast intrinsics for float16 results only: their few-ulp float error is far below half's
// 2^-11, and they cut the float16 sigmoid from ~25 instructions an element to ~8.
#ifdef GE_HOST_EMULATION
__device__ __forceinline__ float ge_exp_fast(float x) { return expf(x); }
__device__ __forceinline__ float ge_div_fast(float a, float b) { return a / b; }
#else
__device__ __forceinline__ float ge_exp_fast(float x) { return __expf(x); }
__device__ __forceinline__ float ge_div_fast(float a, float b) { return __fdividef(a, b); }
#endif
__device__ __forceinline__ float ge_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double ge_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float ge_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double ge_abs(double x) { return fabs(x); }
// An explicit fused multiply-add: --fmad=false stops the compiler contracting a * b + c, but a
// dot product wants one rounding per step (as BLAS does), and twice the throughput.
__device__ __forceinline__ float ge_fma(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double ge_fma(double a, double b, double c) { return fma(a, b, c); }

__device__ __forceinline__ long long ge_min(long long a, long long b) { return a < b ? a : b; }

// sigma(x) without overflow for any |x|: e = exp(-|x|) never exceeds 1, so +-inf give
// exactly 1 and 0 and NaN propagates. Same formula as gradengine.ops.fused.sigmoid_ref.
template <typename A> __device__ __forceinline__ A sigmoid_of(A x) {
    const A e = ge_exp(-ge_abs(x));
    const A d = A(1) + e;
    return x >= A(0) ? A(1) / d : e / d;
}

// Compensated (Neumaier) summation for the bias gradient: a running float32 sum over
// thousands of rows drifts by up to n * eps, far outside the twin's tolerance. Plain adds and
// subtracts only, so no multiply-add contraction can break it; deterministic like any sum
// in a fixed order.
template <typename A> struct compensated_sum {
    A s = A(0);
    A c = A(0);
    __device__ void add(A x) {
        const A t = s + x;
        c += ge_abs(s) >= ge_abs(x) ? (s - t) + x : (x - t) + s;
        s = t;
    }
    // An infinite s makes c NaN (inf - inf); the sum is then s itself, as in NumPy.
    __device__ A value() const { return c == c ? s + c : s; }
};

// Activations for the Linear epilogue. grad() is act'(z) written through out = act(z), so
// the backward needs only the saved output (the same rule as act_grad_ref).
struct act_none {
    static constexpr bool uses_out = false;
    template <typename A> __device__ static A fwd(A z) { return z; }
    template <typename A> __device__ static A grad(A) { return A(1); }
};

struct act_sigmoid {
    static constexpr bool uses_out = true;
    template <typename A> __device__ static A fwd(A z) { return sigmoid_of(z); }
    template <typename A> __device__ static A grad(A out) { return out * (A(1) - out); }
};

struct act_relu {
    static constexpr bool uses_out = true;
    // `z < 0 ? 0 : z` keeps NaN, like numpy.maximum(z, 0).
    template <typename A> __device__ static A fwd(A z) { return z < A(0) ? A(0) : z; }
    template <typename A> __device__ static A grad(A out) { return out > A(0) ? A(1) : A(0); }
};

struct act_tanh {
    static constexpr bool uses_out = true;
    template <typename A> __device__ static A fwd(A z) { return ge_tanh(z); }
    template <typename A> __device__ static A grad(A out) { return A(1) - out * out; }
};

// 16 bytes of T: one 128-bit load or store (float4 / double2 / 8 halves).
template <typename T> struct __align__(16) pack {
    static constexpr int width = 16 / sizeof(T);
    T v[width];
};

__device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<unsigned long long>(p) & 15ull) == 0;
}

// Elements of T before p reaches a 16-byte boundary (0 when it is aligned): peeling them off
// lets a misaligned view (x[1:]) use the 128-bit path for the rest.
template <typename T> __device__ __forceinline__ long long peel16(const T* p) {
    return static_cast<long long>(((16ull - (reinterpret_cast<unsigned long long>(p) & 15ull)) &
                                   15ull) / sizeof(T));
}

// True when p and q sit at the same offset from a 16-byte boundary, so one peel aligns both.
__device__ __forceinline__ bool same_phase16(const void* p, const void* q) {
    return ((reinterpret_cast<unsigned long long>(p) ^ reinterpret_cast<unsigned long long>(q)) &
            15ull) == 0;
}

__device__ __forceinline__ long long global_thread() {
    return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long grid_threads() {
    return static_cast<long long>(gridDim.x) * blockDim.x;
}
