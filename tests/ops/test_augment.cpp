// test_augment.cpp: the CPU reference augmentation (kernels/cpu/augment.cpp) by hand: the
// identity view, the flip, upscaling a constant image, and one bilinear sample of a crop of a
// gradient image. The CUDA twin is tested against this reference in the CUDA suite.
// Run: ./build/tests/test_ops -tc="augment*"
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/augment.h"

using cudistill::cpu::augment;
using cudistill::cpu::ViewParams;

namespace {
// A deterministic (N, H, W, 3) image batch with every byte value different nearby.
std::vector<uint8_t> pattern_images(int N, int H, int W) {
  std::vector<uint8_t> img(size_t(N) * H * W * 3);
  for (size_t i = 0; i < img.size(); ++i) img[i] = uint8_t((i * 37 + 11) % 256);
  return img;
}
const float kMean[3] = {0.485f, 0.456f, 0.406f};
const float kStd[3] = {0.229f, 0.224f, 0.225f};
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("augment: the identity view reproduces the normalised pixels exactly") {
  const int N = 2, H = 5, W = 7;
  const std::vector<uint8_t> src = pattern_images(N, H, W);
  const std::vector<ViewParams> views(N, ViewParams{0.f, 0.f, float(W), float(H), 0});
  std::vector<float> dst(size_t(N) * 3 * H * W);
  augment(dst.data(), src.data(), views.data(), N, H, W, H, W, kMean, kStd);
  // Exact: the pixel centres map onto source pixels (fx = fy = 0), and a + 0 * (b - a) == a.
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const float p = src[((size_t(n) * H + y) * W + x) * 3 + c];
          CHECK(dst[((size_t(n) * 3 + c) * H + y) * W + x] == (p / 255.f - kMean[c]) / kStd[c]);
        }
}

TEST_CASE("augment: flip mirrors the columns") {
  const int N = 1, H = 4, W = 6;
  const std::vector<uint8_t> src = pattern_images(N, H, W);
  ViewParams plain{0.f, 0.f, float(W), float(H), 0}, flipped = plain;
  flipped.flip = 1;
  std::vector<float> a(size_t(3) * H * W), b(a.size());
  augment(a.data(), src.data(), &plain, N, H, W, H, W, kMean, kStd);
  augment(b.data(), src.data(), &flipped, N, H, W, H, W, kMean, kStd);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) CHECK(b[(size_t(c) * H + y) * W + x] == a[(size_t(c) * H + y) * W + (W - 1 - x)]);
}

TEST_CASE("augment: a 2x upscale of a constant image is constant") {
  const int H = 3, W = 5;
  std::vector<uint8_t> src(size_t(H) * W * 3);
  for (size_t i = 0; i < src.size(); i += 3) { src[i] = 200; src[i + 1] = 17; src[i + 2] = 0; }
  const ViewParams v{0.f, 0.f, float(W), float(H), 0};
  const float mean[3] = {0.f, 0.f, 0.f}, stdv[3] = {1.f, 1.f, 1.f};
  std::vector<float> dst(size_t(3) * 2 * H * 2 * W);
  augment(dst.data(), src.data(), &v, 1, H, W, 2 * H, 2 * W, mean, stdv);
  const float want[3] = {200.f / 255.f, 17.f / 255.f, 0.f};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4 * H * W; ++i) CHECK(dst[size_t(c) * 4 * H * W + i] == want[c]);
}

TEST_CASE("augment: a crop of a gradient image samples the hand-computed bilinear value") {
  // pixel (x, y), channel c = 10x + 20y + c: bilinear interpolation reproduces a linear image.
  const int H = 6, W = 8;
  std::vector<uint8_t> src(size_t(H) * W * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) src[(size_t(y) * W + x) * 3 + c] = uint8_t(10 * x + 20 * y + c);
  // Box x0 = 1, y0 = 2, w = 3, h = 3 resized to 2x2. Output pixel (oy, ox) = (0, 1):
  //   sx = 1 + (1 + 0.5) * 3 / 2 - 0.5 = 2.75,   sy = 2 + (0 + 0.5) * 3 / 2 - 0.5 = 2.25
  //   value = 10 * 2.75 + 20 * 2.25 + c = 72.5 + c
  const ViewParams v{1.f, 2.f, 3.f, 3.f, 0};
  const float mean[3] = {0.f, 0.f, 0.f}, stdv[3] = {1.f, 1.f, 1.f};
  std::vector<float> dst(size_t(3) * 2 * 2);
  augment(dst.data(), src.data(), &v, 1, H, W, 2, 2, mean, stdv);
  // Tolerance: a few float roundings of values below 256, divided by 255.
  for (int c = 0; c < 3; ++c)
    CHECK(dst[size_t(c) * 4 + 0 * 2 + 1] == doctest::Approx((72.5 + c) / 255.0).epsilon(1e-6));
  // Flipped, the same sample shows at ox = 0.
  ViewParams vf = v;
  vf.flip = 1;
  augment(dst.data(), src.data(), &vf, 1, H, W, 2, 2, mean, stdv);
  for (int c = 0; c < 3; ++c)
    CHECK(dst[size_t(c) * 4 + 0 * 2 + 0] == doctest::Approx((72.5 + c) / 255.0).epsilon(1e-6));
}

TEST_CASE("augment: a box past the border repeats the edge pixels") {
  // Coordinates are clamped to the image, so a box entirely left of it samples column 0.
  const int H = 2, W = 3;
  const std::vector<uint8_t> src = pattern_images(1, H, W);
  const ViewParams v{-10.f, 0.f, 2.f, float(H), 0};
  const float mean[3] = {0.f, 0.f, 0.f}, stdv[3] = {1.f, 1.f, 1.f};
  std::vector<float> dst(size_t(3) * H * 2);
  augment(dst.data(), src.data(), &v, 1, H, W, H, 2, mean, stdv);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < 2; ++x)
        CHECK(dst[(size_t(c) * H + y) * 2 + x] == float(src[(size_t(y) * W + 0) * 3 + c]) / 255.f);
}
}
