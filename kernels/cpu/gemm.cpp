// cpu/gemm.cpp: cache-blocked GEMM in the GotoBLAS/BLIS style.
// The whole trick is data movement: copy ("pack") blocks of A and B into contiguous buffers laid out in
// exactly the order a small register-blocked micro-kernel reads them, sized so each lives in the cache
// level that matches how often it is reused. The transposes are absorbed by the packing, so there is
// only one micro-kernel layout. With CUDISTILL_USE_OPENBLAS defined we forward to OpenBLAS instead.
#include "kernels/gemm.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

#if defined(CUDISTILL_USE_OPENBLAS)
#include <cblas.h>
#endif
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace cudistill::cpu {
namespace {

using idx = std::ptrdiff_t;  // index arithmetic in pointer width: row * ld overflows int on big matrices

// ---- Block sizes --------------------------------------------------------------------------------------
// Loop nest: jc over N by NC > pc over K by KC > ic over M by MC > jr by NR > ir by MR > micro-kernel.
// Sized for this AMD EPYC: 32 KiB L1d and 1 MiB L2 per core, 32 MiB L3 shared.
// KC: a KC x NR sliver of B (256*16*4 B = 16 KiB) plus a MR x KC sliver of A (6 KiB) stay in L1 for the
//     whole micro-kernel call, and long enough that loading/storing the C tile is amortized.
// MC: the packed MC x KC block of A (<= 192*256*4 B = 192 KiB) stays in L2 while every B sliver streams
//     past it; well under 1 MiB so the B slivers and C lines passing through don't evict it.
// NC: the packed KC x NC block of B (256*4096*4 B = 4 MiB) sits in the shared L3 and is read by all threads.
constexpr int KC = 256;
constexpr int MC_MAX = 192;
constexpr int NC = 4096;

// Register tile: the MR x NR accumulators must stay in the 16 vector registers next to the B loads and
// the A broadcast. Hand-written AVX2 float: 6 rows x 2 ymm = 12 accumulators, + 2 for B, + 1 for A.
// The compiler-vectorized generic kernel spills at that pressure (measured: 6x8 double runs at half
// the speed of 4x8), so it gets a smaller 8-accumulator tile: 4 x 8 double = 8 ymm, 4 x 8 float = 8 xmm.
template <typename T> struct Tile { static constexpr int MR = 4, NR = 8; };
#if defined(__AVX2__) && defined(__FMA__)
template <> struct Tile<float> { static constexpr int MR = 6, NR = 16; };
#endif

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// ---- Scratch buffers ----------------------------------------------------------------------------------
// Per-thread and reused across calls: page-faulting a fresh multi-MiB buffer on every call would cost
// more than the packing itself. 64-byte aligned so slivers start on cache lines.
template <typename T>
T* scratch(int slot, size_t n) {
  thread_local std::vector<T> bufs[2];
  std::vector<T>& v = bufs[slot];
  const size_t pad = 64 / sizeof(T);
  if (v.size() < n + pad) v.assign(n + pad, T(0));
  void* p = v.data();
  size_t space = v.size() * sizeof(T);
  return static_cast<T*>(std::align(64, n * sizeof(T), p, space));
}

// ---- Packing ------------------------------------------------------------------------------------------
// Packs one sliver of W rows of a matrix X, where X(r, p) = X[r * rs + p * cs], as kc groups of W
// consecutive values: group p holds X(0..W-1, p). For A the rows are rows of op(A); for B they are
// columns of op(B). Transposing just swaps rs and cs. Rows past `rows` are zero so edge tiles can run
// the same fully unrolled micro-kernel.
// The two layouts a full sliver (rows == W) meets get their own loops with a fixed-size inner copy,
// which the compiler unrolls and vectorises: rs == 1 (each group is W contiguous values: a plain
// copy) and cs == 1 (each row is contiguous along p: a transpose, reading rows in order). Packing
// a conv's activations costs as much as multiplying them when the GEMM is thin (1x1 convs with
// few channels), so these loops matter.
template <int W, typename T>
void pack_sliver(int rows, int kc, const T* X, idx rs, idx cs, T* dst) {
  if (rows == W && rs == 1) {
    for (int p = 0; p < kc; ++p, dst += W) {
      const T* src = X + p * cs;
      for (int r = 0; r < W; ++r) dst[r] = src[r];
    }
    return;
  }
  if (rows == W && cs == 1) {
    constexpr int P = 8;  // columns per step: W x P values read row by row, written in groups
    int p = 0;
    for (; p + P <= kc; p += P, dst += W * P)
      for (int r = 0; r < W; ++r) {
        const T* src = X + r * rs + p;
        for (int q = 0; q < P; ++q) dst[q * W + r] = src[q];
      }
    for (; p < kc; ++p, dst += W)
      for (int r = 0; r < W; ++r) dst[r] = X[r * rs + p];
    return;
  }
  for (int p = 0; p < kc; ++p, dst += W) {
    for (int r = 0; r < rows; ++r) dst[r] = X[r * rs + p * cs];
    for (int r = rows; r < W; ++r) dst[r] = T(0);
  }
}

// ---- Micro-kernels ------------------------------------------------------------------------------------
// Each computes a full MR x NR tile: C = alpha * (a-sliver * b-sliver) + beta * C.
// beta == 0 must not read C, so NaN/garbage in an uninitialized output can't leak through 0 * NaN.
template <typename T>
T blend(T acc, T alpha, T beta, T c) { return beta == T(0) ? alpha * acc : alpha * acc + beta * c; }

// Portable version: a fixed-size accumulator array and a unit-stride inner loop, which GCC/Clang keep in
// registers and vectorize. Used for double and for builds without AVX2/FMA.
template <typename T, int MR, int NR>
void kernel_generic(int kc, const T* a, const T* b, T alpha, T beta, T* C, idx ldc) {
  T acc[MR][NR] = {};
  for (int p = 0; p < kc; ++p, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) C[i * ldc + j] = blend(acc[i][j], alpha, beta, C[i * ldc + j]);
}

#if defined(__AVX2__) && defined(__FMA__)
// 6x16 float: per k step, two 8-wide loads of B, six broadcasts of A, twelve FMAs. Twelve independent
// accumulators cover the FMA latency (4 cycles) times the two FMA pipes, so the FMA units never stall.
void kernel_avx2_6x16(int kc, const float* a, const float* b, float alpha, float beta, float* C, idx ldc) {
  __m256 acc[6][2];
  for (int i = 0; i < 6; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int p = 0; p < kc; ++p, a += 6, b += 16) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int i = 0; i < 6; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  for (int i = 0; i < 6; ++i)
    for (int h = 0; h < 2; ++h) {
      float* c = C + i * ldc + 8 * h;
      __m256 r = _mm256_mul_ps(va, acc[i][h]);
      if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), r);
      _mm256_storeu_ps(c, r);
    }
}
#endif

template <typename T>
void micro_kernel(int kc, const T* a, const T* b, T alpha, T beta, T* C, idx ldc) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    kernel_avx2_6x16(kc, a, b, alpha, beta, C, ldc);
    return;
  }
#endif
  kernel_generic<T, Tile<T>::MR, Tile<T>::NR>(kc, a, b, alpha, beta, C, ldc);
}

// ---- Macro-kernel -------------------------------------------------------------------------------------
// All MR x NR tiles of an mc x nc block of C, from packed A (mc x kc) and packed B (kc x nc). The jr loop
// is outside so one B sliver stays in L1 while it meets every A sliver. Edge tiles compute into a
// scratch tile (the padded zeros make that exact) and copy back only the valid part.
template <typename T>
void macro_kernel(int mc, int nc, int kc, const T* Ap, const T* Bp, T alpha, T beta, T* C, idx ldc) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  alignas(64) T tile[MR * NR];
  for (int j0 = 0; j0 < nc; j0 += NR) {
    const int n = std::min(NR, nc - j0);
    for (int i0 = 0; i0 < mc; i0 += MR) {
      const int m = std::min(MR, mc - i0);
      const T* a = Ap + idx(i0) * kc;
      const T* b = Bp + idx(j0) * kc;
      T* c = C + i0 * ldc + j0;
      if (m == MR && n == NR) {
        micro_kernel(kc, a, b, alpha, beta, c, ldc);
        continue;
      }
      micro_kernel(kc, a, b, T(1), T(0), tile, NR);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) c[i * ldc + j] = blend(tile[i * NR + j], alpha, beta, c[i * ldc + j]);
    }
  }
}

// ---- Driver -------------------------------------------------------------------------------------------
template <typename T>
void gemm_blocked(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
                  const T* B, int ldb, T beta, T* C, int ldc) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  // Strides of op(A) as (row i, col p) and of op(B) as (row p, col j).
  const idx a_rs = trans_a ? 1 : lda, a_cs = trans_a ? lda : 1;
  const idx b_rs = trans_b ? 1 : ldb, b_cs = trans_b ? ldb : 1;

  // Threads are forked once per (jc, pc) step; below ~64^3 multiply-adds that costs more than it saves.
  const bool parallel = double(M) * N * K >= 64.0 * 64 * 64;
  int threads = 1;
#if defined(_OPENMP)
  if (parallel && !omp_in_parallel()) threads = omp_get_max_threads();
#endif
  // Threads split M. Cut it into equal MR-aligned blocks, a multiple of the thread count, so the work is
  // balanced and small-M shapes (im2col conv: M = output channels) still occupy every core.
  int blocks = std::max(ceil_div(M, MC_MAX), threads);
  blocks = std::min(ceil_div(blocks, threads) * threads, ceil_div(M, MR));
  const int mc = ceil_div(ceil_div(M, blocks), MR) * MR;
  const int m_blocks = ceil_div(M, mc);

  T* Bp = scratch<T>(1, size_t(KC) * ceil_div(std::min(N, NC), NR) * NR);
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      const T beta_pc = pc == 0 ? beta : T(1);  // later K blocks accumulate onto the first one's result
#pragma omp parallel if (parallel)
      {
#pragma omp for schedule(static)
        for (int j0 = 0; j0 < nc; j0 += NR)
          pack_sliver<NR>(std::min(NR, nc - j0), kc, B + (jc + j0) * b_cs + pc * b_rs, b_cs, b_rs,
                          Bp + idx(j0) * kc);
        // (implicit barrier: all of Bp is packed before anyone multiplies with it)
        T* Ap = scratch<T>(0, size_t(mc) * KC);
#pragma omp for schedule(static)
        for (int ib = 0; ib < m_blocks; ++ib) {
          const int i0 = ib * mc, m = std::min(mc, M - i0);
          for (int i = 0; i < m; i += MR)
            pack_sliver<MR>(std::min(MR, m - i), kc, A + (i0 + i) * a_rs + pc * a_cs, a_rs, a_cs,
                            Ap + idx(i) * kc);
          macro_kernel(m, nc, kc, Ap, Bp, alpha, beta_pc, C + idx(i0) * ldc + jc, ldc);
        }
      }
    }
  }
}

#if defined(CUDISTILL_USE_OPENBLAS)
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float* A,
               int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha, const double* A,
               int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {  // nothing to multiply (and, as in BLAS, A and B are not read)
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[idx(i) * ldc + j] = beta == T(0) ? T(0) : beta * C[idx(i) * ldc + j];
    return;
  }
#if defined(CUDISTILL_USE_OPENBLAS)
  blas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
            lda, B, ldb, beta, C, ldc);
#else
  gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

template void gemm<float>(bool, bool, int, int, int, float, const float*, int, const float*, int, float,
                          float*, int);
template void gemm<double>(bool, bool, int, int, int, double, const double*, int, const double*, int,
                           double, double*, int);

}  // namespace cudistill::cpu
