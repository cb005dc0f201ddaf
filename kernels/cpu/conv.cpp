// cpu/conv.cpp: convolution by im2col + GEMM, per image and per group:
//   y[n, g] (Og, HO*WO) = w[g] (Og, Cg*KH*KW) @ col (Cg*KH*KW, HO*WO)
//   dw[g] += dy[n, g] @ col^T,   dcol = w[g]^T @ dy[n, g] -> col2im into dx
// Parallelism: with one group, the GEMM is big and parallelises itself over its blocks; with
// many groups (depthwise) each GEMM is tiny, so the loop over groups runs in parallel instead
// and each GEMM runs on one thread (OpenMP does not nest by default).
// A 1x1, stride-1, unpadded conv needs no im2col: the image already is the column matrix.
#include "kernels/cpu/parallel.h"
#include "kernels/conv.h"

#include <cstddef>
#include <type_traits>
#include <vector>

#include "kernels/gemm.h"

namespace cudistill::cpu {

template <typename T>
void im2col(T* col, const T* x, int C, int H, int W, int KH, int KW, int stride, int pad, int HO, int WO) {
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < KH; ++i)
      for (int j = 0; j < KW; ++j) {
        T* row = col + ((int64_t(c) * KH + i) * KW + j) * HO * WO;
        for (int oh = 0; oh < HO; ++oh) {
          const int h = oh * stride - pad + i;
          for (int ow = 0; ow < WO; ++ow) {
            const int w = ow * stride - pad + j;
            row[oh * WO + ow] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(int64_t(c) * H + h) * W + w] : T(0);
          }
        }
      }
}

template <typename T>
void col2im_add(T* dx, const T* col, int C, int H, int W, int KH, int KW, int stride, int pad, int HO,
                int WO) {
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < KH; ++i)
      for (int j = 0; j < KW; ++j) {
        const T* row = col + ((int64_t(c) * KH + i) * KW + j) * HO * WO;
        for (int oh = 0; oh < HO; ++oh) {
          const int h = oh * stride - pad + i;
          if (h < 0 || h >= H) continue;
          for (int ow = 0; ow < WO; ++ow) {
            const int w = ow * stride - pad + j;
            if (w >= 0 && w < W) dx[(int64_t(c) * H + h) * W + w] += row[oh * WO + ow];
          }
        }
      }
}

namespace {
struct Geometry {  // the per-group sizes of the GEMMs
  int Cg, Og, K;   // input channels, output channels per group; K = Cg*KH*KW
  int64_t P;       // output pixels HO*WO
  bool direct;     // 1x1/stride 1/no pad: x itself is the column matrix
  explicit Geometry(const ConvShape& s)
      : Cg(s.C / s.groups), Og(s.O / s.groups), K(Cg * s.KH * s.KW), P(int64_t(s.HO) * s.WO),
        direct(s.KH == 1 && s.KW == 1 && s.stride == 1 && s.pad == 0) {}
};
}  // namespace

template <typename T> void conv2d_fwd(T* y, const T* x, const T* w, const T* b, const ConvShape& s) {
  const Geometry g(s);
  if (g.Cg == 1 && g.Og == 1 && s.groups > 1) {  // float: the fast kernel; double: its reference
    if constexpr (std::is_same_v<T, float>) return fast::depthwise_fwd(y, x, w, b, s);
    return depthwise_fwd(y, x, w, b, s);
  }
  const int64_t tasks = int64_t(s.N) * s.groups;
#pragma omp parallel if (s.groups > 1 && int64_t(s.N) * s.O * g.P * g.K > kParallelMinElements)
  {
    std::vector<T> col(g.direct ? 0 : size_t(g.K) * size_t(g.P));  // one buffer per thread
#pragma omp for
    for (int64_t t = 0; t < tasks; ++t) {
      const int n = int(t / s.groups), grp = int(t % s.groups);
      const T* xg = x + (int64_t(n) * s.C + int64_t(grp) * g.Cg) * s.H * s.W;
      const T* cols = xg;
      if (!g.direct) {
        im2col(col.data(), xg, g.Cg, s.H, s.W, s.KH, s.KW, s.stride, s.pad, s.HO, s.WO);
        cols = col.data();
      }
      T* yg = y + (int64_t(n) * s.O + int64_t(grp) * g.Og) * g.P;
      gemm<T>(false, false, g.Og, int(g.P), g.K, T(1), w + int64_t(grp) * g.Og * g.K, g.K, cols,
              int(g.P), T(0), yg, int(g.P));
      if (b)
        for (int o = 0; o < g.Og; ++o)
          for (int64_t p = 0; p < g.P; ++p) yg[o * g.P + p] += b[grp * g.Og + o];
    }
  }
}

template <typename T>
void conv2d_bwd(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const ConvShape& s) {
  const Geometry g(s);
  if (db) {
    for (int n = 0; n < s.N; ++n)
      for (int o = 0; o < s.O; ++o) {
        double acc = 0.0;
        const T* d = dy + (int64_t(n) * s.O + o) * g.P;
        for (int64_t p = 0; p < g.P; ++p) acc += double(d[p]);
        db[o] += T(acc);
      }
  }
  if (!dx && !dw) return;
  if (g.Cg == 1 && g.Og == 1 && s.groups > 1) {
    if constexpr (std::is_same_v<T, float>) return fast::depthwise_bwd(dx, dw, dy, x, w, s);
    return depthwise_bwd(dx, dw, dy, x, w, s);
  }
  // Each group owns its slice of dw and of dx, so groups run in parallel without races; the
  // images of one group are visited in order.
#pragma omp parallel if (s.groups > 1 && int64_t(s.N) * s.O * g.P * g.K > kParallelMinElements)
  {
    std::vector<T> col(size_t(g.K) * size_t(g.P));
#pragma omp for
    for (int grp = 0; grp < s.groups; ++grp) {
      const T* wg = w + int64_t(grp) * g.Og * g.K;
      for (int n = 0; n < s.N; ++n) {
        const int64_t xoff = (int64_t(n) * s.C + int64_t(grp) * g.Cg) * s.H * s.W;
        const T* dyg = dy + (int64_t(n) * s.O + int64_t(grp) * g.Og) * g.P;
        if (dw) {
          const T* cols = x + xoff;
          if (!g.direct) {
            im2col(col.data(), x + xoff, g.Cg, s.H, s.W, s.KH, s.KW, s.stride, s.pad, s.HO, s.WO);
            cols = col.data();
          }
          gemm<T>(false, true, g.Og, g.K, int(g.P), T(1), dyg, int(g.P), cols, int(g.P), T(1),
                  dw + int64_t(grp) * g.Og * g.K, g.K);
        }
        if (dx) {
          if (g.direct) {  // dx is the column matrix: accumulate straight into it
            gemm<T>(true, false, g.K, int(g.P), g.Og, T(1), wg, g.K, dyg, int(g.P), T(1), dx + xoff,
                    int(g.P));
          } else {
            gemm<T>(true, false, g.K, int(g.P), g.Og, T(1), wg, g.K, dyg, int(g.P), T(0), col.data(),
                    int(g.P));
            col2im_add(dx + xoff, col.data(), g.Cg, s.H, s.W, s.KH, s.KW, s.stride, s.pad, s.HO, s.WO);
          }
        }
      }
    }
  }
}

#define INSTANTIATE(T)                                                                          \
  template void im2col<T>(T*, const T*, int, int, int, int, int, int, int, int, int);           \
  template void col2im_add<T>(T*, const T*, int, int, int, int, int, int, int, int, int);       \
  template void conv2d_fwd<T>(T*, const T*, const T*, const T*, const ConvShape&);              \
  template void conv2d_bwd<T>(T*, T*, T*, const T*, const T*, const T*, const ConvShape&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace cudistill::cpu
