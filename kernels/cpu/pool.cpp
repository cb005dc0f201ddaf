// cpu/pool.cpp: reference pooling. Padding never wins a max (it is -inf), and the max of a tie
// goes to the first element in the window, which is also where its gradient goes.
#include "kernels/cpu/parallel.h"
#include "kernels/pool.h"

#include <algorithm>
#include <cmath>

namespace cudistill::cpu {

template <typename T>
void maxpool2d_fwd(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W, int k, int stride,
                   int pad, int HO, int WO) {
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc) {
    const T* xp = x + nc * H * W;
    for (int oh = 0; oh < HO; ++oh)
      for (int ow = 0; ow < WO; ++ow) {
        T best = -INFINITY;
        int32_t arg = -1;
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            int h = oh * stride - pad + i, w = ow * stride - pad + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            if (arg < 0 || xp[h * W + w] > best) { best = xp[h * W + w]; arg = h * W + w; }
          }
        y[(nc * HO + oh) * WO + ow] = best;
        argmax[(nc * HO + oh) * WO + ow] = arg;
      }
  }
}

template <typename T>
void maxpool2d_bwd(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W, int HO,
                   int WO) {
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc)
    for (int64_t o = 0; o < int64_t(HO) * WO; ++o) {
      int32_t a = argmax[nc * HO * WO + o];
      if (a >= 0) dx[nc * H * W + a] += dy[nc * HO * WO + o];
    }
}

// Number of window cells that count towards the mean at output (oh, ow).
static int window_count(int oh, int ow, int H, int W, int k, int stride, int pad, bool include_pad) {
  if (include_pad) return k * k;
  int h0 = std::max(oh * stride - pad, 0), h1 = std::min(oh * stride - pad + k, H);
  int w0 = std::max(ow * stride - pad, 0), w1 = std::min(ow * stride - pad + k, W);
  return (h1 - h0) * (w1 - w0);
}

template <typename T>
void avgpool2d_fwd(T* y, const T* x, int N, int C, int H, int W, int k, int stride, int pad, int HO,
                   int WO, bool count_include_pad) {
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc) {
    const T* xp = x + nc * H * W;
    for (int oh = 0; oh < HO; ++oh)
      for (int ow = 0; ow < WO; ++ow) {
        double s = 0.0;
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            int h = oh * stride - pad + i, w = ow * stride - pad + j;
            if (h >= 0 && h < H && w >= 0 && w < W) s += double(xp[h * W + w]);
          }
        y[(nc * HO + oh) * WO + ow] =
            T(s / window_count(oh, ow, H, W, k, stride, pad, count_include_pad));
      }
  }
}

template <typename T>
void avgpool2d_bwd(T* dx, const T* dy, int N, int C, int H, int W, int k, int stride, int pad,
                   int HO, int WO, bool count_include_pad) {
#pragma omp parallel for if (int64_t(N) * C * H * W > kParallelMinElements)
  for (int64_t nc = 0; nc < int64_t(N) * C; ++nc) {
    T* dxp = dx + nc * H * W;
    for (int oh = 0; oh < HO; ++oh)
      for (int ow = 0; ow < WO; ++ow) {
        T g = dy[(nc * HO + oh) * WO + ow] /
              T(window_count(oh, ow, H, W, k, stride, pad, count_include_pad));
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            int h = oh * stride - pad + i, w = ow * stride - pad + j;
            if (h >= 0 && h < H && w >= 0 && w < W) dxp[h * W + w] += g;
          }
      }
  }
}

template <typename T> void global_avgpool_fwd(T* y, const T* x, int64_t NC, int64_t HW) {
#pragma omp parallel for if (NC * HW > kParallelMinElements)
  for (int64_t i = 0; i < NC; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < HW; ++j) s += double(x[i * HW + j]);
    y[i] = T(s / double(HW));
  }
}

template <typename T> void global_avgpool_bwd(T* dx, const T* dy, int64_t NC, int64_t HW) {
#pragma omp parallel for if (NC * HW > kParallelMinElements)
  for (int64_t i = 0; i < NC; ++i)
    for (int64_t j = 0; j < HW; ++j) dx[i * HW + j] += dy[i] / T(HW);
}

#define INSTANTIATE(T)                                                                              \
  template void maxpool2d_fwd<T>(T*, int32_t*, const T*, int, int, int, int, int, int, int, int, int); \
  template void maxpool2d_bwd<T>(T*, const T*, const int32_t*, int, int, int, int, int, int);       \
  template void avgpool2d_fwd<T>(T*, const T*, int, int, int, int, int, int, int, int, int, bool);  \
  template void avgpool2d_bwd<T>(T*, const T*, int, int, int, int, int, int, int, int, int, bool);  \
  template void global_avgpool_fwd<T>(T*, const T*, int64_t, int64_t);                             \
  template void global_avgpool_bwd<T>(T*, const T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
