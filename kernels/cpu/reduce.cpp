// cpu/reduce.cpp: sum in a double accumulator (see reduce.h for why).
#include "kernels/reduce.h"

namespace cudistill::cpu {

template <typename T> void sum_fwd(T* y, const T* x, int64_t n) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc += double(x[i]);
  y[0] = T(acc);
}

template void sum_fwd<float>(float*, const float*, int64_t);
template void sum_fwd<double>(double*, const double*, int64_t);

}  // namespace cudistill::cpu
