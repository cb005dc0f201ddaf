// cpu/conv_depthwise.cpp: depthwise convolution (groups == C == O) by direct loops.
// im2col + GEMM is the wrong tool here: each group is a 1 x (KH*KW) by (KH*KW) x (HO*WO) product,
// far too thin for a blocked GEMM, and the im2col copy costs more than the arithmetic. Instead,
// for each kernel tap (i, j) the valid output columns [lo, hi) are computed once, so the inner
// loop over ow has no branch and, at stride 1, reads and writes contiguous memory (vectorised).
// Called from cpu/conv.cpp; tested with the other convs (tests/ops/test_nn.cpp: direct reference
// and float64 gradients, depthwise cases included).
#include <algorithm>

#include "kernels/conv.h"
#include "kernels/cpu/parallel.h"

namespace cudistill::cpu {

namespace {
// Output columns ow whose input column ow*stride - pad + j lies inside [0, W).
inline void valid_range(int j, int W, int WO, int stride, int pad, int& lo, int& hi) {
  lo = std::max(0, (pad - j + stride - 1) / stride);
  // (W - 1 + pad - j) < 0 (a tap right of a tiny image): no column; integer division would
  // truncate it to 0 and admit column 0, reading past the plane.
  hi = W - 1 + pad - j < 0 ? 0 : std::min(WO, (W - 1 + pad - j) / stride + 1);
  if (hi < lo) hi = lo;
}
}  // namespace

template <typename T>
void depthwise_fwd(T* y, const T* x, const T* w, const T* b, const ConvShape& s) {
  const int64_t planes = int64_t(s.N) * s.C;
#pragma omp parallel for if (planes * s.HO * s.WO * s.KH * s.KW > kParallelMinElements)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const int c = int(nc % s.C);
    const T* xp = x + nc * s.H * s.W;
    const T* wc = w + int64_t(c) * s.KH * s.KW;
    T* yp = y + nc * s.HO * s.WO;
    std::fill(yp, yp + int64_t(s.HO) * s.WO, b ? b[c] : T(0));
    for (int i = 0; i < s.KH; ++i)
      for (int j = 0; j < s.KW; ++j) {
        const T wv = wc[i * s.KW + j];
        int lo, hi;
        valid_range(j, s.W, s.WO, s.stride, s.pad, lo, hi);
        for (int oh = 0; oh < s.HO; ++oh) {
          const int h = oh * s.stride - s.pad + i;
          if (h < 0 || h >= s.H) continue;
          const T* xr = xp + int64_t(h) * s.W - s.pad + j;
          T* yr = yp + int64_t(oh) * s.WO;
          if (s.stride == 1)  // the common case, spelled out so that the compiler vectorises it
            for (int ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow];
          else
            for (int ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * s.stride];
        }
      }
  }
}

template <typename T>
void depthwise_bwd(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvShape& s) {
  // Parallel over channels: each owns its dw taps and its dx planes, so no two threads write the
  // same element; the images of a channel are visited in order.
#pragma omp parallel for if (int64_t(s.N) * s.C * s.HO * s.WO * s.KH * s.KW > kParallelMinElements)
  for (int c = 0; c < s.C; ++c) {
    for (int n = 0; n < s.N; ++n) {
      const int64_t nc = int64_t(n) * s.C + c;
      const T* xp = x + nc * s.H * s.W;
      const T* dyp = dy + nc * s.HO * s.WO;
      T* dxp = dx ? dx + nc * s.H * s.W : nullptr;
      for (int i = 0; i < s.KH; ++i)
        for (int j = 0; j < s.KW; ++j) {
          const int tap = (c * s.KH + i) * s.KW + j;
          const T wv = w[tap];
          int lo, hi;
          valid_range(j, s.W, s.WO, s.stride, s.pad, lo, hi);
          T acc = T(0);
          for (int oh = 0; oh < s.HO; ++oh) {
            const int h = oh * s.stride - s.pad + i;
            if (h < 0 || h >= s.H) continue;
            const int64_t xo = int64_t(h) * s.W - s.pad + j;
            const T* dyr = dyp + int64_t(oh) * s.WO;
            for (int ow = lo; ow < hi; ++ow) acc += dyr[ow] * xp[xo + int64_t(ow) * s.stride];
            if (dxp)
              for (int ow = lo; ow < hi; ++ow) dxp[xo + int64_t(ow) * s.stride] += wv * dyr[ow];
          }
          if (dw) dw[tap] += acc;
        }
    }
  }
}

template void depthwise_fwd<float>(float*, const float*, const float*, const float*, const ConvShape&);
template void depthwise_fwd<double>(double*, const double*, const double*, const double*, const ConvShape&);
template void depthwise_bwd<float>(float*, float*, const float*, const float*, const float*, const ConvShape&);
template void depthwise_bwd<double>(double*, double*, const double*, const double*, const double*,
                                    const ConvShape&);

}  // namespace cudistill::cpu
