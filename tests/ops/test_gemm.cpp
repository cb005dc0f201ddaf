// tests/ops/test_gemm.cpp: cpu::gemm against a naive triple loop accumulated in double.
// Shapes are chosen to hit every edge of the blocking: 1x1x1, sizes that are not multiples of the
// register tile, K past one KC block (so later blocks accumulate onto the first), M past one MC block
// (several threads' blocks) and N past one NC block. Padding in A, B and C is filled with NaN/sentinels
// so reading or writing outside the logical matrix is caught.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm.h"

namespace {

using cudistill::cpu::gemm;

struct Shape {
  int M, N, K;
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSentinel = 12345.0;  // C padding: must come back unchanged

// Runs one gemm and compares every element of C with a double-precision reference. `pad` extra columns
// make every leading dimension larger than the logical width.
template <typename T>
void check_gemm(bool ta, bool tb, Shape s, T alpha, T beta, int pad, uint32_t seed) {
  const int M = s.M, N = s.N, K = s.K;
  const int a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;

  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  // Padding of A and B is NaN: if the kernel ever reads it, the NaN propagates into C and fails the check.
  std::vector<T> A(size_t(a_rows) * lda, T(kNaN)), B(size_t(b_rows) * ldb, T(kNaN));
  std::vector<T> C(size_t(M) * ldc, T(kSentinel));
  for (int r = 0; r < a_rows; ++r)
    for (int c = 0; c < a_cols; ++c) A[size_t(r) * lda + c] = T(uniform(rng));
  for (int r = 0; r < b_rows; ++r)
    for (int c = 0; c < b_cols; ++c) B[size_t(r) * ldb + c] = T(uniform(rng));
  // beta == 0 promises C is write-only, so prefill it with NaN: any 0 * NaN would leak through.
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) C[size_t(i) * ldc + j] = beta == T(0) ? T(kNaN) : T(uniform(rng));
  const std::vector<T> C0 = C;

  auto opA = [&](int i, int p) { return double(ta ? A[size_t(p) * lda + i] : A[size_t(i) * lda + p]); };
  auto opB = [&](int p, int j) { return double(tb ? B[size_t(j) * ldb + p] : B[size_t(p) * ldb + j]); };

  gemm<T>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);

  // Tolerance: a K-term dot product of random-sign terms accumulates rounding error like a random walk,
  // about eps * sqrt(K) * sum|a*b|; the factor 16 covers the blocked summation order, FMA vs. separate
  // rounding, and the float->double conversions. `mag` is the sum of absolute terms, so cancellation in
  // the result can't make the bound spuriously tight.
  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0, first_i = -1, first_j = -1;
  double first_err = 0, first_tol = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double dot = 0, mag = 0;
      for (int p = 0; p < K; ++p) {
        dot += opA(i, p) * opB(p, j);
        mag += std::fabs(opA(i, p) * opB(p, j));
      }
      const double c0 = beta == T(0) ? 0.0 : double(C0[size_t(i) * ldc + j]);
      const double ref = double(alpha) * dot + double(beta) * c0;
      mag = std::fabs(double(alpha)) * mag + std::fabs(double(beta) * c0);
      const double tol = 16 * eps * std::sqrt(double(K) + 1) * mag + 4 * eps * std::fabs(ref);
      const double err = std::fabs(double(C[size_t(i) * ldc + j]) - ref);
      if (!(err <= tol)) {  // written this way so NaN counts as a failure
        if (bad++ == 0) first_i = i, first_j = j, first_err = err, first_tol = tol;
      }
    }
  int padding_touched = 0;
  for (int i = 0; i < M; ++i)
    for (int j = N; j < ldc; ++j) padding_touched += C[size_t(i) * ldc + j] != T(kSentinel);

  INFO("trans_a=", ta, " trans_b=", tb, " M=", M, " N=", N, " K=", K, " alpha=", alpha, " beta=", beta,
       " pad=", pad);
  INFO("first bad element (", first_i, ", ", first_j, "): err=", first_err, " tol=", first_tol);
  CHECK(bad == 0);
  CHECK(padding_touched == 0);
}

}  // namespace

TEST_SUITE("ops") {

TEST_CASE_TEMPLATE("gemm matches a naive loop: all transposes, odd sizes, alpha/beta, padded ld", T, float,
                   double) {
  const Shape shapes[] = {
      {1, 1, 1},     {7, 13, 5},  {67, 129, 33},  // smaller than / not multiples of the tile
      {6, 16, 256},                               // exactly one full float tile and one K block
      {13, 17, 300},                              // K crosses a K block: beta applied once only
      {200, 35, 70},                              // M crosses an M block: several threads' blocks
      {5, 4100, 3},                               // N crosses an N block
  };
  uint32_t seed = 1;
  for (const Shape& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (T beta : {T(0), T(1), T(0.5)})
        for (int pad : {0, 3}) check_gemm<T>(t & 1, t & 2, s, T(1.5), beta, pad, seed++);
}

TEST_CASE_TEMPLATE("gemm at a conv-like size uses several blocks and threads", T, float, double) {
  // M=96, K=600 spans three K blocks; big enough to take the multithreaded path.
  for (int t = 0; t < 4; ++t) check_gemm<T>(t & 1, t & 2, Shape{96, 250, 600}, T(1), T(0), 0, 100 + t);
  check_gemm<T>(false, false, Shape{96, 250, 600}, T(-0.75), T(0.5), 5, 200);
}

TEST_CASE_TEMPLATE("gemm with K == 0 or alpha == 0 only scales C and never reads A or B", T, float,
                   double) {
  const T nan = T(kNaN);
  const T A[4] = {nan, nan, nan, nan}, B[4] = {nan, nan, nan, nan};
  T C[4] = {1, 2, 3, 4};
  gemm<T>(false, false, 2, 2, 0, T(1), A, 2, B, 2, T(0.5), C, 2);  // K == 0: C = beta * C
  CHECK(C[0] == T(0.5));
  CHECK(C[3] == T(2));
  gemm<T>(false, true, 2, 2, 2, T(0), A, 2, B, 2, T(2), C, 2);  // alpha == 0: C = beta * C
  CHECK(C[0] == T(1));
  CHECK(C[3] == T(4));
  T D[4] = {nan, nan, nan, nan};
  gemm<T>(true, false, 2, 2, 2, T(0), A, 2, B, 2, T(0), D, 2);  // both zero: C = 0 even over NaN
  for (T d : D) CHECK(d == T(0));
}

}  // TEST_SUITE("ops")
