// cpu/batchnorm.cpp: reference batch norm; per-channel statistics in double.
// Backward in training mode, with xhat = (x - mean) * invstd and M = N*HW values per channel:
//   dgamma = sum dy*xhat,  dbeta = sum dy,
//   dx = gamma * invstd / M * (M*dy - dbeta - xhat * dgamma)
#include "kernels/cpu/parallel.h"
#include "kernels/batchnorm.h"

#include <cmath>

namespace cudistill::cpu {

template <typename T>
void batchnorm_fwd_train(T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                         const T* x, const T* gamma, const T* beta, int N, int C, int64_t HW,
                         T momentum, T eps) {
  const double M = double(N) * double(HW);
#pragma omp parallel for if (int64_t(N) * C * HW > kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    double s = 0.0, ss = 0.0;
    for (int n = 0; n < N; ++n) {
      const T* xp = x + (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) s += double(xp[i]);
    }
    const double mean = s / M;
    for (int n = 0; n < N; ++n) {  // two passes: the one-pass E[x^2]-E[x]^2 cancels badly
      const T* xp = x + (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) ss += (double(xp[i]) - mean) * (double(xp[i]) - mean);
    }
    const double var = ss / M;
    const double invstd = 1.0 / std::sqrt(var + double(eps));
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
    if (running_mean) {
      const double unbiased = M > 1 ? ss / (M - 1) : var;
      running_mean[c] = T((1.0 - double(momentum)) * double(running_mean[c]) + double(momentum) * mean);
      running_var[c] = T((1.0 - double(momentum)) * double(running_var[c]) + double(momentum) * unbiased);
    }
    const double g = double(gamma[c]) * invstd, b = double(beta[c]) - mean * g;
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) y[o + i] = T(double(x[o + i]) * g + b);
    }
  }
}

template <typename T>
void batchnorm_fwd_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                        const T* running_var, int N, int C, int64_t HW, T eps) {
#pragma omp parallel for if (int64_t(N) * C * HW > kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    // The per-channel scale and shift in double; the per-element affine map in T, since it is one
    // multiply-add that T represents to its last bit anyway (and it vectorises).
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + double(eps));
    const T g = T(double(gamma[c]) * invstd), b = T(double(beta[c]) - double(running_mean[c]) * double(gamma[c]) * invstd);
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) y[o + i] = x[o + i] * g + b;
    }
  }
}

template <typename T>
void batchnorm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma,
                   const T* mean, const T* invstd, int N, int C, int64_t HW, bool training) {
  const double M = double(N) * double(HW);
#pragma omp parallel for if (int64_t(N) * C * HW > kParallelMinElements)
  for (int c = 0; c < C; ++c) {
    const double mu = double(mean[c]), is = double(invstd[c]);
    double sdy = 0.0, sdy_xhat = 0.0;
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) {
        sdy += double(dy[o + i]);
        sdy_xhat += double(dy[o + i]) * (double(x[o + i]) - mu) * is;
      }
    }
    if (dgamma) dgamma[c] += T(sdy_xhat);
    if (dbeta) dbeta[c] += T(sdy);
    if (!dx) continue;
    const double k = double(gamma[c]) * is;
    for (int n = 0; n < N; ++n) {
      const int64_t o = (int64_t(n) * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) {
        double g = double(dy[o + i]);
        if (training) g -= (sdy + (double(x[o + i]) - mu) * is * sdy_xhat) / M;
        dx[o + i] += T(k * g);
      }
    }
  }
}

#define INSTANTIATE(T)                                                                         \
  template void batchnorm_fwd_train<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int,  \
                                       int, int64_t, T, T);                                    \
  template void batchnorm_fwd_eval<T>(T*, const T*, const T*, const T*, const T*, const T*,    \
                                      int, int, int64_t, T);                                   \
  template void batchnorm_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, \
                                 int, int, int64_t, bool);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
