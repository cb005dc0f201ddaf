// train/replay.h: what the distilled student can take from the soft-label cache beyond the K
// stored views, without running the master again:
//   - correct_teacher (--kd-correct): where the master's top class is not the label, its logit
//     and the true class's trade places, so the soft target names the right class and keeps the
//     rest of its shape ("knowledge adjustment", Wen et al. 2019). The master is right on about
//     90% of its own training crops (docs/distillation.md); the other 10% teach the student its
//     mistakes.
//   - with_whole_view (--whole-view): the whole image as view K, its logits computed from the
//     features stage's cached pooled features and the head (the master on the uncropped image,
//     the view the test set is scored on).
//   - image_rows (--image-targets): the whole-image logits as the soft target of a fresh random
//     view, every epoch: the baseline's view variety with the master's targets (a crop's target
//     is its image's; scenes mostly keep their class under a crop of 25-100% of the area).
//   - replay_view (--replay-flip): a stored view mirrored with probability 1/2, the master's
//     logits reused (scenes are left-right symmetric; the logits of a mirrored image are close
//     but not equal, which is the price of the extra variety).
// Not here: the cache file (soft_labels.h) or the training loop (distill.cpp).
// Tested in tests/ops/test_train_pipeline.cpp (-tc="train: replay*").
#pragma once
#include <cstdint>
#include <vector>

#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"

namespace cudistill::train {

// logits: (rows, classes) row-major on the CPU; labels: rows entries.
void correct_teacher(float* logits, int rows, int classes, const int32_t* labels);

// s with one more view per image: eval_view(H, W) and the rows of whole_logits (images, classes).
SoftLabels with_whole_view(const SoftLabels& s, const std::vector<float>& whole_logits, int H, int W);

// The master's logits on every whole training image: features.safetensors' train.x through the
// head of `master` (checked against the data set and the head's width).
std::vector<float> whole_image_logits(const Context& c, Net& master);

// The rows idx of whole (images, classes), as a (idx.size(), classes) tensor on `device`; with
// labels (one per idx), corrected by correct_teacher (--kd-correct). --image-targets' soft targets.
Tensor image_rows(const std::vector<float>& whole, int classes, const std::vector<int>& idx,
                  const int32_t* labels, Device device);

// View v of image i as replayed in epoch e: mirrored when `flip` and a coin keyed by (seed, e, i)
// says so.
cpu::ViewParams replay_view(const SoftLabels& s, int image, int v, bool flip, uint64_t seed, int64_t epoch);

}  // namespace cudistill::train
