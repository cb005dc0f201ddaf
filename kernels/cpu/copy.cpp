// cpu/copy.cpp: strided gather/scatter with a multi-dimensional index counter.
// Simple and general rather than fast: views are rare on the hot path (convs take contiguous input).
#include "kernels/copy.h"

#include <vector>

namespace cudistill::cpu {

namespace {
// Visits every element in row-major order, calling f(linear_index, strided_offset).
template <typename F>
void for_each_strided(int ndim, const int64_t* shape, const int64_t* strides, F&& f) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  std::vector<int64_t> idx(ndim, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int d = ndim - 1; d >= 0; --d) {  // increment the counter like an odometer
      if (++idx[d] < shape[d]) { off += strides[d]; break; }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}
}  // namespace

template <typename TD, typename TS>
void copy_strided(TD* dst, const TS* src, int ndim, const int64_t* shape, const int64_t* src_strides) {
  for_each_strided(ndim, shape, src_strides,
                   [&](int64_t i, int64_t off) { dst[i] = static_cast<TD>(src[off]); });
}

template <typename T>
void add_into_strided(T* dst, const T* src, int ndim, const int64_t* shape, const int64_t* dst_strides) {
  for_each_strided(ndim, shape, dst_strides, [&](int64_t i, int64_t off) { dst[off] += src[i]; });
}

template void copy_strided<float, float>(float*, const float*, int, const int64_t*, const int64_t*);
template void copy_strided<double, double>(double*, const double*, int, const int64_t*, const int64_t*);
template void copy_strided<float, double>(float*, const double*, int, const int64_t*, const int64_t*);
template void copy_strided<double, float>(double*, const float*, int, const int64_t*, const int64_t*);
template void copy_strided<double, int32_t>(double*, const int32_t*, int, const int64_t*, const int64_t*);
template void copy_strided<int32_t, int32_t>(int32_t*, const int32_t*, int, const int64_t*, const int64_t*);
template void add_into_strided<float>(float*, const float*, int, const int64_t*, const int64_t*);
template void add_into_strided<double>(double*, const double*, int, const int64_t*, const int64_t*);

}  // namespace cudistill::cpu
