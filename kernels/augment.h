// augment.h: data augmentation on the device: a batch of uint8 RGB images (N, H, W, 3) becomes a
// normalised float batch (N, 3, OH, OW), each image through its own view: a crop box (fractional
// source pixels), resized bilinearly to OH x OW, and optionally flipped horizontally.
// Not a random-number source: the caller draws the ViewParams (on the host), so a view can be
// replayed exactly (distillation shows the teacher and the student the same pixels).
// Reference and test: kernels/cpu/augment.cpp, tests/ops/test_augment.cpp (-tc="augment*").
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// One view of an image: the crop box in source pixels (x0, y0, w, h, may be fractional) and a
// horizontal flip. Replaying the same ViewParams gives the same pixels (distillation replays views).
struct ViewParams {
  float x0, y0, w, h;
  int32_t flip;
};

// src: (N, H, W, 3) uint8 RGB; views: (N); dst: (N, 3, OH, OW) = (pixel/255 - mean[c]) / std[c].
// Output pixel (oy, ox) samples the source at pixel-centre coordinates
//   sx = x0 + (ox' + 0.5) * w / OW - 0.5,   sy = y0 + (oy + 0.5) * h / OH - 0.5,
// clamped to [0, W-1] x [0, H-1], with ox' = OW-1-ox when flipped (else ox), bilinearly.
// mean, std: (3), host pointers.
void augment(float* dst, const uint8_t* src, const ViewParams* views, int N, int H, int W, int OH, int OW,
             const float* mean, const float* std);

}  // namespace cudistill::cpu

// CUDA twin (kernels/cuda/augment.cu): src, views and dst on the device; mean and std are host
// arrays of 3 (passed to the kernel by value). One thread per output pixel, all 3 channels.
namespace cudistill::cuda {
void augment(float* dst, const uint8_t* src, const cpu::ViewParams* views, int N, int H, int W, int OH, int OW,
             const float* mean, const float* std);
}  // namespace cudistill::cuda
