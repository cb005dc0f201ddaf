// train/cutmix.h: --cutmix P, CutMix (Yun et al. 2019) for the student. With probability P a
// batch's images get a rectangle pasted from their partner's view (row r's partner is row
// (r + 1) mod B of the same, already shuffled, batch), the patch covering a share lambda of the
// student's input. What the student is asked to predict for the mixed image:
//  - baseline (--no-master): the labels mixed by area, (1 - lambda) CE(label) + lambda CE(partner's);
//  - distilled (--region-targets): the master's class map over what the student sees. The master's
//    logits are a mean over cells (region_targets.h), so the mixed image's are
//        z(A, box) - lambda z(A, patch in A) + lambda z(B, patch in B),
//    each z a class-map mean over a box of source pixels: the part of A covered by the patch is
//    swapped for the part of B under it. Plus (1 - alpha) of the mixed hard-label CE.
// Why: the master is only a couple of points better than the student trained alone, so soft
// targets on the training images themselves add little; on mixed images, which no label
// describes well, the master's answer carries more (Beyer et al. 2022, "a good teacher is
// patient and consistent": function matching on mixed inputs). The class maps make that
// possible without the master in the loop.
// Not here: when batches are drawn (distill.cpp), the step itself (student_step.cpp).
// Tested in tests/ops/test_cutmix.cpp and test_train_pipeline.cpp (-tc="train: cutmix*").
#pragma once
#include <cstdint>
#include <vector>

#include "apps/train/region_targets.h"
#include "engine/tensor.h"
#include "kernels/augment.h"

namespace cudistill::train {

// A rectangle of the student's input, output pixels [x0, x1) x [y0, y1); empty: no mixing.
struct Patch {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  double share(int size) const { return empty() ? 0.0 : double(x1 - x0) * double(y1 - y0) / (double(size) * size); }
};

// The patch of training step `step` (the run's global step counter, so that a resumed run draws
// the same ones): with probability p, lambda ~ U(0, 1), a square of side size * sqrt(lambda)
// centred uniformly in the size x size input and clipped to it (as CutMix does); else empty.
Patch draw_patch(uint64_t seed, int64_t step, double p, int size);

// Row r's partner: (r + 1) mod B.
std::vector<int> partner_rows(int B);
// The vector v with row r replaced by row partner_rows(B)[r].
template <class T>
std::vector<T> partners_of(const std::vector<T>& v) {
  std::vector<T> out;
  for (int r : partner_rows(int(v.size()))) out.push_back(v[size_t(r)]);
  return out;
}

// x with the patch taken from `partner` (both (B, C, S, S), same device): x (1 - M) + partner M,
// M the patch's 0/1 mask broadcast over rows and channels.
Tensor paste_patch(const Tensor& x, const Tensor& partner, const Patch& p);

// The source pixels that the patch's output pixels sample in a view rendered at size x size: a
// box (flip kept) that, rendered at the patch's own size, gives exactly the patch's pixels.
cpu::ViewParams patch_box(const cpu::ViewParams& view, const Patch& p, int size);

// The master's mixed logits (formula above) for a batch of images idx seen through views at the
// student's `size`, the partner of row r being partners_of: (B, classes) on `device`.
Tensor mixed_region_rows(const ClassMaps& m, const std::vector<int>& idx, const std::vector<cpu::ViewParams>& views,
                         const Patch& p, int size, int H, int W, Device device);

// (1 - lambda) CE(logits, labels) + lambda CE(logits, partner_labels), lambda = p.share(size).
Tensor mixed_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& partner_labels, double lambda);

}  // namespace cudistill::train
