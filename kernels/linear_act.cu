// The Linear epilogue after the cuBLAS matmul: out = act(z + b) and its backward.
// NumPy twins: bias_act_ref, bias_act_backward_ref (gradengine/ops/fused.py).
// z, out, g, dz are C-contiguous (M, N); b is (N,) or null; act is a functor from common.cuh.
#include "common.cuh"

// out = act(z + b[col]); out may be z (in place). Threads along x walk the columns of a row,
// threads along y (and blockIdx.y, grid-stride) the rows: the column comes from the loop, never
// from a 64-bit modulo per element. In each row whose z and out sit at the same offset from a
// 16-byte boundary, a scalar head peels to the boundary, the body moves 128-bit packs and a
// scalar tail ends it, so any N and misaligned views keep the vector path; the bias is read
// element by element (it is small and stays in cache, and its phase differs from row to row
// when N is not a multiple of the pack width).
template <typename T, typename Act>
__device__ __forceinline__ T bias_act_elem(T z, const T* b, long long col) {
    acc_t<T> s = to_acc(z);
    if (b != nullptr) s = s + to_acc(b[col]);
    return from_acc<T>(Act::fwd(s));
}

template <typename T, typename Act>
__global__ void __launch_bounds__(GE_BLOCK)
    bias_act_fwd(const T* z, const T* b, T* out, long long M, long long N) {
    constexpr int W = pack<T>::width;
    const long long tx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long sx = static_cast<long long>(gridDim.x) * blockDim.x;
    const long long sy = static_cast<long long>(gridDim.y) * blockDim.y;
    for (long long r = static_cast<long long>(blockIdx.y) * blockDim.y + threadIdx.y; r < M;
         r += sy) {
        const T* zr = z + r * N;
        T* orow = out + r * N;
        const long long head = same_phase16(zr, orow) ? ge_min(N, peel16(zr)) : N;
        const long long packs = (N - head) / W;
        const long long tail = head + packs * W;
        for (long long c = tx; c < head; c += sx) orow[c] = bias_act_elem<T, Act>(zr[c], b, c);
        const pack<T>* zv = reinterpret_cast<const pack<T>*>(zr + head);
        pack<T>* ov = reinterpret_cast<pack<T>*>(orow + head);
        for (long long p = tx; p < packs; p += sx) {
            pack<T> v = zv[p];
            const long long c0 = head + p * W;
#pragma unroll
            for (int k = 0; k < W; ++k) v.v[k] = bias_act_elem<T, Act>(v.v[k], b, c0 + k);
            ov[p] = v;
        }
        for (long long c = tail + tx; c < N; c += sx) {
            orow[c] = bias_act_elem<T, Act>(zr[c], b, c);
        }
    }
}

// dz = g * act'(out), and the bias gradient db (column sums of dz) in the same launch.
//
// Block (bx, by), bx * by == GE_BLOCK: threadIdx.x walks column groups of C columns (C == the
// pack width when `vec`, so each thread moves 128-bit packs of g, out and dz; else 1),
// threadIdx.y strides over the rows of this block's chunk [blockIdx.y * rows_per_chunk,
// +rows_per_chunk), several rows per thread. The launcher sets vec only when N is a multiple
// of the pack width and every pointer is 16-byte aligned.
//
// Stage 1: each thread sums its columns over its rows (compensated), a fixed pairwise tree
// over threadIdx.y adds the threads of a column, and the block writes one partial sum per
// column to partial[blockIdx.y, col]. Stage 2, in the same launch: the block that takes the
// last ticket of its column group (ticket[blockIdx.x], zero before the launch and reset to
// zero by that block, so graph replays find it zeroed) adds the chunk partials of those
// columns, chunk c by thread row c % by, then the same tree, and writes db. Every order of
// addition is fixed by (M, N, vec), so db has the same bits on every run.
// partial == null means no bias: only dz is written. out is not read for act_none.
template <typename T, typename Act>
__global__ void __launch_bounds__(GE_BLOCK)
    bias_act_bwd(const T* g, const T* out, T* dz, acc_t<T>* partial, unsigned int* ticket,
                 T* db, long long M, long long N, long long rows_per_chunk, int vec) {
    using A = acc_t<T>;
    constexpr int W = pack<T>::width;
    __shared__ A sums[W * GE_BLOCK];
    __shared__ int last;
    const int C = vec ? W : 1;
    const long long col0 =
        (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) * C;
    const long long row_end = ge_min(M, (blockIdx.y + 1LL) * rows_per_chunk);
    const long long row0 = blockIdx.y * rows_per_chunk + threadIdx.y;
    compensated_sum<A> sum[W];
    if (col0 < N) {
        if (vec) {
            for (long long r = row0; r < row_end; r += blockDim.y) {
                const long long i = r * N + col0;
                const pack<T> gv = *reinterpret_cast<const pack<T>*>(g + i);
                pack<T> ov;
                if constexpr (Act::uses_out) ov = *reinterpret_cast<const pack<T>*>(out + i);
                pack<T> d;
#pragma unroll
                for (int k = 0; k < W; ++k) {
                    A x = to_acc(gv.v[k]);
                    if constexpr (Act::uses_out) x = x * Act::grad(to_acc(ov.v[k]));
                    d.v[k] = from_acc<T>(x);
                    // Sum dz as stored (rounded to T), so db is exactly the column sum of dz.
                    sum[k].add(to_acc(d.v[k]));
                }
                *reinterpret_cast<pack<T>*>(dz + i) = d;
            }
        } else {
            for (long long r = row0; r < row_end; r += blockDim.y) {
                const long long i = r * N + col0;
                A x = to_acc(g[i]);
                if constexpr (Act::uses_out) x = x * Act::grad(to_acc(out[i]));
                const T d = from_acc<T>(x);
                dz[i] = d;
                sum[0].add(to_acc(d));
            }
        }
    }
    if (partial == nullptr) return;  // uniform over the grid: no barrier is skipped
    const unsigned t = threadIdx.y * blockDim.x + threadIdx.x;
    for (int k = 0; k < C; ++k) sums[k * GE_BLOCK + t] = sum[k].value();
    __syncthreads();
    // A fixed pairwise tree over threadIdx.y (blockDim.y is a power of two): deterministic.
    for (unsigned h = blockDim.y / 2; h > 0; h /= 2) {
        if (threadIdx.y < h) {
            for (int k = 0; k < C; ++k) {
                sums[k * GE_BLOCK + t] += sums[k * GE_BLOCK + t + h * blockDim.x];
            }
        }
        __syncthreads();
    }
    if (threadIdx.y == 0) {
        for (int k = 0; k < C; ++k) {
            if (col0 + k < N) partial[blockIdx.y * N + col0 + k] = sums[k * GE_BLOCK + t];
        }
    }
    // The last-block ticket: publish the partials, then count this block in.
    __threadfence();
    __syncthreads();
    if (t == 0) last = atomicAdd(&ticket[blockIdx.x], 1u) == gridDim.y - 1;
    __syncthreads();
    if (!last) return;  // uniform over the block
    __threadfence();
    // volatile: read the other blocks' partials from L2, never from a stale L1 line.
    const volatile A* vp = partial;
    compensated_sum<A> total[W];
    if (col0 < N) {
        for (long long c = threadIdx.y; c < gridDim.y; c += blockDim.y) {
            for (int k = 0; k < C; ++k) {
                if (col0 + k < N) total[k].add(vp[c * N + col0 + k]);
            }
        }
    }
    for (int k = 0; k < C; ++k) sums[k * GE_BLOCK + t] = total[k].value();
    __syncthreads();
    for (unsigned h = blockDim.y / 2; h > 0; h /= 2) {
        if (threadIdx.y < h) {
            for (int k = 0; k < C; ++k) {
                sums[k * GE_BLOCK + t] += sums[k * GE_BLOCK + t + h * blockDim.x];
            }
        }
        __syncthreads();
    }
    if (threadIdx.y == 0) {
        for (int k = 0; k < C; ++k) {
            if (col0 + k < N) db[col0 + k] = from_acc<T>(sums[k * GE_BLOCK + t]);
        }
    }
    if (t == 0) ticket[blockIdx.x] = 0u;
}

#ifndef __CUDACC_RTC__
// NVRTC instantiates only the name expressions CuPy asks for; plain nvcc (the CI compile
// check) needs explicit instantiations to emit any code at all.
#define GE_BIAS_ACT_INSTANTIATE(T, Act)                                                     \
    template __global__ void bias_act_fwd<T, Act>(const T*, const T*, T*, long long,        \
                                                  long long);                               \
    template __global__ void bias_act_bwd<T, Act>(const T*, const T*, T*, acc_t<T>*,        \
                                                  unsigned int*, T*, long long, long long,  \
                                                  long long, int);
#define GE_LINEAR_ACT_INSTANTIATE(T)                                                        \
    GE_BIAS_ACT_INSTANTIATE(T, act_none)                                                    \
    GE_BIAS_ACT_INSTANTIATE(T, act_sigmoid)                                                 \
    GE_BIAS_ACT_INSTANTIATE(T, act_relu)                                                    \
    GE_BIAS_ACT_INSTANTIATE(T, act_tanh)
GE_LINEAR_ACT_INSTANTIATE(float)
GE_LINEAR_ACT_INSTANTIATE(double)
GE_LINEAR_ACT_INSTANTIATE(ge_half)
#undef GE_LINEAR_ACT_INSTANTIATE
#undef GE_BIAS_ACT_INSTANTIATE
#endif
