// cpu/loss.cpp: the reference CE and KD losses. Everything is in double (this is the oracle),
// and each row works in log space: log p = z - logsumexp(z), so that p = 0 never meets log 0.
#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"

namespace cudistill::cpu {

namespace {
// lp[k] = log softmax(x * inv_t)_k for one row, in double.
template <typename T>
void row_log_softmax(double* lp, const T* x, int K, double inv_t) {
  double mx = -INFINITY;
  for (int k = 0; k < K; ++k) mx = std::max(mx, double(x[k]) * inv_t);
  double s = 0.0;
  for (int k = 0; k < K; ++k) s += std::exp(double(x[k]) * inv_t - mx);
  const double lse = mx + std::log(s);
  for (int k = 0; k < K; ++k) lp[k] = double(x[k]) * inv_t - lse;
}

void check_label(int32_t y, int K, int b) {
  ENGINE_CHECK(y >= 0 && y < K, "label ", y, " of row ", b, " is outside [0, ", K, ")");
}

// CE of one row with smoothing eps, given log-probabilities.
double row_ce(const double* lp, int32_t y, int K, double eps) {
  double loss = -(1.0 - eps) * lp[y];
  if (eps > 0) {
    double s = 0.0;
    for (int k = 0; k < K; ++k) s += lp[k];
    loss -= eps / K * s;
  }
  return loss;
}
}  // namespace

template <typename T>
void cross_entropy_fwd(T* loss, T* dlogits, const T* s, const int32_t* labels, int B, int K, T eps) {
  std::vector<double> lp(static_cast<size_t>(K));
  double total = 0.0;
  for (int b = 0; b < B; ++b) {
    check_label(labels[b], K, b);
    const int64_t r = int64_t(b) * K;
    row_log_softmax(lp.data(), s + r, K, 1.0);
    total += row_ce(lp.data(), labels[b], K, double(eps));
    if (!dlogits) continue;
    for (int k = 0; k < K; ++k) {
      const double q = double(eps) / K + (k == labels[b] ? 1.0 - double(eps) : 0.0);
      dlogits[r + k] = T((std::exp(lp[size_t(k)]) - q) / B);
    }
  }
  loss[0] = T(total / B);
}

template <typename T>
void kd_loss_fwd(T* loss, T* dlogits, const T* s, const T* m, const int32_t* labels, int B, int K,
                 T temperature, T alpha) {
  const double t = double(temperature), a = double(alpha);
  ENGINE_CHECK(a == 1.0 || labels != nullptr, "kd_loss with alpha < 1 needs labels");
  std::vector<double> lq(static_cast<size_t>(K)), lp(static_cast<size_t>(K)), ls(static_cast<size_t>(K));
  double total = 0.0;
  for (int b = 0; b < B; ++b) {
    const int64_t r = int64_t(b) * K;
    row_log_softmax(lp.data(), m + r, K, 1.0 / t);  // master, softened
    row_log_softmax(lq.data(), s + r, K, 1.0 / t);  // student, softened
    double kl = 0.0;
    for (int k = 0; k < K; ++k) kl += std::exp(lp[size_t(k)]) * (lp[size_t(k)] - lq[size_t(k)]);
    double row = a * t * t * kl;
    if (a != 1.0) {
      check_label(labels[b], K, b);
      row_log_softmax(ls.data(), s + r, K, 1.0);  // student at T = 1 for the hard-label term
      row += (1.0 - a) * -ls[size_t(labels[b])];
    }
    total += row;
    if (!dlogits) continue;
    for (int k = 0; k < K; ++k) {
      double grad = a * t * (std::exp(lq[size_t(k)]) - std::exp(lp[size_t(k)]));
      if (a != 1.0) grad += (1.0 - a) * (std::exp(ls[size_t(k)]) - (k == labels[b] ? 1.0 : 0.0));
      dlogits[r + k] = T(grad / B);
    }
  }
  loss[0] = T(total / B);
}

#define INSTANTIATE(T)                                                                        \
  template void cross_entropy_fwd<T>(T*, T*, const T*, const int32_t*, int, int, T);          \
  template void kd_loss_fwd<T>(T*, T*, const T*, const T*, const int32_t*, int, int, T, T);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
