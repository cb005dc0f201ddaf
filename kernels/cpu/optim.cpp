// cpu/optim.cpp: reference SGD and AdamW updates (formulas in optim.h).
#include "kernels/optim.h"

#include <cmath>

namespace cudistill::cpu {

template <typename T>
void sgd_step(T* p, T* buf, const T* grad, int64_t n, T lr, T momentum, bool nesterov, T weight_decay,
              bool first) {
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] + weight_decay * p[i];
    if (momentum != T(0)) {
      buf[i] = first ? g : momentum * buf[i] + g;
      g = nesterov ? g + momentum * buf[i] : buf[i];
    }
    p[i] -= lr * g;
  }
}

template <typename T>
void adamw_step(T* p, T* m, T* v, const T* grad, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                int64_t t) {
  // Bias corrections in double: 1 - beta^t underflows gracefully there for long runs.
  const double c1 = 1.0 - std::pow(double(beta1), double(t));
  const double c2 = 1.0 - std::pow(double(beta2), double(t));
  for (int64_t i = 0; i < n; ++i) {
    p[i] -= lr * weight_decay * p[i];
    m[i] = beta1 * m[i] + (T(1) - beta1) * grad[i];
    v[i] = beta2 * v[i] + (T(1) - beta2) * grad[i] * grad[i];
    const double mhat = double(m[i]) / c1, vhat = double(v[i]) / c2;
    p[i] -= T(double(lr) * mhat / (std::sqrt(vhat) + double(eps)));
  }
}

template void sgd_step<float>(float*, float*, const float*, int64_t, float, float, bool, float, bool);
template void sgd_step<double>(double*, double*, const double*, int64_t, double, double, bool, double, bool);
template void adamw_step<float>(float*, float*, float*, const float*, int64_t, float, float, float, float, float,
                                int64_t);
template void adamw_step<double>(double*, double*, double*, const double*, int64_t, double, double, double,
                                 double, double, int64_t);

}  // namespace cudistill::cpu
