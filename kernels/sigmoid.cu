// Sigmoid forward and backward; NumPy twins: sigmoid_ref, sigmoid_backward_ref
// (gradengine/ops/fused.py). Elementwise over n contiguous elements, grid-stride, 128-bit
// loads when every pointer is 16-byte aligned, a scalar loop for the tail. Either kernel
// may run in place (y == x, dx == g).
#include "common.cuh"

template <typename T>
__global__ void __launch_bounds__(GE_BLOCK) sigmoid_fwd(const T* x, T* y, long long n) {
    using A = acc_t<T>;
    constexpr int W = pack<T>::width;
    const long long tid = global_thread();
    const long long stride = grid_threads();
    long long head = 0;
    // Views offset by a few elements (x[1:]) are contiguous but not 16-byte aligned.
    if (aligned16(x) && aligned16(y)) {
        const long long packs = n / W;
        const pack<T>* xv = reinterpret_cast<const pack<T>*>(x);
        pack<T>* yv = reinterpret_cast<pack<T>*>(y);
        for (long long p = tid; p < packs; p += stride) {
            pack<T> v = xv[p];
#pragma unroll
            for (int k = 0; k < W; ++k) v.v[k] = from_acc<T>(sigmoid_of(to_acc(v.v[k])));
            yv[p] = v;
        }
        head = packs * W;
    }
    for (long long i = head + tid; i < n; i += stride) y[i] = from_acc<T>(sigmoid_of(to_acc(x[i])));
}

// dx = g * y * (1 - y): the saved output y, never x, so no exp is recomputed.
template <typename A> __device__ __forceinline__ A sigmoid_grad(A y, A g) {
    return g * y * (A(1) - y);
}

template <typename T>
__global__ void __launch_bounds__(GE_BLOCK)
    sigmoid_bwd(const T* y, const T* g, T* dx, long long n) {
    constexpr int W = pack<T>::width;
    const long long tid = global_thread();
    const long long stride = grid_threads();
    long long head = 0;
    if (aligned16(y) && aligned16(g) && aligned16(dx)) {
        const long long packs = n / W;
        const pack<T>* yv = reinterpret_cast<const pack<T>*>(y);
        const pack<T>* gv = reinterpret_cast<const pack<T>*>(g);
        pack<T>* dv = reinterpret_cast<pack<T>*>(dx);
        for (long long p = tid; p < packs; p += stride) {
            const pack<T> a = yv[p];
            const pack<T> b = gv[p];
            pack<T> d;
#pragma unroll
            for (int k = 0; k < W; ++k) {
                d.v[k] = from_acc<T>(sigmoid_grad(to_acc(a.v[k]), to_acc(b.v[k])));
            }
            dv[p] = d;
        }
        head = packs * W;
    }
    for (long long i = head + tid; i < n; i += stride) {
        dx[i] = from_acc<T>(sigmoid_grad(to_acc(y[i]), to_acc(g[i])));
    }
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
