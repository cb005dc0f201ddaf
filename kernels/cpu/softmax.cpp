// cpu/softmax.cpp: the reference softmax family. Each row subtracts its maximum before exp,
// so that logits of 1000 (or a spiky outlier x20) never overflow; sums are in double because
// this is the oracle for the CUDA kernels.
#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>

namespace cudistill::cpu {

// log(sum_k exp(z_k)) for z = x * inv_t, computed as max + log(sum exp(z - max)).
template <typename T>
static double row_logsumexp(const T* x, int K, double inv_t) {
  double m = -INFINITY;
  for (int k = 0; k < K; ++k) m = std::max(m, double(x[k]) * inv_t);
  double s = 0.0;
  for (int k = 0; k < K; ++k) s += std::exp(double(x[k]) * inv_t - m);
  return m + std::log(s);
}

template <typename T> void softmax_fwd(T* y, const T* x, int B, int K, T inv_t) {
  for (int b = 0; b < B; ++b) {
    const T* xr = x + int64_t(b) * K;
    double lse = row_logsumexp(xr, K, double(inv_t));
    for (int k = 0; k < K; ++k) y[int64_t(b) * K + k] = T(std::exp(double(xr[k]) * inv_t - lse));
  }
}

template <typename T> void softmax_bwd(T* dx, const T* dy, const T* y, int B, int K, T inv_t) {
  for (int b = 0; b < B; ++b) {
    const int64_t r = int64_t(b) * K;
    double dot = 0.0;  // sum_k dy_k * y_k
    for (int k = 0; k < K; ++k) dot += double(dy[r + k]) * double(y[r + k]);
    for (int k = 0; k < K; ++k) dx[r + k] += T(double(y[r + k]) * (double(dy[r + k]) - dot) * inv_t);
  }
}

template <typename T> void log_softmax_fwd(T* y, const T* x, int B, int K, T inv_t) {
  for (int b = 0; b < B; ++b) {
    const T* xr = x + int64_t(b) * K;
    double lse = row_logsumexp(xr, K, double(inv_t));
    for (int k = 0; k < K; ++k) y[int64_t(b) * K + k] = T(double(xr[k]) * inv_t - lse);
  }
}

template <typename T> void log_softmax_bwd(T* dx, const T* dy, const T* y, int B, int K, T inv_t) {
  for (int b = 0; b < B; ++b) {
    const int64_t r = int64_t(b) * K;
    double s = 0.0;  // sum_k dy_k
    for (int k = 0; k < K; ++k) s += double(dy[r + k]);
    for (int k = 0; k < K; ++k)
      dx[r + k] += T((double(dy[r + k]) - std::exp(double(y[r + k])) * s) * inv_t);
  }
}

#define INSTANTIATE(T)                                                          \
  template void softmax_fwd<T>(T*, const T*, int, int, T);                      \
  template void softmax_bwd<T>(T*, const T*, const T*, int, int, T);            \
  template void log_softmax_fwd<T>(T*, const T*, int, int, T);                  \
  template void log_softmax_bwd<T>(T*, const T*, const T*, int, int, T);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
