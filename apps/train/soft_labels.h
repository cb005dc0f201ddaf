// train/soft_labels.h: the soft-label cache (soft_labels.bin): for every training image, K
// augmented views (crop box + flip, drawn by data::random_view(seed, epoch = view, index)) and the
// full master's logits on each, so that distillation replays exactly the view the master saw.
// File layout (little-endian):
//   header (152 bytes): magic "CDSOFTLB" (8), version u32, images u32, views u32, classes u32,
//                       key (64 hex chars), checksum (64 hex chars: sha256 of the payload)
//   payload: images * views records, image-major, each ViewParams {x0, y0, w, h: f32, flip: i32}
//            then `classes` f32 logits.
// The key is sha256 of (data file lists, master checkpoint sha256, augmentation settings, K,
// input sizes): read_soft_labels refuses a file whose size, key, version or checksum is wrong, and
// the pipeline rebuilds it. Not here: the student's training (distill.cpp).
// Tested in tests/ops/test_train_pipeline.cpp (-tc="train: soft*").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/augment.h"
#include "engine/nn/module.h"

namespace cudistill::train {

struct SoftLabels {
  int images = 0, views = 0, classes = 0;
  std::vector<cpu::ViewParams> view_params;  // (images * views)
  std::vector<float> logits;                 // (images * views, classes)
  const cpu::ViewParams& view(int image, int v) const { return view_params[size_t(image) * size_t(views) + size_t(v)]; }
  const float* logit(int image, int v) const {
    return logits.data() + (size_t(image) * size_t(views) + size_t(v)) * size_t(classes);
  }
};

struct SoftLabelKey {
  std::string files_sha256, master_sha256;
  data::ViewOptions aug;
  uint64_t seed = 0;
  int views = 0, cache_h = 0, cache_w = 0, master_size = 0;
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  std::string hex() const;  // 64 hex digits
};

void write_soft_labels(const std::string& path, const std::string& key, const SoftLabels& s);
// true and `out` filled when the file is whole and carries `key`; else false with a one-line
// reason ("missing", "truncated ...", "key mismatch", "checksum mismatch", ...).
bool read_soft_labels(const std::string& path, const std::string& key, SoftLabels& out, std::string& why);

// `model`'s logits (rows, classes) on view views[r] of image idx[r] of `cache`, batch_size rows at a
// time (the views resized to size x size, normalized by mean/std), under NoGrad.
std::vector<float> logits_on_views(Module& model, const data::ImageCache& cache, const std::vector<int>& idx,
                                   const std::vector<cpu::ViewParams>& views, int size, const float mean[3],
                                   const float std[3], int batch_size, Device device);

// Runs `master` (eval, on `device`) once per view of every image of `cache`, batch_size at a time.
// Views are random_view(seed, epoch = v, index i, aug).
SoftLabels build_soft_labels(Module& master, const data::ImageCache& cache, int views, uint64_t seed,
                             const data::ViewOptions& aug, int master_size, const float mean[3],
                             const float std[3], int batch_size, Device device);

}  // namespace cudistill::train
