// gemm.h: dense matrix multiply on the CPU, the workhorse under matmul, linear and im2col convolution.
// It is a single-precision/double-precision BLAS-style GEMM (row-major only), cache-blocked and
// multithreaded with OpenMP; it is not a general strided/batched/mixed-precision kernel - callers make
// operands contiguous in their last dimension first. Defining CUDISTILL_USE_OPENBLAS at build time
// forwards to cblas_{s,d}gemm instead.
// Tested against a naive double-precision triple loop in tests/ops/test_gemm.cpp.
#pragma once

namespace cudistill::cpu {

// C = alpha * op(A) * op(B) + beta * C, all row-major.
//   op(A): (M, K) - stored as A (M, K) with leading dim lda when !trans_a, as A (K, M) when trans_a
//   op(B): (K, N) - stored as B (K, N) with ldb when !trans_b, as B (N, K) when trans_b
//   C: (M, N) with leading dimension ldc. beta == 0 means C is write-only (NaNs in C are ignored).
// Instantiated for float and double.
template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc);

}  // namespace cudistill::cpu

// CUDA twin (kernels/cuda/gemm_cublas.cu): row-major on top of column-major cuBLAS.
namespace cudistill::cuda {
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
}  // namespace cudistill::cuda
