// train/region_targets.h: --region-targets, a soft target for *any* crop of a training image at
// the cost of one master pass per image. The master is a backbone, a global average pool and a
// linear head, so its logits are the mean over the last feature map's cells of head(cell): the
// class map (one logit vector per cell, as in class activation maps). The master on a crop is
// approximated by the mean of the class map over the cells that the crop box covers, each cell
// weighted by its overlap with the box. For the whole box that is exactly the master's logits on
// the whole image (the test checks it); for a smaller box the cells still see past the box's edge
// (their receptive fields are large), which is the approximation.
// Why: the baseline's strength is a fresh crop every epoch (as many distinct views as epochs); the
// soft-label cache holds K (5 in the benchmark). This gives every fresh crop a target of its own,
// with no master in the loop.
// A flip is ignored: the box is in the unmirrored image, and the master is close to mirror-symmetric.
// Not here: the training loop (distill.cpp). Tested in tests/ops/test_train_pipeline.cpp
// (-tc="train: region*" and the end-to-end case).
#pragma once
#include <vector>

#include "apps/train/stages.h"
#include "kernels/augment.h"

namespace cudistill::train {

struct ClassMaps {
  int images = 0, gh = 0, gw = 0, classes = 0;  // gh x gw: the master's last feature map
  std::vector<float> v;                         // (images, gh, gw, classes) row-major
  const float* cell(int i, int y, int x) const {
    return v.data() + ((size_t(i) * size_t(gh) + size_t(y)) * size_t(gw) + size_t(x)) * size_t(classes);
  }
};

// The master's class map of every training image seen whole at its input size: read from the run
// directory's class_maps.safetensors when its key (data files, master.safetensors' sha256, master
// size) matches, else computed (one backbone pass per image) and written there atomically.
ClassMaps class_maps(Context& c, Net& master);

// out (classes) = the class map of `image` averaged over the box of `view` (source pixels of an
// H x W image; cells split the image evenly), each cell weighted by its area inside the box.
void region_logits(float* out, const ClassMaps& m, int image, const cpu::ViewParams& view, int H, int W);

// region_logits of each (idx[r], views[r]) as a (rows, classes) tensor on `device`.
Tensor region_rows(const ClassMaps& m, const std::vector<int>& idx, const std::vector<cpu::ViewParams>& views,
                   int H, int W, Device device);

// How close the approximation is: the full master against region_rows on the batch's images and
// views, logged as top-1 agreement, both accuracies and the mean absolute logit difference. A few
// seconds for 256 views at the master's size.
void log_region_fidelity(Context& c, Net& master, const ClassMaps& m, const std::vector<int>& idx,
                         const std::vector<cpu::ViewParams>& views);

}  // namespace cudistill::train
