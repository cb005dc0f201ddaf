// kd_loss.cu: the CUDA twin of cpu::kd_loss_fwd (kernels/loss.h), ONE fused kernel: per row of
// the student logits s and master logits m, (B, K) each,
//   p = softmax(m / T)  (the master's softened distribution, a constant target)
//   q = softmax(s / T)  (the student's), h = softmax(s) (at T = 1, for the hard-label term)
//   loss    = mean_b [ alpha T^2 KL(p_b || q_b) + (1 - alpha) (-log h_b,y_b) ]
//   dlogits = [ alpha T (q - p) + (1 - alpha) (h - onehot(y)) ] / B   (WRITTEN, not accumulated)
// The hard-label term is computed only when alpha != 1 (then labels may be null, as on the CPU).
// Not the op: engine/ops/loss.cpp allocates, validates and records the autograd node. In
// particular a kernel cannot throw, so the OP MUST CHECK ON THE HOST that every label is in
// [0, K) before calling this (the CPU twin throws). As a last line of defence a label outside
// [0, K) makes the loss NaN here, so that it cannot go unnoticed.
// Test: ./build/tests/test_cuda -ts=cuda (vs the CPU reference). Time: ./build/apps/bench_cuda.
// How it works: docs/kernels/kd_loss.md.
//
// The loss is summed over rows per thread, then per block (block_sum), then ONE atomicAdd per
// block into loss[0] (zeroed first on the same stream). Float atomics land in the order the blocks
// finish, so the last bits of loss[0] can differ between runs; dlogits is deterministic.
#include "kernels/cuda/row_softmax.cuh"
#include "kernels/loss.h"

namespace cudistill::cuda {

namespace {

// What a row's elements need once its three max/sum pairs are known.
// The sums are kept as base-2 logs: q = exp2((s - ms) cT - lg_q) is one FMA and one MUFU.EX2, and
// ln = lg * ln 2 gives the natural log-probabilities the KL needs.
struct KdRow {
  float ms, mm;  // raw max of s and of m
  float lg_q;    // log2 of sum_k exp((s_k - ms) / T)
  float lg_p;    // same for m
  float lg_h;    // same for s at T = 1 (hard term only)
  int y;         // label (hard term only)
};

__device__ __forceinline__ KdRow kd_row(float ms, float sq, float mm, float sp, float sh, int y, bool hard) {
  return KdRow{ms, mm, log2f(sq), log2f(sp), hard ? log2f(sh) : 0.f, y};
}

// One element k of a row: adds p log(p/q) to kl and -log h_y (when k is the label) to ce, and
// returns B * dlogits_k. All in log space: log2 p = (m - mm) cT - lg_p is finite even where p
// underflows to 0, so p * (log p - log q) is 0, never 0 * (-inf).
// The exps are recomputed here rather than kept from the sum pass: keeping them would hold three
// more values per class in registers (178 registers at K = 1000, one block per SM); recomputing
// costs MUFU work that hides under the memory traffic. Short rows were tried both ways on an H200
// (docs/gpu-runs.md): keeping the exps at K = 6 gained nothing, and at 4 lanes per row it cost
// registers (80 -> 107) and time (50 -> 59 us for 1M rows).
__device__ __forceinline__ float kd_element(float sv, float mv, int k, const KdRow& R, float cT, float alpha_t,
                                            float one_minus_alpha, bool hard, float& kl, float& ce) {
  constexpr float kLn2 = 0.6931471805599453f;
  const float ds = sv - R.ms, dm = mv - R.mm;  // <= 0
  const float l2q = fmaf(ds, cT, -R.lg_q), l2p = fmaf(dm, cT, -R.lg_p);  // log2 q_k, log2 p_k
  const float q = exp2f(l2q), p = exp2f(l2p);
  kl += p * (l2p - l2q) * kLn2;
  float g = alpha_t * (q - p);
  if (hard) {
    const float l2h = fmaf(ds, rows::kLog2e, -R.lg_h);  // log2 h_k
    const float h = exp2f(l2h);
    const bool hit = k == R.y;
    if (hit) ce -= ds - R.lg_h * kLn2;  // -log h_y = -(s_y - ms - ln sum), as the CPU forms it
    g += one_minus_alpha * (h - (hit ? 1.f : 0.f));
  }
  return g;
}

// loss: (1) zeroed before the launch; dlogits: (B, K) or null; s, m: (B, K); labels: (B) or null.
template <typename C>
__global__ void __launch_bounds__(rows::kThreads, rows::kMinBlocks)
    kd_loss_kernel(float* loss, float* dlogits, const float* s, const float* m, const int32_t* labels, int64_t B,
                   int K, float T, float alpha, float inv_b) {
  const rows::RowLoop<C> L;
  const bool hard = alpha != 1.f;  // the same for every thread: branches on it never diverge
  const float inv_t = 1.f / T, cT = inv_t * rows::kLog2e;
  const float alpha_t = alpha * T, one_minus_alpha = 1.f - alpha;
  float kl = 0.f, ce = 0.f;  // this thread's share of sum_b KL_b and sum_b -log h_b,y_b
  for (int64_t base = L.first; base < B; base += L.stride) {
    if constexpr (C::kStreaming) {
      const int64_t off = base * K;  // one row per warp: pass 1 online max/sums, pass 2 outputs
      rows::MaxSum aq, ap, ah;
      for (int k = L.lane_g; k < K; k += C::G) {
        const float sv = s[off + k], mv = m[off + k];
        aq.add(sv, cT);
        ap.add(mv, cT);
        if (hard) ah.add(sv, rows::kLog2e);
      }
      aq = rows::merge<C::G>(aq, cT);
      ap = rows::merge<C::G>(ap, cT);
      if (hard) ah = rows::merge<C::G>(ah, rows::kLog2e);
      const int y = hard ? labels[base] : 0;
      if (hard && L.lane_g == 0 && (y < 0 || y >= K)) ce = NAN;  // see the header: op checks first
      const KdRow R = kd_row(aq.m, aq.s, ap.m, ap.s, ah.s, y, hard);
      for (int k = L.lane_g; k < K; k += C::G) {
        const float g = kd_element(s[off + k], m[off + k], k, R, cT, alpha_t, one_minus_alpha, hard, kl, ce);
        if (dlogits) dlogits[off + k] = g * inv_b;
      }
    } else {
      float vs[C::R][C::V], vm[C::R][C::V];
      rows::load_rows<C>(vs, s, L, base, B, K, -INFINITY);
      rows::load_rows<C>(vm, m, L, base, B, K, -INFINITY);
      int y[C::R];
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        y[r] = (hard && row < B) ? labels[row] : 0;
      }
      // One max serves both temperatures: max(s / T) = max(s) / T.
      float ms[C::R], mm[C::R], sq[C::R], sp[C::R], sh[C::R];
      rows::row_max<C>(ms, vs);
      rows::row_max<C>(mm, vm);
      rows::row_sum_exp<C>(sq, vs, ms, cT);
      rows::row_sum_exp<C>(sp, vm, mm, cT);
      if (hard) rows::row_sum_exp<C>(sh, vs, ms, rows::kLog2e);
#pragma unroll
      for (int r = 0; r < C::R; ++r) {
        const int64_t row = L.row(base, r);
        if (row >= B) continue;  // after the shuffles: all lanes took part in them
        if (hard && L.lane_g == 0 && (y[r] < 0 || y[r] >= K)) ce = NAN;
        const KdRow R = kd_row(ms[r], sq[r], mm[r], sp[r], hard ? sh[r] : 1.f, y[r], hard);
#pragma unroll
        for (int j = 0; j < C::V; ++j) {
          const int k = L.col(j);
          if (k >= K) continue;  // a pad: log p would be -inf - (-inf)
          const float g = kd_element(vs[r][j], vm[r][j], k, R, cT, alpha_t, one_minus_alpha, hard, kl, ce);
          if (dlogits) dlogits[row * K + k] = g * inv_b;
        }
      }
    }
  }
  // T^2 and alpha once per thread, not once per element; the mean's 1/B once per block.
  const float mine = alpha * T * T * kl + (hard ? one_minus_alpha * ce : 0.f);
  rows::block_atomic_add(loss, mine * inv_b);
}

}  // namespace

void kd_loss_fwd(float* loss, float* dlogits, const float* s, const float* m, const int32_t* labels, int B, int K,
                 float temperature, float alpha) {
  // The op (engine/ops/loss.cpp) guarantees these; restated because a kernel cannot report them.
  ENGINE_CHECK(B > 0 && K > 0, "kd_loss: empty logits (", B, ", ", K, ")");
  ENGINE_CHECK(temperature > 0, "kd_loss: temperature must be positive, got ", temperature);
  ENGINE_CHECK(alpha == 1.f || labels != nullptr, "kd_loss with alpha < 1 needs labels");
  CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(float), cur_stream()));  // the blocks add into it
  rows::with_cfg(K, [&](auto cfg) {
    using C = decltype(cfg);
    const int grid = rows::grid_for_rows(kd_loss_kernel<C>, B, C::kRowsPerBlock);
    kd_loss_kernel<C><<<grid, rows::kThreads, 0, cur_stream()>>>(loss, dlogits, s, m, labels, B, K, temperature,
                                                                  alpha, 1.f / float(B));
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cudistill::cuda
