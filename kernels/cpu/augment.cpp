// cpu/augment.cpp: the reference augmentation (crop box -> bilinear resize -> flip -> normalise),
// plain loops in the order of the formula in kernels/augment.h. It is the oracle for
// kernels/cuda/augment.cu, which evaluates the same float expressions in the same order.
// Not fast (one image at a time, no SIMD): the training loop augments on the GPU.
// Tested by tests/ops/test_augment.cpp (-tc="augment*").
#include "kernels/augment.h"

#include <algorithm>

namespace cudistill::cpu {

void augment(float* dst, const uint8_t* src, const ViewParams* views, int N, int H, int W, int OH, int OW,
             const float* mean, const float* std) {
  for (int n = 0; n < N; ++n) {
    const ViewParams& v = views[n];
    const uint8_t* img = src + int64_t(n) * H * W * 3;  // (H, W, 3)
    float* out = dst + int64_t(n) * 3 * OH * OW;        // (3, OH, OW)
    for (int oy = 0; oy < OH; ++oy) {
      // Map the centre of output pixel oy to source coordinates, then clamp so that the bilinear
      // taps stay inside the image (a box reaching past the border repeats the edge pixels).
      float sy = v.y0 + (float(oy) + 0.5f) * v.h / float(OH) - 0.5f;
      sy = std::min(std::max(sy, 0.f), float(H - 1));
      const int y0 = int(sy), y1 = std::min(y0 + 1, H - 1);
      const float fy = sy - float(y0);
      for (int ox = 0; ox < OW; ++ox) {
        const int ux = v.flip ? OW - 1 - ox : ox;  // the unflipped output column this one shows
        float sx = v.x0 + (float(ux) + 0.5f) * v.w / float(OW) - 0.5f;
        sx = std::min(std::max(sx, 0.f), float(W - 1));
        const int x0 = int(sx), x1 = std::min(x0 + 1, W - 1);
        const float fx = sx - float(x0);
        for (int c = 0; c < 3; ++c) {
          const float p00 = img[(int64_t(y0) * W + x0) * 3 + c], p01 = img[(int64_t(y0) * W + x1) * 3 + c];
          const float p10 = img[(int64_t(y1) * W + x0) * 3 + c], p11 = img[(int64_t(y1) * W + x1) * 3 + c];
          // a + f * (b - a), not (1-f)*a + f*b: exact when a == b and when f == 0, so a constant
          // image stays constant and the identity view reproduces the pixels bit for bit.
          const float top = p00 + fx * (p01 - p00), bot = p10 + fx * (p11 - p10);
          const float val = top + fy * (bot - top);
          out[(int64_t(c) * OH + oy) * OW + ox] = (val / 255.f - mean[c]) / std[c];
        }
      }
    }
  }
}

}  // namespace cudistill::cpu
