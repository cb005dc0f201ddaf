// train/cutmix.cpp: see cutmix.h.
#include "apps/train/cutmix.h"

#include <algorithm>
#include <cmath>

#include "engine/data/augment.h"
#include "engine/error.h"
#include "engine/ops/ops.h"
#include "engine/random.h"

namespace cudistill::train {

Patch draw_patch(uint64_t seed, int64_t step, double p, int size) {
  // Index -1: a stream of its own, apart from the views' (whose indices are images, >= 0).
  Rng rng(data::view_seed(seed, step, -1));
  if (!(rng.uniform() < p)) return {};
  const double lambda = rng.uniform();
  const int side = int(double(size) * std::sqrt(lambda));
  const int cx = int(rng.below(uint32_t(size))), cy = int(rng.below(uint32_t(size)));
  Patch q;
  q.x0 = std::clamp(cx - side / 2, 0, size);
  q.x1 = std::clamp(cx + side / 2, 0, size);
  q.y0 = std::clamp(cy - side / 2, 0, size);
  q.y1 = std::clamp(cy + side / 2, 0, size);
  return q.empty() ? Patch{} : q;
}

std::vector<int> partner_rows(int B) {
  std::vector<int> r(size_t(std::max(0, B)));
  for (int i = 0; i < B; ++i) r[size_t(i)] = (i + 1) % B;
  return r;
}

Tensor paste_patch(const Tensor& x, const Tensor& partner, const Patch& p) {
  ENGINE_CHECK(x.ndim() == 4 && x.shape() == partner.shape(), "paste_patch: images ", shape_str(x.shape()), " and partners ",
               shape_str(partner.shape()), " differ");
  const int64_t H = x.size(2), W = x.size(3);
  ENGINE_CHECK(p.x0 >= 0 && p.y0 >= 0 && p.x1 <= W && p.y1 <= H, "paste_patch: patch [", p.x0, ", ", p.x1, ") x [",
               p.y0, ", ", p.y1, ") outside the ", W, " x ", H, " images");
  Tensor keep = Tensor::full({1, 1, H, W}, 1.0), take = Tensor::zeros({1, 1, H, W});
  for (int y = p.y0; y < p.y1; ++y)
    for (int xx = p.x0; xx < p.x1; ++xx) {
      keep.data<float>()[y * W + xx] = 0.0f;
      take.data<float>()[y * W + xx] = 1.0f;
    }
  return add(mul(x, keep.to(x.device())), mul(partner, take.to(x.device())));
}

cpu::ViewParams patch_box(const cpu::ViewParams& v, const Patch& p, int size) {
  // Output column ox samples the source at x0 + (ox' + 0.5) w / size - 0.5 with ox' = size-1-ox
  // when flipped (kernels/augment.h): columns [x0p, x1p) come from source columns
  // [x0 + a w / size, x0 + b w / size) with [a, b) = [x0p, x1p), or [size - x1p, size - x0p) flipped.
  const float sx = v.w / float(size), sy = v.h / float(size);
  const int a = v.flip ? size - p.x1 : p.x0;
  cpu::ViewParams b;
  b.x0 = v.x0 + float(a) * sx;
  b.y0 = v.y0 + float(p.y0) * sy;
  b.w = float(p.x1 - p.x0) * sx;
  b.h = float(p.y1 - p.y0) * sy;
  b.flip = v.flip;
  return b;
}

Tensor mixed_region_rows(const ClassMaps& m, const std::vector<int>& idx, const std::vector<cpu::ViewParams>& views,
                         const Patch& p, int size, int H, int W, Device device) {
  ENGINE_CHECK(idx.size() == views.size(), "mixed_region_rows: ", idx.size(), " images but ", views.size(), " views");
  const size_t B = idx.size(), K = size_t(m.classes);
  const std::vector<int> partner = partner_rows(int(B));
  const double lambda = p.share(size);
  Tensor t = Tensor::empty({int64_t(B), int64_t(K)});
  std::vector<float> own_patch(K), their_patch(K);
  for (size_t r = 0; r < B; ++r) {
    float* z = t.data<float>() + r * K;
    region_logits(z, m, idx[r], views[r], H, W);
    if (p.empty()) continue;
    const size_t q = size_t(partner[r]);
    region_logits(own_patch.data(), m, idx[r], patch_box(views[r], p, size), H, W);
    region_logits(their_patch.data(), m, idx[q], patch_box(views[q], p, size), H, W);
    for (size_t k = 0; k < K; ++k) z[k] = float(z[k] + lambda * (double(their_patch[k]) - double(own_patch[k])));
  }
  return t.to(device);
}

Tensor mixed_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& partner_labels, double lambda) {
  if (lambda <= 0) return cross_entropy(logits, labels);
  return add(scale(cross_entropy(logits, labels), 1.0 - lambda), scale(cross_entropy(logits, partner_labels), lambda));
}

}  // namespace cudistill::train
