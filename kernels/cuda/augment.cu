// cuda/augment.cu: the CUDA twin of kernels/augment.h: uint8 (N, H, W, 3) -> per-image crop box,
// bilinear resize, horizontal flip, normalise -> float (N, 3, OH, OW), on the engine's stream.
// Not a texture-unit kernel (tex2D interpolates with 9-bit fixed-point weights and would drift
// from the CPU reference): plain loads, the same float expressions as kernels/cpu/augment.cpp.
// Tested against the CPU reference by the CUDA suite (tests/cuda, run with -ts=cuda).
#include "kernels/augment.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;

// Per-channel normalisation, by value (constant bank): the caller's arrays are on the host.
struct Norm {
  float mean[3];
  float std[3];
};

// dst: (N, 3, OH, OW); src: (N, H, W, 3); views: (N). One thread per output pixel (n, oy, ox),
// ox fastest, so that each of the three channel-plane stores is coalesced across a warp; the
// thread computes the source coordinates once and reads the 4 taps' 3 adjacent bytes each.
__global__ void augment_kernel(float* dst, const uint8_t* src, const cpu::ViewParams* views, int N, int H,
                               int W, int OH, int OW, Norm norm) {
  const int64_t total = int64_t(N) * OH * OW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int ox = int(i % OW), oy = int((i / OW) % OH);
    const int64_t n = i / (int64_t(OW) * OH);
    const cpu::ViewParams v = views[n];
    const uint8_t* img = src + n * H * W * 3;
    float* out = dst + n * 3 * OH * OW;

    float sy = v.y0 + (float(oy) + 0.5f) * v.h / float(OH) - 0.5f;
    sy = fminf(fmaxf(sy, 0.f), float(H - 1));
    const int y0 = int(sy), y1 = min(y0 + 1, H - 1);
    const float fy = sy - float(y0);
    const int ux = v.flip ? OW - 1 - ox : ox;
    float sx = v.x0 + (float(ux) + 0.5f) * v.w / float(OW) - 0.5f;
    sx = fminf(fmaxf(sx, 0.f), float(W - 1));
    const int x0 = int(sx), x1 = min(x0 + 1, W - 1);
    const float fx = sx - float(x0);

#pragma unroll
    for (int c = 0; c < 3; ++c) {
      const float p00 = img[(int64_t(y0) * W + x0) * 3 + c], p01 = img[(int64_t(y0) * W + x1) * 3 + c];
      const float p10 = img[(int64_t(y1) * W + x0) * 3 + c], p11 = img[(int64_t(y1) * W + x1) * 3 + c];
      const float top = p00 + fx * (p01 - p00), bot = p10 + fx * (p11 - p10);
      const float val = top + fy * (bot - top);
      out[(int64_t(c) * OH + oy) * OW + ox] = (val / 255.f - norm.mean[c]) / norm.std[c];
    }
  }
}

}  // namespace

void augment(float* dst, const uint8_t* src, const cpu::ViewParams* views, int N, int H, int W, int OH, int OW,
             const float* mean, const float* std) {
  const int64_t total = int64_t(N) * OH * OW;
  if (total == 0) return;
  ENGINE_CHECK(H > 0 && W > 0, "augment: empty source images (", H, "x", W, ")");
  const Norm norm{{mean[0], mean[1], mean[2]}, {std[0], std[1], std[2]}};
  augment_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(dst, src, views, N, H, W, OH, OW,
                                                                            norm);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
