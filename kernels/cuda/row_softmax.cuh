// row_softmax.cuh: the row machinery that softmax_temperature.cu, cross_entropy.cu and kd_loss.cu
// share: how a (B, K) matrix is cut into rows for groups of G lanes, the launch shape chosen from K,
// and the row statistics (max, sum of exp) reduced across a group with warp shuffles.
// Not a kernel and not an op: device helpers plus a host-side dispatcher. It is tested through the
// three ops' CUDA-vs-CPU tests (tests/cuda/test_cuda_ops.cpp, `./build/tests/test_cuda -ts=cuda`);
// docs/kernels/softmax_temperature.md draws the thread-to-data mapping.
//
// The numerically stable form used everywhere: for z = x * inv_t (inv_t = 1/T > 0),
//   softmax(z)_k = exp2((x_k - max x) * inv_t * log2 e) / sum_j exp2((x_j - max x) * inv_t * log2 e)
// The max is taken on the raw x (max(x * inv_t) = max(x) * inv_t exactly, because rounding a
// product by a positive constant is monotone), the difference x_k - max x <= 0 is formed BEFORE
// scaling (exact when x_k is within a factor 2 of the max), so exp2 never sees a positive
// argument and never overflows, and the largest term is 1, so the sum is >= 1: log(sum) is safe.
// exp2f is one MUFU.EX2 (2 ulp); the log2 e factor is folded into the one scale per row.
#pragma once
#include <cfloat>
#include <cmath>

#include "kernels/cuda/common.cuh"

namespace cudistill::cuda::rows {

inline constexpr int kThreads = 256;  // 8 warps per block; every kernel here uses this
// __launch_bounds__(kThreads, kMinBlocks) caps registers at 65536 / (2 * 256) = 128 per thread, so
// that at least 16 warps per SM are resident to overlap one row's loads with another's math.
// Uncapped, the K = 1000 shapes take 110-229 registers (ptxas keeps exps and addresses live) and
// run 8 warps per SM; capped, only the backward at V = 32 spills (4 bytes, an L1-resident slot).
inline constexpr int kMinBlocks = 2;
inline constexpr float kLog2e = 1.4426950408889634f;

// A launch shape for rows of K classes:
//   G  lanes per row, a power of two dividing 32, so shuffles of width G never mix two rows;
//   V  values per lane held in registers: lane l of a group holds k = l, l+G, ..., l+(V-1)G, so one
//      load instruction of a warp reads G consecutive floats of each of its 32/G rows (coalesced);
//   R  rows per group per loop trip, all loaded before any reduction: R*V independent loads per
//      thread are in flight, which is what hides DRAM latency when rows are short (K = 6);
//   V == 0: the row does not fit in registers; it is streamed twice, an online max/sum pass then an
//      output pass (K > 1024; a full warp per row).
template <int G_, int V_, int R_>
struct Cfg {
  static constexpr int G = G_, V = V_, R = R_;
  static constexpr int kGroups = 32 / G;                              // rows side by side in a warp
  static constexpr int kRowsPerWarp = R * kGroups;                    // rows per warp per trip
  static constexpr int kRowsPerBlock = kRowsPerWarp * (kThreads / 32);
  static constexpr bool kStreaming = V == 0;
  static_assert(G >= 1 && G <= 32 && 32 % G == 0, "G must be a power of two <= 32");
  static_assert(!kStreaming || (G == 32 && R == 1), "a streamed row takes a whole warp");
};

// The one place where K picks the shape (the tuning table; docs/kernels/softmax_temperature.md
// explains each line). Rows up to 1024 classes live in registers: read once, written once.
// f is called with a Cfg<...>{} value; it launches the kernel instantiated for that shape.
template <typename F>
void with_cfg(int K, F&& f) {
  if (K <= 4) f(Cfg<2, 2, 4>{});           // 16 rows per warp, 8 loads per thread in flight
  else if (K <= 6) f(Cfg<2, 3, 4>{});      // K = 6: no pad slots, 1 shuffle stage, 12 loads in flight
  else if (K <= 8) f(Cfg<4, 2, 4>{});      // 8 rows side by side, 2 shuffle stages
  else if (K <= 16) f(Cfg<8, 2, 4>{});
  else if (K <= 32) f(Cfg<16, 2, 2>{});
  else if (K <= 64) f(Cfg<32, 2, 2>{});    // from here on: a full warp per row
  else if (K <= 128) f(Cfg<32, 4, 2>{});
  else if (K <= 256) f(Cfg<32, 8, 1>{});
  else if (K <= 512) f(Cfg<32, 16, 1>{});
  else if (K <= 1024) f(Cfg<32, 32, 1>{}); // K = 1000: 32 floats per lane per input
  else f(Cfg<32, 0, 1>{});                 // streamed
}

// Blocks for a grid-stride loop over `rows` rows: never more than the work needs, never more than
// fit on the device at once (the loop does the rest, so each block amortises its start-up and, in
// the loss kernels, its one atomicAdd over many rows).
template <typename Kernel>
int grid_for_rows(Kernel kernel, int64_t rows, int rows_per_block) {
  int dev = 0, sms = 0, per_sm = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
  const int64_t resident = int64_t(sms) * (per_sm > 0 ? per_sm : 1);
  const int64_t need = ceil_div(rows, rows_per_block);
  return int(need < resident ? (need > 0 ? need : 1) : resident);
}

// Where this thread's group sits. Trips start at rows first, first + stride, ...; the loop bound
// (base < B) is the same for all 32 lanes of a warp, so every shuffle inside a trip has all lanes.
template <typename C>
struct RowLoop {
  int lane_g;      // this lane's place in its group, 0..G-1
  int group;       // this group's place in its warp, 0..32/G-1
  int64_t first;   // first row of this warp's first trip
  int64_t stride;  // rows covered by the whole grid per trip
  __device__ __forceinline__ RowLoop() {
    const int lane = threadIdx.x & 31;
    lane_g = lane % C::G;
    group = lane / C::G;
    const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
    first = warp * C::kRowsPerWarp;
    stride = ((int64_t(gridDim.x) * blockDim.x) >> 5) * C::kRowsPerWarp;
  }
  // Row of slot r in the trip starting at `base`: the warp's groups read adjacent rows, so the
  // loads of one instruction fall in one contiguous stretch of memory.
  __device__ __forceinline__ int64_t row(int64_t base, int r) const { return base + int64_t(r) * C::kGroups + group; }
  __device__ __forceinline__ int col(int j) const { return lane_g + j * C::G; }  // class of value j
};

// v[r][j] = x[row(r), col(j)], or `pad` outside the (B, K) matrix. All R*V loads are independent
// and issued back to back; nothing is written before they are all used, so y may alias x.
template <typename C>
__device__ __forceinline__ void load_rows(float (&v)[C::R][C::V], const float* x, const RowLoop<C>& L,
                                          int64_t base, int64_t B, int K, float pad) {
#pragma unroll
  for (int r = 0; r < C::R; ++r) {
    const int64_t row = L.row(base, r);
#pragma unroll
    for (int j = 0; j < C::V; ++j) {
      const int k = L.col(j);
      v[r][j] = (row < B && k < K) ? x[row * K + k] : pad;
    }
  }
}

// mx[r] = max of row r (pad with -inf); every lane of the group gets it.
template <typename C>
__device__ __forceinline__ void row_max(float (&mx)[C::R], const float (&v)[C::R][C::V]) {
#pragma unroll
  for (int r = 0; r < C::R; ++r) {
    float m = v[r][0];
#pragma unroll
    for (int j = 1; j < C::V; ++j) m = fmaxf(m, v[r][j]);
    mx[r] = warp_max<C::G>(m);
  }
}

// s[r] = sum_k exp2((v - mx[r]) * c); c = inv_t * log2 e. A -inf pad adds exp2(-inf) = 0.
template <typename C>
__device__ __forceinline__ void row_sum_exp(float (&s)[C::R], const float (&v)[C::R][C::V],
                                            const float (&mx)[C::R], float c) {
#pragma unroll
  for (int r = 0; r < C::R; ++r) {
    float a = 0.f;
#pragma unroll
    for (int j = 0; j < C::V; ++j) a += exp2f((v[r][j] - mx[r]) * c);
    s[r] = warp_sum<C::G>(a);
  }
}

// The same sum, keeping each exp: e[r][j] = exp2((v - mx[r]) * c) (pads: 0). e may be v itself
// (each element is read before it is overwritten): the softmax forward needs only the exps after
// this, so it keeps them in place, at no register cost, instead of computing each exp twice.
template <typename C>
__device__ __forceinline__ void row_sum_exp_keep(float (&s)[C::R], float (&e)[C::R][C::V],
                                                 const float (&v)[C::R][C::V], const float (&mx)[C::R], float c) {
#pragma unroll
  for (int r = 0; r < C::R; ++r) {
    float a = 0.f;
#pragma unroll
    for (int j = 0; j < C::V; ++j) {
      e[r][j] = exp2f((v[r][j] - mx[r]) * c);
      a += e[r][j];
    }
    s[r] = warp_sum<C::G>(a);
  }
}

// s[r] = sum_k f(v1, v2) over row r, e.g. dy*y for the softmax backward (pads must make f = 0).
template <typename C, typename F>
__device__ __forceinline__ void row_sum(float (&s)[C::R], const float (&a)[C::R][C::V], const float (&b)[C::R][C::V],
                                        F f) {
#pragma unroll
  for (int r = 0; r < C::R; ++r) {
    float acc = 0.f;
#pragma unroll
    for (int j = 0; j < C::V; ++j) acc += f(a[r][j], b[r][j]);
    s[r] = warp_sum<C::G>(acc);
  }
}

// --- streamed rows (K > 1024): the online max/sum of Milakov & Gimelshein (2018) ---------------
// A running max m and s = sum exp2((x - m) * c). When a larger x arrives, the old sum is rescaled
// by exp2((m_old - x) * c) <= 1; so one read of the row gives both, with no exp ever overflowing.
// m starts at -FLT_MAX, not -inf, so that (x - m) is never (-inf) - (-inf) = NaN: an x of -inf
// adds exp2(-inf) = 0, as in the two-pass form. A NaN x propagates into s (as on the CPU).
struct MaxSum {
  float m = -FLT_MAX, s = 0.f;
  __device__ __forceinline__ void add(float x, float c) {
    if (x > m) {
      s = s * exp2f((m - x) * c) + 1.f;
      m = x;
    } else {
      s += exp2f((x - m) * c);
    }
  }
};

// Combines the per-lane (m, s) of a group: every lane gets the row's max and sum.
template <int G>
__device__ __forceinline__ MaxSum merge(MaxSum a, float c) {
  const float m = warp_max<G>(a.m);
  a.s = warp_sum<G>(a.s * exp2f((a.m - m) * c));
  a.m = m;
  return a;
}

// Online max/sum of x[0..K) * c, the lanes of a G-group striding by G.
template <int G>
__device__ __forceinline__ MaxSum row_online(const float* x, int K, int lane_g, float c) {
  MaxSum a;
  for (int k = lane_g; k < K; k += G) a.add(x[k], c);
  return merge<G>(a, c);
}

// --- the loss kernels' reduction over rows ------------------------------------------------------
// Adds the block's sum of v (one value per thread) into *out with ONE atomicAdd per block.
// Float atomics arrive in whatever order the blocks finish, so the last bits of *out may differ
// from run to run (not bitwise reproducible; the tests compare with a tolerance). Call from all
// threads of the block (block_sum has __syncthreads).
__device__ __forceinline__ void block_atomic_add(float* out, float v) {
  __shared__ float shared[32];
  v = block_sum(v, shared);
  if (threadIdx.x == 0) atomicAdd(out, v);
}

}  // namespace cudistill::cuda::rows
