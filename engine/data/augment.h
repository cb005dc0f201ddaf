// data/augment.h: drawing augmented views of cached images, and turning a batch of views into a
// normalised float tensor.
//  - random_view: torchvision's RandomResizedCrop box (area scale in [0.08, 1], log-uniform aspect
//    ratio in [3/4, 4/3], integer box, 10 tries then a centre-crop fallback) and a horizontal flip
//    with p = 0.5, drawn from an Rng seeded by (seed, epoch, image index): a view can be redrawn,
//    stored (cpu::ViewParams, in soft_labels.bin) and replayed, whatever the batch order;
//  - eval_view: the whole image, unflipped (resized to the output size by make_batch);
//  - make_batch: (indices, views) -> float (B, 3, OH, OW), through cpu::augment or cuda::augment.
// Not here: the pixel arithmetic itself (kernels/augment.h, kernels/cpu/augment.cpp, cuda/augment.cu).
// Tested in tests/ops/test_data.cpp (-tc="data*"), CPU path. make_batch's CUDA branch only calls
// cuda::augment (checked against cpu::augment in the CUDA suite); no GPU test of make_batch yet.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/augment.h"

namespace cudistill::data {

// ImageNet statistics (torchvision's), for masters pretrained on ImageNet: x = (p/255 - mean) / std.
inline constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
inline constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

struct ViewOptions {
  float scale_min = 0.08f, scale_max = 1.0f;          // crop area / image area
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;  // crop width / height, sampled in log space
  float flip_p = 0.5f;                                 // probability of a horizontal flip
};

// One RandomResizedCrop + flip draw for an (H, W) image, consuming `rng`. The box has integer
// corners and lies inside the image: 0 <= x0, x0 + w <= W, 0 <= y0, y0 + h <= H.
cpu::ViewParams sample_view(int H, int W, Rng& rng, const ViewOptions& opt = {});

// The seed of the view of image `index` in `epoch` of a run seeded with `seed` (splitmix64 mixing:
// nearby (epoch, index) pairs give unrelated streams).
uint64_t view_seed(uint64_t seed, int64_t epoch, int64_t index);

// sample_view with Rng(view_seed(seed, epoch, index)): the same arguments always give the same view.
cpu::ViewParams random_view(int H, int W, uint64_t seed, int64_t epoch, int64_t index,
                            const ViewOptions& opt = {});

// The whole image, unflipped: make_batch resizes it to the output size (no crop at eval time; the
// Intel images are already square and small).
cpu::ViewParams eval_view(int H, int W);

// Views for a batch of cache indices: random ones (keyed by the image index, not the batch slot)
// and eval ones.
std::vector<cpu::ViewParams> random_views(const ImageCache& cache, const std::vector<int>& indices, uint64_t seed,
                                          int64_t epoch, const ViewOptions& opt = {});
std::vector<cpu::ViewParams> eval_views(const ImageCache& cache, size_t count);

// Batch assembly: image indices[b] of the cache through views[b] -> (B, 3, out_h, out_w) float32
// on `device`, normalised with mean/std (3 each, host arrays). CPU: cpu::augment, one image per
// OpenMP iteration. CUDA: the batch's uint8 images and views are uploaded and cuda::augment runs on
// the device (a CUDA build is required: a user error otherwise, never a quiet CPU fallback).
// labels for the batch: batch_labels below.
Tensor make_batch(const ImageCache& cache, const std::vector<int>& indices,
                  const std::vector<cpu::ViewParams>& views, int out_h, int out_w, const float mean[3],
                  const float std[3], Device device = Device::CPU);

// labels[b] = cache.labels[indices[b]]: (B) int32 on `device` (the losses want the logits' device).
Tensor batch_labels(const ImageCache& cache, const std::vector<int>& indices, Device device = Device::CPU);

}  // namespace cudistill::data
