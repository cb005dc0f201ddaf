// efficientnet_lite.cpp: EfficientNet-Lite0/1/2 (see efficientnet_lite.h). Block construction
// mirrors efficientnet_lite_pytorch/model.py (EfficientNet.__init__), including its lite rules:
// stage 0 takes the unscaled 32-channel stem as input, and stages 0 and 6 keep their repeats.
#include "models/efficientnet_lite.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "engine/ops/ops.h"

namespace cudistill {

namespace {

// TF's batch_norm_momentum 0.99 is PyTorch's momentum 1 - 0.99.
constexpr double kBnEps = 1e-3, kBnMomentum = 0.01;

std::shared_ptr<BatchNorm2d> bn(int c) { return std::make_shared<BatchNorm2d>(c, kBnEps, kBnMomentum); }

// The block strings r<repeats>_k<kernel>_s<stride><stride>_e<expand>_i<in>_o<out> of the lite
// builder, before width/depth scaling.
struct StageArgs { int repeats, kernel, stride, expand, in, out; };
constexpr StageArgs kStages[] = {
    {1, 3, 1, 1, 32, 16},  {2, 3, 2, 6, 16, 24},   {2, 5, 2, 6, 24, 40},   {3, 3, 2, 6, 40, 80},
    {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192}, {1, 3, 1, 6, 192, 320},
};

// TF's SAME rule for one dimension: (padding before, padding after).
std::pair<int, int> same_pad(int size, int k, int s) {
  const int out = (size + s - 1) / s;
  const int total = std::max((out - 1) * s + k - size, 0);
  return {total / 2, total - total / 2};
}

}  // namespace

int efficientnet_round_filters(int filters, double width) {
  const double f = filters * width;
  int c = std::max(8, int(f + 4.0) / 8 * 8);
  if (c < 0.9 * f) c += 8;
  return c;
}

int efficientnet_round_repeats(int repeats, double depth) { return int(std::ceil(depth * repeats)); }

Conv2dSame::Conv2dSame(int in, int out, int kernel, int stride, int groups, Rng& rng)
    : Conv2d(Conv2dOptions{in, out, kernel, stride, 0, groups}, rng) {}

Tensor Conv2dSame::forward(const Tensor& x) {
  ENGINE_CHECK(x.ndim() == 4, "Conv2dSame: x ", shape_str(x.shape()), " must be (N, C, H, W)");
  const Conv2dOptions& o = options();
  auto [top, bottom] = same_pad(int(x.size(2)), o.kernel, o.stride);
  auto [left, right] = same_pad(int(x.size(3)), o.kernel, o.stride);
  if (top == bottom && left == right && top == left)  // symmetric: conv2d pads for free
    return conv2d(x, weight(), Tensor(), o.stride, top, o.groups);
  return conv2d(pad2d(x, top, bottom, left, right), weight(), Tensor(), o.stride, 0, o.groups);
}

MBConvBlock::MBConvBlock(int in, int out, int expand, int kernel, int stride, Rng& rng)
    : skip(stride == 1 && in == out) {
  const int mid = in * expand;
  if (expand != 1) {
    expand_conv = register_module("_expand_conv", std::make_shared<Conv2dSame>(in, mid, 1, 1, 1, rng));
    bn0 = register_module("_bn0", bn(mid));
  }
  depthwise_conv = register_module("_depthwise_conv", std::make_shared<Conv2dSame>(mid, mid, kernel, stride, mid, rng));
  bn1 = register_module("_bn1", bn(mid));
  project_conv = register_module("_project_conv", std::make_shared<Conv2dSame>(mid, out, 1, 1, 1, rng));
  bn2 = register_module("_bn2", bn(out));
}

Tensor MBConvBlock::forward(const Tensor& x) {
  Tensor h = x;
  if (expand_conv) h = relu6(bn0->forward(expand_conv->forward(h)));
  h = relu6(bn1->forward(depthwise_conv->forward(h)));
  h = bn2->forward(project_conv->forward(h));  // linear bottleneck: no activation
  return skip ? add(h, x) : h;
}

EfficientNetLite::EfficientNetLite(int variant, int num_classes, uint64_t seed) {
  // (width, depth) coefficients of efficientnet_lite_builder.py
  static const double kCoeffs[][2] = {{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}};
  USER_CHECK(variant >= 0 && variant <= 2, "EfficientNet-Lite", variant, " is not supported (0, 1 or 2)");
  USER_CHECK(num_classes >= 1, "EfficientNet-Lite: num_classes must be >= 1, got ", num_classes);
  const double width = kCoeffs[variant][0], depth = kCoeffs[variant][1];
  constexpr int kStem = 32, kHead = 1280;  // fixed in the lite variants
  const int last = int(std::size(kStages)) - 1;

  Rng rng(seed);
  conv_stem = register_module("_conv_stem", std::make_shared<Conv2dSame>(3, kStem, 3, 2, 1, rng));
  bn0 = register_module("_bn0", bn(kStem));
  blocks = register_module("_blocks", std::make_shared<Sequential>());
  int in = kStem;
  for (int i = 0; i <= last; ++i) {
    const StageArgs& a = kStages[i];
    const int out = efficientnet_round_filters(a.out, width);
    const bool fixed = i == 0 || i == last;
    const int repeats = fixed ? a.repeats : efficientnet_round_repeats(a.repeats, depth);
    // in == round_filters(a.in) for every stage but the first, whose input is the fixed stem.
    for (int r = 0; r < repeats; ++r) {
      blocks->add(std::make_shared<MBConvBlock>(in, out, a.expand, a.kernel, r == 0 ? a.stride : 1, rng));
      in = out;
    }
  }
  conv_head = register_module("_conv_head", std::make_shared<Conv2dSame>(in, kHead, 1, 1, 1, rng));
  bn1 = register_module("_bn1", bn(kHead));
  fc = register_module("_fc", std::make_shared<Linear>(kHead, num_classes, rng));
}

Tensor EfficientNetLite::feature_map(const Tensor& x) {
  Tensor h = relu6(bn0->forward(conv_stem->forward(x)));
  h = blocks->forward(h);
  return relu6(bn1->forward(conv_head->forward(h)));
}

Tensor EfficientNetLite::features(const Tensor& x) { return global_avg_pool(feature_map(x)); }

Tensor EfficientNetLite::forward(const Tensor& x) { return fc->forward(features(x)); }

}  // namespace cudistill
