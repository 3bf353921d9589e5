// Sigmoid forward and backward; NumPy twins: sigmoid_ref, sigmoid_backward_ref
// (gradengine/ops/fused.py). Elementwise over n contiguous elements, grid-stride. When all
// pointers sit at the same offset from a 16-byte boundary (always for fresh arrays, and for a
// view such as x[1:] whose output is fresh only if that offset is 0), a scalar head peels off
// the elements before the boundary, the body runs on 128-bit packs and a scalar tail ends it;
// otherwise every element takes the scalar path. Either kernel may run in place (y == x,
// dx == g).
#include "common.cuh"

// sigma(x) in the accumulation type. float16 results use the fast intrinsics (see
// ge_exp_fast); float and double keep the correctly rounded library calls, so they match the
// twin to float32 / float64 rounding.
template <typename T> struct sigmoid_math {
    template <typename A> __device__ static A fwd(A x) { return sigmoid_of(x); }
};
template <> struct sigmoid_math<ge_half> {
    __device__ static float fwd(float x) {
        const float e = ge_exp_fast(-ge_abs(x));
        const float r = ge_div_fast(1.0f, 1.0f + e);
        return x >= 0.0f ? r : e * r;
    }
};

template <typename T> __device__ __forceinline__ T sigmoid_elem(T x) {
    return from_acc<T>(sigmoid_math<T>::fwd(to_acc(x)));
}

template <typename T>
__global__ void __launch_bounds__(GE_BLOCK) sigmoid_fwd(const T* x, T* y, long long n) {
    constexpr int W = pack<T>::width;
    const long long tid = global_thread();
    const long long stride = grid_threads();
    const long long head = same_phase16(x, y) ? ge_min(n, peel16(x)) : n;
    const long long packs = (n - head) / W;
    const long long tail = head + packs * W;
    for (long long i = tid; i < head; i += stride) y[i] = sigmoid_elem(x[i]);
    const pack<T>* xv = reinterpret_cast<const pack<T>*>(x + head);
    pack<T>* yv = reinterpret_cast<pack<T>*>(y + head);
    for (long long p = tid; p < packs; p += stride) {
        pack<T> v = xv[p];
#pragma unroll
        for (int k = 0; k < W; ++k) v.v[k] = sigmoid_elem(v.v[k]);
        yv[p] = v;
    }
    for (long long i = tail + tid; i < n; i += stride) y[i] = sigmoid_elem(x[i]);
}

// dx = g * y * (1 - y): the saved output y, never x, so no exp is recomputed.
template <typename T> __device__ __forceinline__ T sigmoid_grad(T y, T g) {
    using A = acc_t<T>;
    const A a = to_acc(y);
    return from_acc<T>(to_acc(g) * a * (A(1) - a));
}

template <typename T>
__global__ void __launch_bounds__(GE_BLOCK)
    sigmoid_bwd(const T* y, const T* g, T* dx, long long n) {
    constexpr int W = pack<T>::width;
    const long long tid = global_thread();
    const long long stride = grid_threads();
    const bool phased = same_phase16(y, g) && same_phase16(y, dx);
    const long long head = phased ? ge_min(n, peel16(y)) : n;
    const long long packs = (n - head) / W;
    const long long tail = head + packs * W;
    for (long long i = tid; i < head; i += stride) dx[i] = sigmoid_grad(y[i], g[i]);
    const pack<T>* yv = reinterpret_cast<const pack<T>*>(y + head);
    const pack<T>* gv = reinterpret_cast<const pack<T>*>(g + head);
    pack<T>* dv = reinterpret_cast<pack<T>*>(dx + head);
    for (long long p = tid; p < packs; p += stride) {
        const pack<T> a = yv[p];
        const pack<T> b = gv[p];
        pack<T> d;
#pragma unroll
        for (int k = 0; k < W; ++k) d.v[k] = sigmoid_grad(a.v[k], b.v[k]);
        dv[p] = d;
    }
    for (long long i = tail + tid; i < n; i += stride) dx[i] = sigmoid_grad(y[i], g[i]);
}

#ifndef __CUDACC_RTC__
// NVRTC instantiates only the name expressions CuPy asks for; plain nvcc (the CI compile
// check) needs explicit instantiations to emit any code at all.
#define GE_SIGMOID_INSTANTIATE(T)                                                  \
    template __global__ void sigmoid_fwd<T>(const T*, T*, long long);              \
    template __global__ void sigmoid_bwd<T>(const T*, const T*, T*, long long);
GE_SIGMOID_INSTANTIATE(float)
GE_SIGMOID_INSTANTIATE(double)
GE_SIGMOID_INSTANTIATE(ge_half)
#undef GE_SIGMOID_INSTANTIATE
#endif
