// cpu/pad.cpp: reference zero padding over (N, C, H, W); the oracle for kernels/cuda/pad.cu.
// A plain copy, no arithmetic: the only thing to get right is the index map
//   y[n, c, h + top, w + left] = x[n, c, h, w], zero elsewhere.
// Backward ACCUMULATES (dx += dy's interior). Tested in tests/ops/test_pad.cpp.
#include "kernels/cpu/parallel.h"
#include "kernels/pad.h"

#include <algorithm>

namespace cudistill::cpu {

template <typename T>
void pad2d_fwd(T* y, const T* x, int N, int C, int H, int W, int top, int bottom, int left, int right) {
  const int HO = top + H + bottom, WO = left + W + right;
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc) {
    T* yp = y + nc * HO * WO;
    const T* xp = x + nc * H * W;
    std::fill(yp, yp + int64_t(HO) * WO, T(0));
    for (int h = 0; h < H; ++h) std::copy(xp + int64_t(h) * W, xp + int64_t(h + 1) * W, yp + int64_t(h + top) * WO + left);
  }
}

template <typename T>
void pad2d_bwd(T* dx, const T* dy, int N, int C, int H, int W, int top, int bottom, int left, int right) {
  const int HO = top + H + bottom, WO = left + W + right;
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc) {
    T* dxp = dx + nc * H * W;
    const T* dyp = dy + nc * HO * WO;
    for (int h = 0; h < H; ++h)
      for (int w = 0; w < W; ++w) dxp[h * W + w] += dyp[int64_t(h + top) * WO + w + left];
  }
}

#define INSTANTIATE(T)                                                            \
  template void pad2d_fwd<T>(T*, const T*, int, int, int, int, int, int, int, int); \
  template void pad2d_bwd<T>(T*, const T*, int, int, int, int, int, int, int, int);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
