// cross_entropy.cu: the CUDA twin of cpu::cross_entropy_fwd (kernels/loss.h), one fused kernel:
// per row of the logits s, (B, K), with label smoothing eps,
//   q       = (1 - eps) onehot(y) + eps / K                  (the smoothed target)
//   loss    = mean_b  -sum_k q_bk log softmax(s_b)_k
//   dlogits = (softmax(s) - q) / B                           (WRITTEN, not accumulated; may be null)
// Not the op: engine/ops/loss.cpp allocates, validates and records the autograd node. A kernel
// cannot throw, so the OP MUST CHECK ON THE HOST that every label is in [0, K) before calling this
// (the CPU twin throws). As a last line of defence a label outside [0, K) makes the loss NaN here.
// Test: ./build/tests/test_cuda -ts=cuda (vs the CPU reference). Time: ./build/apps/bench_cuda.
// How it works: docs/kernels/cross_entropy.md. Same thread mapping as kd_loss.cu (row_softmax.cuh).
//
// loss[0] is zeroed on the stream, then each block adds its partial sum with one atomicAdd: the
// order of float atomics varies, so the last bits of the loss can differ between runs.
#include "kernels/cuda/row_softmax.cuh"
#include "kernels/loss.h"

namespace cudistill::cuda {

namespace {

// One element k of a row whose max is mx and whose sum S = sum_k exp(s_k - mx) has log2 lg_s:
// adds -q_k log h_k to ce and returns B * dlogits_k = h_k - q_k, h = softmax(s).
// h = exp2((s - mx) log2 e - lg_s): one FMA and one MUFU.EX2, recomputed rather than kept from the
// sum pass so that a K = 1000 row needs 32 registers per lane, not 64.
__device__ __forceinline__ float ce_element(float sv, int k, int y, float mx, float lg_s, float eps, float eps_k,
                                            float& ce) {
  constexpr float kLn2 = 0.6931471805599453f;
  const float d = sv - mx;  // <= 0
  const float log_h = d - lg_s * kLn2, h = exp2f(fmaf(d, rows::kLog2e, -lg_s));
  const bool hit = k == y;
  if (hit) ce -= (1.f - eps) * log_h;
  if (eps > 0.f) ce -= eps_k * log_h;  // skipped at eps = 0 like the CPU: no 0 * (-inf) for s = -inf
  return h - (eps_k + (hit ? 1.f - eps : 0.f));
}

// loss: (1) zeroed before the launch; dlogits: (B, K) or null; s: (B, K); labels: (B) in [0, K).
template <typename C>
__global__ void __launch_bounds__(rows::kThreads, rows::kMinBlocks)
    cross_entropy_kernel(float* loss, float* dlogits, const float* s, const int32_t* labels, int64_t B, int K,
                         float eps, float inv_b) {
  const rows::RowLoop<C> L;
  const float eps_k = eps / float(K);
  float ce = 0.f;  // this thread's share of sum_b loss_b
  for (int64_t base = L.first; base < B; base += L.stride) {
    if constexpr (C::kStreaming) {
      const int64_t off = base * K;  // one row per warp: pass 1 online max/sum, pass 2 outputs
      const rows::MaxSum st = rows::row_online<C::G>(s + off, K, L.lane_g, rows::kLog2e);
      const int y = labels[base];
      if (L.lane_g == 0 && (y < 0 || y >= K)) ce = NAN;  // see the header: the op checks first
      const float lg_s = log2f(st.s);
      for (int k = L.lane_g; k < K; k += C::G) {
        const float g = ce_element(s[off + k], k, y, st.m, lg_s, eps, eps_k, ce);
        if (dlogits) dlogits[off + k] = g * inv_b;
      }
    } else {
      float v[C::R][C::V], mx[C::R], sum[C::R];
      int y[C::R];
      rows::load_rows<C>(v, s, L, base, B, K, -INFINITY);
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        y[r] = row < B ? labels[row] : 0;
      }
      rows::row_max<C>(mx, v);
      rows::row_sum_exp<C>(sum, v, mx, rows::kLog2e);
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        if (row >= B) continue;  // after the shuffles: all lanes took part in them
        if (L.lane_g == 0 && (y[r] < 0 || y[r] >= K)) ce = NAN;
        const float lg_s = log2f(sum[r]);
#pragma unroll
        for (int j = 0; j < C::V; ++j) {
          const int k = L.col(j);
          if (k >= K) continue;
          const float g = ce_element(v[r][j], k, y[r], mx[r], lg_s, eps, eps_k, ce);
          if (dlogits) dlogits[row * K + k] = g * inv_b;
        }
      }
    }
  }
  rows::block_atomic_add(loss, ce * inv_b);
}

}  // namespace

void cross_entropy_fwd(float* loss, float* dlogits, const float* s, const int32_t* labels, int B, int K, float eps) {
  // The op (engine/ops/loss.cpp) guarantees these; restated because a kernel cannot report them.
  ENGINE_CHECK(B > 0 && K > 0, "cross_entropy: empty logits (", B, ", ", K, ")");
  ENGINE_CHECK(labels != nullptr, "cross_entropy needs labels");
  CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(float), cur_stream()));  // the blocks add into it
  rows::with_cfg(K, [&](auto cfg) {
    using C = decltype(cfg);
    const int grid = rows::grid_for_rows(cross_entropy_kernel<C>, B, C::kRowsPerBlock);
    cross_entropy_kernel<C><<<grid, rows::kThreads, 0, cur_stream()>>>(loss, dlogits, s, labels, B, K, eps,
                                                                        1.f / float(B));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cudistill::cuda
