// test_cutmix.cpp: --cutmix (apps/train/cutmix.h): the patches are seeded by the step, lie inside
// the input and come with probability p; the pasted images take the partner's pixels inside the
// patch only; a patch's source box renders exactly the patch's pixels (flipped or not); the mixed
// master target equals a pixel-by-pixel average of the class map over what the student sees; the
// mixed CE and its gradient are the labels' area-weighted ones. The run-level checks (a resumed
// run mixes as an uninterrupted one) are in test_train_pipeline.cpp. Run: -tc="train: cutmix*"
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "apps/train/cutmix.h"
#include "engine/ops/ops.h"
#include "engine/random.h"
#include "kernels/augment.h"

using namespace cudistill;
using namespace cudistill::train;

namespace {
Tensor random_tensor(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(rng.uniform(-1, 1));
  return t;
}
}  // namespace

TEST_CASE("train: cutmix patches are seeded by the step, inside the input, drawn with probability p") {
  const int S = 96;
  int drawn = 0;
  double share = 0;
  for (int64_t step = 0; step < 1000; ++step) {
    CHECK(draw_patch(3, step, 0.0, S).empty());
    const Patch p = draw_patch(3, step, 0.5, S);
    const Patch again = draw_patch(3, step, 0.5, S);
    CHECK((p.x0 == again.x0 && p.y0 == again.y0 && p.x1 == again.x1 && p.y1 == again.y1));
    if (p.empty()) continue;
    ++drawn;
    share += p.share(S);
    CHECK((0 <= p.x0 && p.x0 < p.x1 && p.x1 <= S && 0 <= p.y0 && p.y0 < p.y1 && p.y1 <= S));
  }
  CHECK(drawn > 440);  // 500 expected (binomial sd 16); a few tiny lambdas give an empty patch
  CHECK(drawn < 560);
  // lambda ~ U(0, 1) before clipping (mean 1/2); clipping at the border takes some off.
  CHECK(share / drawn > 0.2);
  CHECK(share / drawn < 0.5);
  // Another seed, other patches.
  int same = 0;
  for (int64_t step = 0; step < 50; ++step) {
    const Patch a = draw_patch(3, step, 1.0, S), b = draw_patch(4, step, 1.0, S);
    same += a.x0 == b.x0 && a.y0 == b.y0 && a.x1 == b.x1 && a.y1 == b.y1;
  }
  CHECK(same < 5);
}

TEST_CASE("train: cutmix pastes the partner's pixels inside the patch and nowhere else") {
  CHECK(partner_rows(3) == std::vector<int>{1, 2, 0});
  CHECK(partners_of(std::vector<int>{7, 8, 9}) == std::vector<int>{8, 9, 7});
  const Tensor x = random_tensor({2, 3, 8, 8}, 1), y = random_tensor({2, 3, 8, 8}, 2);
  const Patch p{2, 1, 5, 7};  // columns [2, 5), rows [1, 7)
  const Tensor z = paste_patch(x, y, p);
  REQUIRE(z.shape() == x.shape());
  for (int64_t i = 0; i < z.numel(); ++i) {
    const int64_t col = i % 8, row = (i / 8) % 8;
    const bool inside = col >= 2 && col < 5 && row >= 1 && row < 7;
    CHECK(z.data<float>()[i] == (inside ? y : x).data<float>()[i]);
  }
  CHECK_THROWS(paste_patch(x, y, Patch{0, 0, 9, 4}));  // wider than the images
  CHECK_THROWS(paste_patch(x, random_tensor({2, 3, 8, 7}, 3), p));
}

TEST_CASE("train: cutmix's patch box renders exactly the patch's pixels, flipped or not") {
  // A 40 x 50 image (H x W) of random bytes, seen through a 30 x 27 box at 24 x 24.
  const int H = 40, W = 50, S = 24;
  Rng rng(9);
  std::vector<uint8_t> img(size_t(H) * W * 3);
  for (auto& v : img) v = uint8_t(rng.below(256));
  const float mean[3] = {0, 0, 0}, sd[3] = {1, 1, 1};
  const Patch p{3, 5, 17, 13};  // 14 columns, 8 rows
  for (int flip : {0, 1}) {
    CAPTURE(flip);
    const cpu::ViewParams v{5.0f, 3.0f, 30.0f, 27.0f, flip};
    std::vector<float> full(size_t(3) * S * S), patch(size_t(3) * 8 * 14);
    cpu::augment(full.data(), img.data(), &v, 1, H, W, S, S, mean, sd);
    const cpu::ViewParams b = patch_box(v, p, S);
    cpu::augment(patch.data(), img.data(), &b, 1, H, W, 8, 14, mean, sd);
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 14; ++x)
          CHECK(patch[(size_t(ch) * 8 + y) * 14 + x] ==
                doctest::Approx(full[(size_t(ch) * S + size_t(p.y0 + y)) * S + size_t(p.x0 + x)]).epsilon(1e-5));
  }
}

TEST_CASE("train: cutmix's master target is the class map averaged over what the student sees") {
  // Two 30 x 60 images on 2 x 3 grids of 15 x 20 cells, every cell's logits distinct.
  const int H = 30, W = 60, S = 12;
  ClassMaps m;
  m.images = 2, m.gh = 2, m.gw = 3, m.classes = 2;
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        m.v.push_back(float(100 * i + 10 * y + x));
        m.v.push_back(float(7 * x - 3 * y * y + i));
      }
  // Boxes whose cells fall on whole output pixels at 12 x 12, so that a pixel-by-pixel average is
  // the exact area-weighted one: image 0 whole, image 1 its right two thirds mirrored.
  const std::vector<cpu::ViewParams> views = {{0, 0, 60, 30, 0}, {20, 0, 40, 30, 1}};
  const std::vector<int> idx = {0, 1};
  const Patch p{2, 3, 9, 10};
  // The oracle: which image and which cell every output pixel samples (kernels/augment.h's map).
  auto brute = [&](int r) {
    std::vector<double> acc(2, 0.0);
    for (int oy = 0; oy < S; ++oy)
      for (int ox = 0; ox < S; ++ox) {
        const bool inside = ox >= p.x0 && ox < p.x1 && oy >= p.y0 && oy < p.y1;
        const int q = inside ? 1 - r : r;  // the partner of row r in a batch of two
        const cpu::ViewParams& v = views[size_t(q)];
        const int oxp = v.flip ? S - 1 - ox : ox;
        const double sx = v.x0 + (oxp + 0.5) * v.w / S, sy = v.y0 + (oy + 0.5) * v.h / S;
        const float* z = m.cell(idx[size_t(q)], int(sy / 15), int(sx / 20));
        for (int k = 0; k < 2; ++k) acc[size_t(k)] += z[k] / double(S * S);
      }
    return acc;
  };
  const Tensor t = mixed_region_rows(m, idx, views, p, S, H, W, Device::CPU);
  REQUIRE(t.shape() == Shape{2, 2});
  for (int r = 0; r < 2; ++r) {
    const std::vector<double> want = brute(r);
    for (int k = 0; k < 2; ++k) CHECK(t.data<float>()[r * 2 + k] == doctest::Approx(want[size_t(k)]).epsilon(1e-5));
  }
  // No patch: the plain region targets.
  const Tensor plain = mixed_region_rows(m, idx, views, Patch{}, S, H, W, Device::CPU);
  const Tensor ref = region_rows(m, idx, views, H, W, nullptr, Device::CPU);
  CHECK(plain.to_vector() == ref.to_vector());
}

TEST_CASE("train: cutmix's mixed cross-entropy and its gradient weigh the two labels by area") {
  Tensor logits = random_tensor({4, 3}, 5);
  logits.set_requires_grad();
  const Tensor a = Tensor::from_vector({0, 2, 1, 1}, {4}, DType::I32), b = Tensor::from_vector({1, 2, 0, 2}, {4}, DType::I32);
  const double lambda = 0.3;
  Tensor loss = mixed_cross_entropy(logits, a, b, lambda);
  loss.backward();
  double want = 0;
  for (int r = 0; r < 4; ++r) {
    const float* z = logits.data<float>() + r * 3;
    double mx = std::max({z[0], z[1], z[2]}), se = 0;
    for (int k = 0; k < 3; ++k) se += std::exp(z[k] - mx);
    const double lse = mx + std::log(se);
    const int ya = int(a.to_vector()[size_t(r)]), yb = int(b.to_vector()[size_t(r)]);
    want += ((1 - lambda) * (lse - z[ya]) + lambda * (lse - z[yb])) / 4;
    // d/dz_k: (softmax_k - (1 - lambda) [k == ya] - lambda [k == yb]) / B
    for (int k = 0; k < 3; ++k) {
      const double g = (std::exp(z[k] - lse) - (1 - lambda) * (k == ya) - lambda * (k == yb)) / 4;
      CHECK(logits.grad().data<float>()[r * 3 + k] == doctest::Approx(g).epsilon(1e-5));
    }
  }
  CHECK(loss.item() == doctest::Approx(want).epsilon(1e-6));
  CHECK(mixed_cross_entropy(logits, a, b, 0.0).item() == doctest::Approx(cross_entropy(logits, a).item()));
}
