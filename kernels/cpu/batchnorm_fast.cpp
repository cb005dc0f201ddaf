// cpu/batchnorm_fast.cpp: the float batch norm that training runs (engine/ops/batchnorm.cpp);
// cpu/batchnorm.cpp is its reference and oracle. Same formulas (kernels/batchnorm.h); the
// difference is only in how the sums run. The reference adds one value at a time into a double,
// a dependency chain the compiler may not reorder; here each image's row of a channel (HW values)
// is summed in float by `omp simd` (8 lanes, partial sums reassociated), and the rows' sums go
// into a double. A row holds at most a few thousand values, so the float rounding stays near
// 1e-6 relative: tests/kernels/test_cpu_fast.cpp holds it to the reference in double within 1e-5.
// The elementwise passes are single multiply-adds with per-channel constants, so they vectorise.
// With relu, the ReLU that follows every batch norm in the student is fused in (engine/ops/batchnorm.cpp).
// Backward accumulates (+=) into dx, dgamma, dbeta, as every backward here.
#include <algorithm>
#include <cmath>

#include "kernels/batchnorm.h"
#include "kernels/cpu/parallel.h"

namespace cudistill::cpu::fast {

namespace {
float row_sum(const float* __restrict x, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}
float row_sq_dev(const float* __restrict x, int64_t n, float mean) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return s;
}
}  // namespace

void batchnorm_fwd_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                         const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                         float momentum, float eps, bool relu) {
  const double M = double(N) * double(HW);
#pragma omp parallel for if (int64_t(N) * C * HW > kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    double s = 0.0, ss = 0.0;
    for (int n = 0; n < N; ++n) s += row_sum(x + (int64_t(n) * C + c) * HW, HW);
    const double mean = s / M;
    // Two passes, as the reference: E[x^2] - E[x]^2 would cancel badly.
    for (int n = 0; n < N; ++n) ss += row_sq_dev(x + (int64_t(n) * C + c) * HW, HW, float(mean));
    const double var = ss / M, invstd = 1.0 / std::sqrt(var + double(eps));
    save_mean[c] = float(mean);
    save_invstd[c] = float(invstd);
    if (running_mean) {
      const double unbiased = M > 1 ? ss / (M - 1) : var;
      running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
    const float g = float(gamma[c] * invstd), b = float(beta[c] - mean * gamma[c] * invstd);
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      const float* __restrict xr = x + o;
      float* __restrict yr = y + o;
      if (relu) {
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) yr[i] = std::max(xr[i] * g + b, 0.f);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) yr[i] = xr[i] * g + b;
      }
    }
  }
}

void batchnorm_bwd(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                   const float* mean, const float* invstd, int N, int C, int64_t HW, bool training,
                   const float* relu_out) {
  const double M = double(N) * double(HW);
#pragma omp parallel for if (int64_t(N) * C * HW > kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    const float mu = mean[c];
    const double is = invstd[c];
    double sdy = 0.0, sdy_dev = 0.0;  // sum dy, sum dy * (x - mean)
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      const float* __restrict dyr = dy + o;
      const float* __restrict xr = x + o;
      float a = 0.f, b = 0.f;
      if (relu_out) {  // dy through the ReLU first: dy * (y > 0)
        const float* __restrict yr = relu_out + o;
#pragma omp simd reduction(+ : a, b)
        for (int64_t i = 0; i < HW; ++i) {
          const float d = yr[i] > 0.f ? dyr[i] : 0.f;
          a += d;
          b += d * (xr[i] - mu);
        }
      } else {
#pragma omp simd reduction(+ : a, b)
        for (int64_t i = 0; i < HW; ++i) {
          a += dyr[i];
          b += dyr[i] * (xr[i] - mu);
        }
      }
      sdy += a;
      sdy_dev += b;
    }
    const double sdy_xhat = sdy_dev * is;
    if (dgamma) dgamma[c] += float(sdy_xhat);
    if (dbeta) dbeta[c] += float(sdy);
    if (!dx) continue;
    // dx = k * (dy - (sdy + xhat * sdy_xhat) / M), k = gamma * invstd, written as
    // dx += k * dy + c1 * x + c0 so that the loop is two multiply-adds per element.
    const double k = double(gamma[c]) * is;
    const double c1d = training ? -k * is * sdy_xhat / M : 0.0;
    const float kf = float(k), c1 = float(c1d), c0 = training ? float(-k * sdy / M - c1d * mu) : 0.f;
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      const float* __restrict dyr = dy + o;
      const float* __restrict xr = x + o;
      float* __restrict dxr = dx + o;
      if (relu_out) {
        const float* __restrict yr = relu_out + o;
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) dxr[i] += kf * (yr[i] > 0.f ? dyr[i] : 0.f) + c1 * xr[i] + c0;
      } else {
#pragma omp simd
        for (int64_t i = 0; i < HW; ++i) dxr[i] += kf * dyr[i] + c1 * xr[i] + c0;
      }
    }
  }
}

}  // namespace cudistill::cpu::fast
