// C = A @ B for 2-D operands of any element strides; NumPy twin: matmul_ref
// (gradengine/ops/fused.py). Unlike cupy.matmul (cuBLAS) it may run while a stream is being
// captured into a CUDA graph. a[i, k] is a[i * sa0 + k * sa1] (strides in elements, any sign,
// 0 for broadcast views), likewise b; c is a dense C-contiguous (M, N) array that must not
// overlap a or b.
//
// Shared-memory tiles: a block of GE_BLOCK = 16 x 16 threads computes a 64 x 64 tile of C,
// each thread a 4 x 4 register block (rows ty + 16 r, columns tx + 16 s, so the stores of a
// warp are consecutive columns), stepping over K in slices of 16. Each slice of A and B is
// loaded along whichever axis is contiguous in memory, so plain and transposed operands are
// both read coalesced. Products are accumulated with one fused multiply-add per k, in
// acc_t<T> (float for half), in increasing k: the same bits on every run.
#include "common.cuh"

#define GE_MM_TILE 64  // rows and columns of C per block
#define GE_MM_K 16     // depth of one shared-memory slice
#define GE_MM_SIDE 16  // threads per side of the block: GE_MM_SIDE^2 == GE_BLOCK
#define GE_MM_REG 4    // rows (and columns) per thread: GE_MM_SIDE * GE_MM_REG == GE_MM_TILE

static_assert(GE_MM_SIDE * GE_MM_SIDE == GE_BLOCK, "one thread per (tx, ty)");
static_assert(GE_MM_SIDE * GE_MM_REG == GE_MM_TILE, "the register blocks cover the tile");
static_assert(GE_MM_TILE * GE_MM_K % GE_BLOCK == 0, "every thread loads the same count");

template <typename T>
__device__ __forceinline__ acc_t<T> load_or_zero(const T* p, long long r, long long c,
                                                 long long rows, long long cols,
                                                 long long s0, long long s1) {
    return r < rows && c < cols ? to_acc(p[r * s0 + c * s1]) : acc_t<T>(0);
}

template <typename T>
__global__ void __launch_bounds__(GE_BLOCK)
    matmul_fwd(const T* a, const T* b, T* c, long long M, long long N, long long K,
               long long sa0, long long sa1, long long sb0, long long sb1) {
    using A = acc_t<T>;
    // as[k][i] = a[i0 + i, k0 + k], bs[k][j] = b[k0 + k, j0 + j]. The +1 column staggers the
    // banks when a slice is stored along k.
    __shared__ A as[GE_MM_K][GE_MM_TILE + 1];
    __shared__ A bs[GE_MM_K][GE_MM_TILE + 1];
    const int t = threadIdx.x;
    const int tx = t % GE_MM_SIDE;
    const int ty = t / GE_MM_SIDE;
    // Consecutive threads load consecutive addresses: along k for a row-major A, along i for
    // a transposed one (stride 1 on axis 0); along j for a row-major B, along k otherwise.
    const bool a_along_k = sa0 != 1 || sa1 == 1;
    const bool b_along_j = sb0 != 1 || sb1 == 1;
    const long long tiles_m = (M + GE_MM_TILE - 1) / GE_MM_TILE;
    const long long tiles_n = (N + GE_MM_TILE - 1) / GE_MM_TILE;
    // Grid-stride over tiles; the bounds are the same for the whole block, so every thread
    // reaches every __syncthreads.
    for (long long tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
        for (long long tn = blockIdx.x; tn < tiles_n; tn += gridDim.x) {
            const long long i0 = tm * GE_MM_TILE;
            const long long j0 = tn * GE_MM_TILE;
            A acc[GE_MM_REG][GE_MM_REG];
#pragma unroll
            for (int r = 0; r < GE_MM_REG; ++r) {
#pragma unroll
                for (int s = 0; s < GE_MM_REG; ++s) acc[r][s] = A(0);
            }
            for (long long k0 = 0; k0 < K; k0 += GE_MM_K) {
#pragma unroll
                for (int l = 0; l < GE_MM_TILE * GE_MM_K / GE_BLOCK; ++l) {
                    const int e = t + l * GE_BLOCK;
                    const int ka = a_along_k ? e % GE_MM_K : e / GE_MM_TILE;
                    const int ia = a_along_k ? e / GE_MM_K : e % GE_MM_TILE;
                    as[ka][ia] = load_or_zero(a, i0 + ia, k0 + ka, M, K, sa0, sa1);
                    const int kb = b_along_j ? e / GE_MM_TILE : e % GE_MM_K;
                    const int jb = b_along_j ? e % GE_MM_TILE : e / GE_MM_K;
                    bs[kb][jb] = load_or_zero(b, k0 + kb, j0 + jb, K, N, sb0, sb1);
                }
                __syncthreads();
#pragma unroll
                for (int k = 0; k < GE_MM_K; ++k) {
                    A av[GE_MM_REG];
                    A bv[GE_MM_REG];
#pragma unroll
                    for (int r = 0; r < GE_MM_REG; ++r) av[r] = as[k][ty + GE_MM_SIDE * r];
#pragma unroll
                    for (int s = 0; s < GE_MM_REG; ++s) bv[s] = bs[k][tx + GE_MM_SIDE * s];
#pragma unroll
                    for (int r = 0; r < GE_MM_REG; ++r) {
#pragma unroll
                        for (int s = 0; s < GE_MM_REG; ++s) {
                            acc[r][s] = ge_fma(av[r], bv[s], acc[r][s]);
                        }
                    }
                }
                __syncthreads();  // the next slice overwrites as and bs
            }
#pragma unroll
            for (int r = 0; r < GE_MM_REG; ++r) {
                const long long i = i0 + ty + GE_MM_SIDE * r;
#pragma unroll
                for (int s = 0; s < GE_MM_REG; ++s) {
                    const long long j = j0 + tx + GE_MM_SIDE * s;
                    if (i < M && j < N) c[i * N + j] = from_acc<T>(acc[r][s]);
                }
            }
        }
    }
}

#ifndef __CUDACC_RTC__
// NVRTC instantiates only the name expressions CuPy asks for; plain nvcc (the CI compile
// check) needs explicit instantiations to emit any code at all.
#define GE_MATMUL_INSTANTIATE(T)                                                           \
    template __global__ void matmul_fwd<T>(const T*, const T*, T*, long long, long long,   \
                                           long long, long long, long long, long long,     \
                                           long long);
GE_MATMUL_INSTANTIATE(float)
GE_MATMUL_INSTANTIATE(double)
GE_MATMUL_INSTANTIATE(ge_half)
#undef GE_MATMUL_INSTANTIATE
#endif
