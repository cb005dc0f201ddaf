// cpu/conv_depthwise_fast.cpp: the float depthwise convolution that training and inference run;
// cpu/conv_depthwise.cpp (direct loops) is its reference and oracle.
// Why another version: the reference walks each kernel tap over each output row, and the student's
// rows are short (48, 24, 12, 6 pixels at 96 px), so most of its time is loop overhead and
// unvectorised remainders. Here one plane at a time is rearranged so that every tap becomes one
// long, branch-free, unit-stride loop over the whole plane:
//   1. Split the zero-padded input plane into stride x stride "phase planes",
//      P[a][b](u, v) = xpad(u*s + a, v*s + b), each Hp x Wp with Wp = WO + (KW-1)/s. At stride 1
//      there is one phase plane: the padded image itself.
//   2. Tap (i, j) reads phase (i mod s, j mod s) shifted by (i/s, j/s). In a flat plane of row
//      length Wp that shift is the constant offset (i/s)*Wp + j/s, so
//      ext[q] += w(i, j) * P[i mod s][j mod s][q + offset],   q in [0, HO*Wp),
//      and ext(oh, ow) is the output for ow < WO; the Wp - WO columns past it are scratch.
//   3. Backward runs the same offsets the other way: dP[q + offset] += w * dy_ext[q] (dy_ext: dy
//      with zeros in the scratch columns) and dw(i, j) += sum_q dy_ext[q] * P[q + offset]; dx then
//      gathers dP back through the phase split.
// Threads: over (image, channel) planes forward; over channels backward (each owns its dw taps and
// dx planes, as in the reference). Checked against the reference in tests/kernels/test_cpu_fast.cpp.
#include <algorithm>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/parallel.h"

namespace cudistill::cpu::fast {

namespace {
struct Phases {
  int s, Hp, Wp;  // stride; rows and row length of one phase plane
  int64_t plane;  // floats per phase plane, one spare row: the last taps read up to Wp past the end
  explicit Phases(const ConvShape& c)
      : s(c.stride), Hp(c.HO + (c.KH - 1) / c.stride), Wp(c.WO + (c.KW - 1) / c.stride),
        plane(int64_t(Hp + 1) * Wp) {}
  int64_t offset(int i, int j) const { return int64_t(i / s) * Wp + j / s; }
  int64_t phase(int i, int j) const { return (int64_t(i % s) * s + j % s) * plane; }
};

// Phase (a, b), row u holds xpad(u*s + a, v*s + b) = x(h, v*s + b - pad) with h = u*s + a - pad:
// the columns v of that row that fall inside the image are [v_lo, v_hi).
template <typename F>
void for_each_phase_row(const ConvShape& c, const Phases& g, F&& row) {
  for (int a = 0; a < g.s; ++a)
    for (int b = 0; b < g.s; ++b) {
      const int v_lo = std::max(0, (c.pad - b + g.s - 1) / g.s);
      const int last = c.W - 1 + c.pad - b;  // < 0: no column (truncating division would admit one)
      const int v_hi = last < 0 ? 0 : std::min(g.Wp, last / g.s + 1);
      for (int u = 0; u <= g.Hp; ++u) {
        const int h = u * g.s + a - c.pad;
        if (h < 0 || h >= c.H || v_hi <= v_lo) continue;
        row((int64_t(a) * g.s + b) * g.plane + int64_t(u) * g.Wp, int64_t(h) * c.W + b - c.pad, v_lo, v_hi);
      }
    }
}

// x plane (H, W) -> s*s phase planes of the zero-padded plane.
void split(float* P, const float* x, const ConvShape& c, const Phases& g) {
  std::fill(P, P + g.s * g.s * g.plane, 0.f);
  for_each_phase_row(c, g, [&](int64_t dst, int64_t src, int v_lo, int v_hi) {
    if (g.s == 1) return (void)std::copy(x + src + v_lo, x + src + v_hi, P + dst + v_lo);
    for (int v = v_lo; v < v_hi; ++v) P[dst + v] = x[src + int64_t(v) * g.s];
  });
}

// The adjoint of split: dx(h, w) += dP at the place split() put x(h, w).
void merge_add(float* dx, const float* dP, const ConvShape& c, const Phases& g) {
  for_each_phase_row(c, g, [&](int64_t dst, int64_t src, int v_lo, int v_hi) {
    for (int v = v_lo; v < v_hi; ++v) dx[src + int64_t(v) * g.s] += dP[dst + v];
  });
}

void axpy_shifted(float* __restrict y, float a, const float* __restrict x, int64_t n) {
#pragma omp simd
  for (int64_t q = 0; q < n; ++q) y[q] += a * x[q];
}

float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t q = 0; q < n; ++q) s += a[q] * b[q];
  return s;
}
}  // namespace

void depthwise_fwd(float* y, const float* x, const float* w, const float* b, const ConvShape& c) {
  const Phases g(c);
  const int64_t planes = int64_t(c.N) * c.C, n_ext = int64_t(c.HO) * g.Wp;
#pragma omp parallel if (planes * c.HO * c.WO * c.KH * c.KW > kParallelMinElements)
  {
    std::vector<float> P(static_cast<size_t>(g.s * g.s * g.plane)), ext(static_cast<size_t>(n_ext));
#pragma omp for
    for (int64_t nc = 0; nc < planes; ++nc) {
      const int ch = int(nc % c.C);
      split(P.data(), x + nc * c.H * c.W, c, g);
      std::fill(ext.begin(), ext.end(), b ? b[ch] : 0.f);
      for (int i = 0; i < c.KH; ++i)
        for (int j = 0; j < c.KW; ++j)
          axpy_shifted(ext.data(), w[(int64_t(ch) * c.KH + i) * c.KW + j], P.data() + g.phase(i, j) + g.offset(i, j),
                       n_ext);
      float* yp = y + nc * c.HO * c.WO;
      for (int oh = 0; oh < c.HO; ++oh) std::copy_n(ext.data() + int64_t(oh) * g.Wp, c.WO, yp + int64_t(oh) * c.WO);
    }
  }
}

void depthwise_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const ConvShape& c) {
  const Phases g(c);
  const int64_t n_ext = int64_t(c.HO) * g.Wp, n_P = g.s * g.s * g.plane;
#pragma omp parallel if (int64_t(c.N) * c.C * c.HO * c.WO * c.KH * c.KW > kParallelMinElements)
  {
    std::vector<float> P(static_cast<size_t>(n_P)), dP(static_cast<size_t>(n_P)), dy_ext(static_cast<size_t>(n_ext), 0.f);
#pragma omp for
    for (int ch = 0; ch < c.C; ++ch) {
      for (int n = 0; n < c.N; ++n) {
        const int64_t nc = int64_t(n) * c.C + ch;
        const float* dyp = dy + nc * c.HO * c.WO;
        for (int oh = 0; oh < c.HO; ++oh)  // the scratch columns stay 0
          std::copy_n(dyp + int64_t(oh) * c.WO, c.WO, dy_ext.data() + int64_t(oh) * g.Wp);
        if (dw) split(P.data(), x + nc * c.H * c.W, c, g);
        if (dx) std::fill(dP.begin(), dP.end(), 0.f);
        for (int i = 0; i < c.KH; ++i)
          for (int j = 0; j < c.KW; ++j) {
            const int64_t tap = (int64_t(ch) * c.KH + i) * c.KW + j, at = g.phase(i, j) + g.offset(i, j);
            if (dw) dw[tap] += dot(dy_ext.data(), P.data() + at, n_ext);
            if (dx) axpy_shifted(dP.data() + at, w[tap], dy_ext.data(), n_ext);
          }
        if (dx) merge_add(dx + nc * c.H * c.W, dP.data(), c, g);
      }
    }
  }
}

}  // namespace cudistill::cpu::fast
