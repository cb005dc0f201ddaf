// softmax_temperature.cu: the CUDA twins of cpu::softmax_fwd/bwd and cpu::log_softmax_fwd/bwd
// (kernels/softmax.h): y = softmax(x / T) or log_softmax(x / T) over the last dim of (B, K) rows,
// inv_t = 1 / T. The backward functions ACCUMULATE into dx (dx += ...), like their CPU twins.
// Not a general reduction library: float only, rows contiguous, one kernel per direction with a
// register path (K <= 1024: each row read once, written once) and a streamed path (K > 1024).
// Test: ./build/tests/test_cuda -ts=cuda (vs the CPU reference; compute-sanitizer clean).
// Time: ./build/apps/bench_cuda. How it works: docs/kernels/softmax_temperature.md.
//
// Thread mapping (row_softmax.cuh): a group of G lanes per row, G a power of two from K (4 lanes
// for K = 6, a whole warp for K = 1000), each lane holding V values of its row in registers and R
// rows per loop trip; a grid-stride loop over rows. Reductions are shuffles of width G: no shared
// memory, no __syncthreads.
// Aliasing: y may be x (in place) and dx may be dy: every thread reads all of its values of a row
// before it writes any of them, and rows never straddle two groups.
#include "kernels/cuda/row_softmax.cuh"
#include "kernels/softmax.h"

namespace cudistill::cuda {

namespace {

// y: (B, K), x: (B, K). LOG: y = log_softmax(x * inv_t), else y = softmax(x * inv_t).
template <typename C, bool LOG>
__global__ void __launch_bounds__(rows::kThreads, rows::kMinBlocks)
    softmax_fwd_kernel(float* y, const float* x, int64_t B, int K, float inv_t) {
  const rows::RowLoop<C> L;
  const float c = inv_t * rows::kLog2e;  // exp(d * inv_t) = exp2(d * c)
  for (int64_t base = L.first; base < B; base += L.stride) {
    if constexpr (C::kStreaming) {
      const int64_t off = base * K;  // one row per warp
      const rows::MaxSum st = rows::row_online<C::G>(x + off, K, L.lane_g, c);
      const float inv_s = 1.f / st.s, ln_s = logf(st.s);
      for (int k = L.lane_g; k < K; k += C::G) {
        const float d = x[off + k] - st.m;  // <= 0
        y[off + k] = LOG ? d * inv_t - ln_s : exp2f(d * c) * inv_s;
      }
    } else {
      float v[C::R][C::V], mx[C::R], s[C::R];
      rows::load_rows<C>(v, x, L, base, B, K, -INFINITY);
      rows::row_max<C>(mx, v);
      // softmax needs only the exps from here on: v becomes them (one exp per element, not two);
      // log_softmax needs the values and no exp.
      if constexpr (LOG) rows::row_sum_exp<C>(s, v, mx, c);
      else rows::row_sum_exp_keep<C>(s, v, v, mx, c);
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        if (row >= B) continue;  // after the shuffles: all lanes took part in them
        const float inv_s = 1.f / s[r], ln_s = logf(s[r]);
#pragma unroll
        for (int j = 0; j < C::V; ++j) {
          const int k = L.col(j);
          if (k >= K) continue;
          y[row * K + k] = LOG ? (v[r][j] - mx[r]) * inv_t - ln_s : v[r][j] * inv_s;
        }
      }
    }
  }
}

// dx, dy, y: (B, K); y is the forward output.
//   softmax:      dx += y * (dy - sum_k dy*y) * inv_t
//   log_softmax:  dx += (dy - exp(y) * sum_k dy) * inv_t     (y = log-probabilities)
template <typename C, bool LOG>
__global__ void __launch_bounds__(rows::kThreads, rows::kMinBlocks)
    softmax_bwd_kernel(float* dx, const float* dy, const float* y, int64_t B, int K, float inv_t) {
  const rows::RowLoop<C> L;
  // The row's reduction: sum dy*y (softmax) or sum dy (log_softmax).
  auto term = [](float g, float yv) { return LOG ? g : g * yv; };
  auto grad = [inv_t](float g, float yv, float red) {
    return LOG ? (g - expf(yv) * red) * inv_t : yv * (g - red) * inv_t;
  };
  for (int64_t base = L.first; base < B; base += L.stride) {
    if constexpr (C::kStreaming) {
      const int64_t off = base * K;
      float acc = 0.f;
      for (int k = L.lane_g; k < K; k += C::G) acc += term(dy[off + k], y[off + k]);
      const float red = warp_sum<C::G>(acc);
      for (int k = L.lane_g; k < K; k += C::G) dx[off + k] += grad(dy[off + k], y[off + k], red);
    } else {
      // dx is loaded up front with dy and y, so its latency overlaps theirs (it is read anyway: +=).
      float vdy[C::R][C::V], vy[C::R][C::V], vdx[C::R][C::V], red[C::R];
      rows::load_rows<C>(vdy, dy, L, base, B, K, 0.f);  // zero pads add nothing to either sum
      rows::load_rows<C>(vy, y, L, base, B, K, 0.f);
      rows::load_rows<C>(vdx, dx, L, base, B, K, 0.f);
      rows::row_sum<C>(red, vdy, vy, term);
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        if (row >= B) continue;
#pragma unroll
        for (int j = 0; j < C::V; ++j) {
          const int k = L.col(j);
          if (k < K) dx[row * K + k] = vdx[r][j] + grad(vdy[r][j], vy[r][j], red[r]);
        }
      }
    }
  }
}

template <bool LOG>
void launch_fwd(float* y, const float* x, int B, int K, float inv_t) {
  if (B <= 0 || K <= 0) return;  // nothing to do, as on the CPU
  rows::with_cfg(K, [&](auto cfg) {
    using C = decltype(cfg);
    const int grid = rows::grid_for_rows(softmax_fwd_kernel<C, LOG>, B, C::kRowsPerBlock);
    softmax_fwd_kernel<C, LOG><<<grid, rows::kThreads, 0, cur_stream()>>>(y, x, B, K, inv_t);
    CUDA_CHECK_LAUNCH();
  });
}

template <bool LOG>
void launch_bwd(float* dx, const float* dy, const float* y, int B, int K, float inv_t) {
  if (B <= 0 || K <= 0) return;
  rows::with_cfg(K, [&](auto cfg) {
    using C = decltype(cfg);
    const int grid = rows::grid_for_rows(softmax_bwd_kernel<C, LOG>, B, C::kRowsPerBlock);
    softmax_bwd_kernel<C, LOG><<<grid, rows::kThreads, 0, cur_stream()>>>(dx, dy, y, B, K, inv_t);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void softmax_fwd(float* y, const float* x, int B, int K, float inv_t) { launch_fwd<false>(y, x, B, K, inv_t); }
void log_softmax_fwd(float* y, const float* x, int B, int K, float inv_t) { launch_fwd<true>(y, x, B, K, inv_t); }
void softmax_bwd(float* dx, const float* dy, const float* y, int B, int K, float inv_t) {
  launch_bwd<false>(dx, dy, y, B, K, inv_t);
}
void log_softmax_bwd(float* dx, const float* dy, const float* y, int B, int K, float inv_t) {
  launch_bwd<true>(dx, dy, y, B, K, inv_t);
}

}  // namespace cudistill::cuda
