// cpu/linear.cpp: the linear layer as three GEMM calls (see linear.h for the formulas).
#include "kernels/linear.h"

#include "kernels/gemm.h"

namespace cudistill::cpu {

template <typename T> void linear_fwd(T* y, const T* x, const T* w, const T* b, int B, int I, int O) {
  gemm<T>(false, true, B, O, I, T(1), x, I, w, I, T(0), y, O);
  if (b)
    for (int r = 0; r < B; ++r)
      for (int o = 0; o < O; ++o) y[int64_t(r) * O + o] += b[o];
}

template <typename T>
void linear_bwd(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int B, int I, int O) {
  if (dx) gemm<T>(false, false, B, I, O, T(1), dy, O, w, I, T(1), dx, I);
  if (dw) gemm<T>(true, false, O, I, B, T(1), dy, O, x, I, T(1), dw, I);
  if (db)
    for (int o = 0; o < O; ++o) {
      double acc = 0.0;
      for (int r = 0; r < B; ++r) acc += double(dy[int64_t(r) * O + o]);
      db[o] += T(acc);
    }
}

template void linear_fwd<float>(float*, const float*, const float*, const float*, int, int, int);
template void linear_fwd<double>(double*, const double*, const double*, const double*, int, int, int);
template void linear_bwd<float>(float*, float*, float*, const float*, const float*, const float*, int, int, int);
template void linear_bwd<double>(double*, double*, double*, const double*, const double*, const double*, int,
                                 int, int);

}  // namespace cudistill::cpu
