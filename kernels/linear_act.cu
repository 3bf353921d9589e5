// The Linear epilogue after the cuBLAS matmul: out = act(z + b) and its backward.
// NumPy twins: bias_act_ref, bias_act_backward_ref (gradengine/ops/fused.py).
// z, out, g, dz are C-contiguous (M, N); b is (N,) or null; act is a functor from common.cuh.
#include "common.cuh"

// out = act(z + b[col]); out may be z (in place). Grid-stride over M*N elements, with
// 128-bit packs when N is a multiple of the pack width (a pack never straddles two rows) and
// every pointer is 16-byte aligned.
template <typename T, typename Act>
__global__ void __launch_bounds__(GE_BLOCK)
    bias_act_fwd(const T* z, const T* b, T* out, long long M, long long N) {
    using A = acc_t<T>;
    constexpr int W = pack<T>::width;
    const long long n = M * N;
    const long long tid = global_thread();
    const long long stride = grid_threads();
    if (N % W == 0 && aligned16(z) && aligned16(out) && (b == nullptr || aligned16(b))) {
        const long long packs = n / W;
        const pack<T>* zv = reinterpret_cast<const pack<T>*>(z);
        const pack<T>* bv = reinterpret_cast<const pack<T>*>(b);
        pack<T>* ov = reinterpret_cast<pack<T>*>(out);
        for (long long p = tid; p < packs; p += stride) {
            pack<T> v = zv[p];
            if (b != nullptr) {
                const pack<T> bias = bv[(p * W) % N / W];
#pragma unroll
                for (int k = 0; k < W; ++k) {
                    v.v[k] = from_acc<T>(Act::fwd(to_acc(v.v[k]) + to_acc(bias.v[k])));
                }
            } else {
#pragma unroll
                for (int k = 0; k < W; ++k) v.v[k] = from_acc<T>(Act::fwd(to_acc(v.v[k])));
            }
            ov[p] = v;
        }
        return;
    }
    for (long long i = tid; i < n; i += stride) {
        A s = to_acc(z[i]);
        if (b != nullptr) s = s + to_acc(b[i % N]);
        out[i] = from_acc<T>(Act::fwd(s));
    }
}

// dz = g * act'(out), and the bias gradient (column sums of dz) in the same pass over g.
// Block (bx, by) with bx * by == GE_BLOCK: threadIdx.x walks columns (consecutive threads
// read consecutive addresses), threadIdx.y strides over the rows of this block's chunk
// [blockIdx.y * rows_per_chunk, +rows_per_chunk). Each block writes one partial sum per
// column to partial_db[blockIdx.y, col]; reduce_partials adds the chunks in order. The
// launch shape depends only on (M, N), so db is bit-identical on every run.
// partial_db == null means no bias: only dz is written. out is not read for act_none.
template <typename T, typename Act>
__global__ void __launch_bounds__(GE_BLOCK)
    bias_act_bwd(const T* g, const T* out, T* dz, acc_t<T>* partial_db, long long M,
                 long long N, long long rows_per_chunk) {
    using A = acc_t<T>;
    __shared__ A sums[GE_BLOCK];
    const long long col = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long row_end = ge_min(M, (blockIdx.y + 1LL) * rows_per_chunk);
    compensated_sum<A> sum;
    if (col < N) {
        for (long long r = blockIdx.y * rows_per_chunk + threadIdx.y; r < row_end;
             r += blockDim.y) {
            const long long i = r * N + col;
            A d = to_acc(g[i]);
            if constexpr (Act::uses_out) d = d * Act::grad(to_acc(out[i]));
            const T dt = from_acc<T>(d);
            dz[i] = dt;
            // Sum dz as stored (rounded to T), so db is exactly the column sum of dz.
            sum.add(to_acc(dt));
        }
    }
    if (partial_db == nullptr) return;  // uniform over the block: no barrier is skipped
    const unsigned t = threadIdx.y * blockDim.x + threadIdx.x;
    sums[t] = sum.value();
    __syncthreads();
    // A fixed pairwise tree over threadIdx.y (blockDim.y is a power of two): deterministic.
    for (unsigned h = blockDim.y / 2; h > 0; h /= 2) {
        if (threadIdx.y < h) sums[t] += sums[t + h * blockDim.x];
        __syncthreads();
    }
    if (threadIdx.y == 0 && col < N) partial_db[blockIdx.y * N + col] = sums[threadIdx.x];
}

// db[col] = sum over chunks c = 0, 1, ... of partial[c, col], always in that order.
template <typename T>
__global__ void __launch_bounds__(GE_BLOCK)
    reduce_partials(const acc_t<T>* partial, T* db, long long chunks, long long N) {
    using A = acc_t<T>;
    for (long long col = global_thread(); col < N; col += grid_threads()) {
        compensated_sum<A> s;
        for (long long c = 0; c < chunks; ++c) s.add(partial[c * N + col]);
        db[col] = from_acc<T>(s.value());
    }
}

#ifndef __CUDACC_RTC__
// NVRTC instantiates only the name expressions CuPy asks for; plain nvcc (the CI compile
// check) needs explicit instantiations to emit any code at all.
#define GE_BIAS_ACT_INSTANTIATE(T, Act)                                                     \
    template __global__ void bias_act_fwd<T, Act>(const T*, const T*, T*, long long,        \
                                                  long long);                               \
    template __global__ void bias_act_bwd<T, Act>(const T*, const T*, T*, acc_t<T>*,        \
                                                  long long, long long, long long);
#define GE_LINEAR_ACT_INSTANTIATE(T)                                                        \
    GE_BIAS_ACT_INSTANTIATE(T, act_none)                                                    \
    GE_BIAS_ACT_INSTANTIATE(T, act_sigmoid)                                                 \
    GE_BIAS_ACT_INSTANTIATE(T, act_relu)                                                    \
    GE_BIAS_ACT_INSTANTIATE(T, act_tanh)                                                    \
    template __global__ void reduce_partials<T>(const acc_t<T>*, T*, long long, long long);
GE_LINEAR_ACT_INSTANTIATE(float)
GE_LINEAR_ACT_INSTANTIATE(double)
GE_LINEAR_ACT_INSTANTIATE(ge_half)
#undef GE_LINEAR_ACT_INSTANTIATE
#undef GE_BIAS_ACT_INSTANTIATE
#endif
