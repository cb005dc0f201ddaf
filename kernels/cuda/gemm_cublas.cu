// gemm_cublas.cu: the CUDA twins of cpu::gemm (kernels/gemm.h) and cpu::linear_fwd/bwd
// (kernels/linear.h), on cuBLAS SGEMM plus two small bias kernels.
//   gemm:   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, all row-major
//   linear: x: (B, I), w: (O, I), b: (O) or null, y: (B, O) = x @ w^T + b
// linear_bwd ACCUMULATES (+=) into whichever of dx, dw, db is non-null (beta = 1 in the GEMMs),
// exactly like the CPU oracle kernels/cpu/linear.cpp.
// What it isn't: no batched/strided GEMM, no cuBLASLt epilogue fusion of the bias, float only.
// Test: the CUDA doctest suite (tests/cuda, needs a GPU) against cpu::gemm / cpu::linear_*; the
// row-major trick is explained with a worked example in docs/kernels/gemm_cublas.md.
//
// TF32: nothing to do per call. The context created the cuBLAS handle with its math mode already
// set from set_tf32() (CUBLAS_DEFAULT_MATH = true fp32, CUBLAS_TF32_TENSOR_OP_MATH = TF32 tensor
// cores) and updates it when the switch flips, and cublasSgemm honours the handle's mode.
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {
namespace {

// C (M, N) with leading dimension ldc: C = beta * C, the whole GEMM when K == 0 (an empty sum).
// beta == 0 writes zeros without reading C, keeping the "C is write-only" promise.
__global__ void scale_matrix(float* __restrict__ C, int M, int N, int ldc, float beta) {
  const int64_t total = int64_t(M) * N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    float& c = C[(i / N) * ldc + i % N];
    c = beta == 0.f ? 0.f : beta * c;
  }
}

// y: (B, O); y[r, o] += b[o]. Grid-stride over all of y.
__global__ void add_row_bias(float* __restrict__ y, const float* __restrict__ b, int64_t total, int O) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += b[i % O];
}

// dy: (B, O); db[o] += sum over r of dy[r, o]. A block covers 32 adjacent columns with 8 rows of
// threads: a warp reads 32 consecutive floats of one row (coalesced), each thread walks every 8th
// row summing in double (as the CPU oracle does), then the 8 partial sums of a column are added in
// a fixed order. One writer per db[o]: no atomics, deterministic.
constexpr int kColTile = 32, kRowThreads = 8;
__global__ void column_sum_add(float* __restrict__ db, const float* __restrict__ dy, int B, int O) {
  __shared__ double part[kRowThreads][kColTile];
  const int o = blockIdx.x * kColTile + threadIdx.x;
  double acc = 0.0;
  if (o < O)
    for (int r = threadIdx.y; r < B; r += kRowThreads) acc += double(dy[int64_t(r) * O + o]);
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < O) {
    double sum = 0.0;
    for (int k = 0; k < kRowThreads; ++k) sum += part[k][threadIdx.x];
    db[o] += float(sum);
  }
}

}  // namespace

// Row-major on top of column-major cuBLAS. A row-major (R, Cc) matrix with leading dimension ld is,
// byte for byte, a column-major (Cc, R) matrix with the same ld: its transpose. So the row-major
//   C = op(A) op(B)        is, read column-major,      C^T = op(B)^T op(A)^T,
// one cuBLAS call with the operands swapped and M, N swapped, no copies. The flags carry over
// unchanged: B stored (K, N) row-major (!trans_b) is column-major (N, K) = op(B)^T already, so
// CUBLAS_OP_N; B stored (N, K) (trans_b) is column-major (K, N) = op(B), and op(B)^T needs
// CUBLAS_OP_T. Likewise for A. The leading dimensions are the row-major ones, passed as they are.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
  ENGINE_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=", M, " N=", N, " K=", K);
  if (M == 0 || N == 0) return;  // nothing to write; cuBLAS would also reject ld = 0 here
  ENGINE_CHECK(ldc >= N, "gemm: ldc=", ldc, " < N=", N);
  if (K == 0) {
    // C = beta * C. Handled here because cuBLAS requires lda/ldb >= 1 even for an empty product,
    // and callers naturally pass ld = K = 0.
    if (beta == 1.f) return;
    scale_matrix<<<grid_for(int64_t(M) * N), 256, 0, cur_stream()>>>(C, M, N, ldc, beta);
    CUDA_CHECK_LAUNCH();
    return;
  }
  // cuBLAS reads beta == 0 as "C is write-only", the same promise cpu::gemm makes.
  CUBLAS_CHECK(cublasSgemm(cublas_handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void linear_fwd(float* y, const float* x, const float* w, const float* b, int B, int I, int O) {
  // y (B, O) = x (B, I) @ w^T, w stored (O, I): trans_b.
  gemm(false, true, B, O, I, 1.f, x, I, w, I, 0.f, y, O);
  if (b && B > 0 && O > 0) {
    const int64_t total = int64_t(B) * O;
    add_row_bias<<<grid_for(total), 256, 0, cur_stream()>>>(y, b, total, O);
    CUDA_CHECK_LAUNCH();
  }
}

void linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int B, int I,
                int O) {
  // dx (B, I) += dy (B, O) @ w (O, I)
  if (dx) gemm(false, false, B, I, O, 1.f, dy, O, w, I, 1.f, dx, I);
  // dw (O, I) += dy^T (O, B) @ x (B, I); dy stored (B, O): trans_a.
  if (dw) gemm(true, false, O, I, B, 1.f, dy, O, x, I, 1.f, dw, I);
  // db (O) += column sums of dy
  if (db && O > 0) {
    const dim3 block(kColTile, kRowThreads);
    column_sum_add<<<unsigned(ceil_div(O, kColTile)), block, 0, cur_stream()>>>(db, dy, B, O);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace cudistill::cuda
