// cpu/elementwise.cpp: the reference pointwise ops, plain loops that read like the formula.
// The subgradient at the kinks (x == 0, x == 6) is 0, as in PyTorch.
#include "kernels/elementwise.h"

#include <algorithm>
#include <vector>

namespace cudistill::cpu {

template <typename T>
static inline T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
  }
  return T(0);
}

template <typename T>
void binary_fwd(BinaryOp op, T* y, const T* a, const int64_t* as, const T* b, const int64_t* bs,
                int ndim, const int64_t* shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  // Odometer over the output index, carrying one offset into a and one into b.
  std::vector<int64_t> idx(static_cast<size_t>(ndim), 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = apply(op, a[oa], b[ob]);
    for (int d = ndim - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) { oa += as[d]; ob += bs[d]; break; }
      oa -= as[d] * (shape[d] - 1);
      ob -= bs[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

template <typename T> void scale_fwd(T* y, const T* x, T s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}
template <typename T> void axpy(T* y, T a, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
template <typename T> void add_scalar(T* y, T v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += v;
}
template <typename T> void relu_fwd(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <typename T> void relu_bwd(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] += x[i] > T(0) ? dy[i] : T(0);
}
template <typename T> void relu6_fwd(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], T(0)), T(6));
}
template <typename T> void relu6_bwd(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] += (x[i] > T(0) && x[i] < T(6)) ? dy[i] : T(0);
}

#define INSTANTIATE(T)                                                                          \
  template void binary_fwd<T>(BinaryOp, T*, const T*, const int64_t*, const T*, const int64_t*, \
                              int, const int64_t*);                                             \
  template void scale_fwd<T>(T*, const T*, T, int64_t);                                         \
  template void axpy<T>(T*, T, const T*, int64_t);                                              \
  template void add_scalar<T>(T*, T, int64_t);                                                  \
  template void relu_fwd<T>(T*, const T*, int64_t);                                             \
  template void relu_bwd<T>(T*, const T*, const T*, int64_t);                                   \
  template void relu6_fwd<T>(T*, const T*, int64_t);                                            \
  template void relu6_bwd<T>(T*, const T*, const T*, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
