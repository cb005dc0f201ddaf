// cuda/pad.cu: the CUDA twins of kernels/pad.h: zero padding of (N, C, H, W), asymmetric allowed.
// Grid-stride loops, one thread per element written, so every element has exactly one writer:
// the forward writes the zeros itself (no memset first) and the backward gathers (no atomics).
// Backward ACCUMULATES. Tested against kernels/cpu/pad.cpp by the CUDA suite (tests/cuda).
#include "kernels/cuda/common.cuh"
#include "kernels/pad.h"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;

// y: (N, C, HO, WO) from x: (N, C, H, W); outside the interior window y is 0.
__global__ void pad2d_fwd_kernel(float* y, const float* x, int64_t total, int H, int W, int top, int left,
                                 int HO, int WO) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total;
       o += int64_t(blockDim.x) * gridDim.x) {
    const int w = int(o % WO) - left, h = int((o / WO) % HO) - top;
    const int64_t nc = o / (int64_t(WO) * HO);
    y[o] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(nc * H + h) * W + w] : 0.f;
  }
}

// dx: (N, C, H, W) += the interior of dy: (N, C, HO, WO). One thread per input element.
__global__ void pad2d_bwd_kernel(float* dx, const float* dy, int64_t total, int H, int W, int top, int left,
                                 int HO, int WO) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < total;
       p += int64_t(blockDim.x) * gridDim.x) {
    const int w = int(p % W), h = int((p / W) % H);
    const int64_t nc = p / (int64_t(W) * H);
    dx[p] += dy[(nc * HO + h + top) * WO + w + left];
  }
}

}  // namespace

void pad2d_fwd(float* y, const float* x, int N, int C, int H, int W, int top, int bottom, int left, int right) {
  const int HO = top + H + bottom, WO = left + W + right;
  const int64_t total = int64_t(N) * C * HO * WO;
  if (total == 0) return;
  pad2d_fwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(y, x, total, H, W, top, left, HO,
                                                                             WO);
  CUDA_CHECK_LAUNCH();
}

void pad2d_bwd(float* dx, const float* dy, int N, int C, int H, int W, int top, int bottom, int left, int right) {
  const int HO = top + H + bottom, WO = left + W + right;
  const int64_t total = int64_t(N) * C * H * W;
  if (total == 0) return;
  pad2d_bwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(dx, dy, total, H, W, top, left,
                                                                             HO, WO);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
