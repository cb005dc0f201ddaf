// cuda/pool.cu: the CUDA twins of kernels/pool.h: max pooling (with the argmax kept for backward),
// average pooling, and global average pooling, over (N, C, H, W). Backward passes ACCUMULATE.
// Not tiled through shared memory: each thread reads its k*k window from global memory (the L1
// cache catches the overlap), which is simple and good enough for the 2x2 and 3x3 windows of CNNs.
// Tested against kernels/cpu/pool.cpp by the CUDA suite (tests/cuda, run with -ts=cuda).
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/pool.h"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;

// y, argmax: (N, C, HO, WO); x: (N, C, H, W). One thread per output element. Same rules as the
// CPU: padding never wins, and a tie goes to the first element of the window (row-major), so the
// argmax, and hence where the gradient goes, is identical.
__global__ void maxpool2d_fwd_kernel(float* y, int32_t* argmax, const float* x, int64_t total, int H,
                                     int W, int k, int stride, int pad, int HO, int WO) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total;
       o += int64_t(blockDim.x) * gridDim.x) {
    const int ow = int(o % WO), oh = int((o / WO) % HO);
    const int64_t nc = o / (int64_t(WO) * HO);
    const float* xp = x + nc * H * W;
    float best = -INFINITY;
    int32_t arg = -1;
    for (int i = 0; i < k; ++i) {
      const int h = oh * stride - pad + i;
      if (h < 0 || h >= H) continue;
      for (int j = 0; j < k; ++j) {
        const int w = ow * stride - pad + j;
        if (w < 0 || w >= W) continue;
        const float v = xp[h * W + w];
        if (arg < 0 || v > best) { best = v; arg = h * W + w; }
      }
    }
    y[o] = best;
    argmax[o] = arg;
  }
}

// dx: (N, C, H, W) += dy: (N, C, HO, WO) scattered through argmax. One thread per output element;
// atomicAdd because overlapping windows (stride < k) can pick the same input pixel.
__global__ void maxpool2d_bwd_kernel(float* dx, const float* dy, const int32_t* argmax, int64_t total,
                                     int64_t HW, int64_t HOWO) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total;
       o += int64_t(blockDim.x) * gridDim.x) {
    const int32_t a = argmax[o];
    if (a >= 0) atomicAdd(dx + (o / HOWO) * HW + a, dy[o]);
  }
}

// How many window cells count towards the mean at output (oh, ow); the CPU's window_count.
__device__ __forceinline__ int window_count(int oh, int ow, int H, int W, int k, int stride, int pad,
                                            bool include_pad) {
  if (include_pad) return k * k;
  const int h0 = max(oh * stride - pad, 0), h1 = min(oh * stride - pad + k, H);
  const int w0 = max(ow * stride - pad, 0), w1 = min(ow * stride - pad + k, W);
  return (h1 - h0) * (w1 - w0);
}

// y: (N, C, HO, WO) = window means of x: (N, C, H, W). One thread per output element.
__global__ void avgpool2d_fwd_kernel(float* y, const float* x, int64_t total, int H, int W, int k,
                                     int stride, int pad, int HO, int WO, bool include_pad) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < total;
       o += int64_t(blockDim.x) * gridDim.x) {
    const int ow = int(o % WO), oh = int((o / WO) % HO);
    const int64_t nc = o / (int64_t(WO) * HO);
    const float* xp = x + nc * H * W;
    float s = 0.f;
    for (int i = 0; i < k; ++i) {
      const int h = oh * stride - pad + i;
      if (h < 0 || h >= H) continue;
      for (int j = 0; j < k; ++j) {
        const int w = ow * stride - pad + j;
        if (w >= 0 && w < W) s += xp[h * W + w];
      }
    }
    y[o] = s / float(window_count(oh, ow, H, W, k, stride, pad, include_pad));
  }
}

// dx: (N, C, H, W) += gradient from dy: (N, C, HO, WO). One thread per INPUT pixel, gathering
// dy / count from every output whose window covers it, so each dx element has a single writer
// and needs no atomics. Output row oh covers input row h when oh*stride - pad <= h and
// h < oh*stride - pad + k, that is (with t = h + pad - k):
//   oh >= floor(t / stride) + 1  (0 when t < 0)   and   oh <= (h + pad) / stride;
// the same for columns.
__global__ void avgpool2d_bwd_kernel(float* dx, const float* dy, int64_t total, int H, int W, int k,
                                     int stride, int pad, int HO, int WO, bool include_pad) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < total;
       p += int64_t(blockDim.x) * gridDim.x) {
    const int w = int(p % W), h = int((p / W) % H);
    const int64_t nc = p / (int64_t(W) * H);
    const float* dyp = dy + nc * HO * WO;
    const int th = h + pad - k, tw = w + pad - k;
    const int oh0 = th < 0 ? 0 : th / stride + 1, oh1 = min((h + pad) / stride, HO - 1);
    const int ow0 = tw < 0 ? 0 : tw / stride + 1, ow1 = min((w + pad) / stride, WO - 1);
    float g = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow)
        g += dyp[oh * WO + ow] / float(window_count(oh, ow, H, W, k, stride, pad, include_pad));
    dx[p] += g;
  }
}

// y: (NC) = mean over HW of x: (NC, HW). One warp per (n, c) plane: the 32 lanes read
// consecutive floats (coalesced), then warp_sum folds them without shared memory. A warp, not a
// block, because HW is small after the last conv (7x7 = 49) while NC is large.
__global__ void global_avgpool_fwd_kernel(float* y, const float* x, int64_t NC, int64_t HW) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t(blockDim.x) * gridDim.x) >> 5;
  // The whole warp shares `plane`, so it loops (and calls warp_sum) in lockstep.
  for (int64_t plane = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5; plane < NC;
       plane += warps) {
    const float* xp = x + plane * HW;
    float s = 0.f;
    for (int64_t i = lane; i < HW; i += 32) s += xp[i];
    s = warp_sum(s);
    if (lane == 0) y[plane] = s / float(HW);
  }
}

// dx: (NC, HW) += dy: (NC) / HW. One thread per input element.
__global__ void global_avgpool_bwd_kernel(float* dx, const float* dy, int64_t total, int64_t HW) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] += dy[i / HW] / float(HW);
}

}  // namespace

void maxpool2d_fwd(float* y, int32_t* argmax, const float* x, int N, int C, int H, int W, int k, int stride,
                   int pad, int HO, int WO) {
  const int64_t total = int64_t(N) * C * HO * WO;
  if (total == 0) return;
  maxpool2d_fwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(
      y, argmax, x, total, H, W, k, stride, pad, HO, WO);
  CUDA_CHECK_LAUNCH();
}

void maxpool2d_bwd(float* dx, const float* dy, const int32_t* argmax, int N, int C, int H, int W, int HO,
                   int WO) {
  const int64_t total = int64_t(N) * C * HO * WO;
  if (total == 0) return;
  maxpool2d_bwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(
      dx, dy, argmax, total, int64_t(H) * W, int64_t(HO) * WO);
  CUDA_CHECK_LAUNCH();
}

void avgpool2d_fwd(float* y, const float* x, int N, int C, int H, int W, int k, int stride, int pad, int HO,
                   int WO, bool count_include_pad) {
  const int64_t total = int64_t(N) * C * HO * WO;
  if (total == 0) return;
  avgpool2d_fwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(
      y, x, total, H, W, k, stride, pad, HO, WO, count_include_pad);
  CUDA_CHECK_LAUNCH();
}

void avgpool2d_bwd(float* dx, const float* dy, int N, int C, int H, int W, int k, int stride, int pad, int HO,
                   int WO, bool count_include_pad) {
  const int64_t total = int64_t(N) * C * H * W;
  if (total == 0 || HO <= 0 || WO <= 0) return;
  avgpool2d_bwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(
      dx, dy, total, H, W, k, stride, pad, HO, WO, count_include_pad);
  CUDA_CHECK_LAUNCH();
}

void global_avgpool_fwd(float* y, const float* x, int64_t NC, int64_t HW) {
  if (NC == 0) return;
  const int64_t threads = NC * 32;  // one warp per plane
  global_avgpool_fwd_kernel<<<grid_for(threads, kThreads), kThreads, 0, cur_stream()>>>(y, x, NC, HW);
  CUDA_CHECK_LAUNCH();
}

void global_avgpool_bwd(float* dx, const float* dy, int64_t NC, int64_t HW) {
  const int64_t total = NC * HW;
  if (total == 0) return;
  global_avgpool_bwd_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(dx, dy, total, HW);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
