// student.cpp: the compact depthwise-separable student (the stage table is in student.h).
#include "models/student.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "engine/ops/ops.h"

namespace cudistill {

namespace {

// The stage table of student.h at width 1, depth 1.
struct Stage { int channels, blocks, stride; };
constexpr int kStem = 16;
constexpr Stage kStages[] = {{32, 1, 1}, {64, 2, 2}, {128, 2, 2}, {256, 2, 2}};

// As torchvision's MobileNet: Kaiming-normal (fan_out) conv weights; BN keeps weight 1, bias 0.
// fan_out = out_channels * k * k, also for depthwise convs (PyTorch's convention).
void kaiming_fan_out(Conv2d& conv, Rng& rng) {
  Tensor& w = conv.weight();
  const int64_t fan_out = w.size(0) * w.size(2) * w.size(3);
  Tensor r = Tensor::randn(w.shape(), rng, std::sqrt(2.0 / double(fan_out)));
  std::copy(r.data<float>(), r.data<float>() + r.numel(), w.data<float>());
}

std::shared_ptr<Conv2d> conv(const Conv2dOptions& o, Rng& rng) {
  auto c = std::make_shared<Conv2d>(o, rng);
  kaiming_fan_out(*c, rng);
  return c;
}

}  // namespace

int make_divisible(double channels, int divisor) {
  int c = std::max(divisor, int(channels + divisor / 2.0) / divisor * divisor);
  if (c < 0.9 * channels) c += divisor;  // never round down by more than 10%
  return c;
}

int scale_blocks(int blocks, double depth) { return std::max(1, int(std::lround(blocks * depth))); }

SeparableBlock::SeparableBlock(int in, int out, int stride, Rng& rng) {
  conv_dw = register_module("conv_dw", conv(Conv2dOptions{in, in, 3, stride, 1, in}, rng));
  bn_dw = register_module("bn_dw", std::make_shared<BatchNorm2d>(in));
  conv_pw = register_module("conv_pw", conv(Conv2dOptions{in, out, 1}, rng));
  bn_pw = register_module("bn_pw", std::make_shared<BatchNorm2d>(out));
}

Tensor SeparableBlock::forward(const Tensor& x) {
  Tensor h = bn_dw->forward_relu(conv_dw->forward(x));
  return bn_pw->forward_relu(conv_pw->forward(h));
}

Student::Student(const StudentConfig& cfg, int num_classes, uint64_t seed) {
  USER_CHECK(cfg.width > 0 && cfg.depth > 0, "student: width (", cfg.width, ") and depth (", cfg.depth,
             ") multipliers must be > 0");
  USER_CHECK(num_classes >= 1, "student: num_classes must be >= 1, got ", num_classes);
  Rng rng(seed);
  int in = make_divisible(kStem * cfg.width);
  conv1 = register_module("conv1", conv(Conv2dOptions{3, in, 3, 2, 1}, rng));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(in));
  for (size_t i = 0; i < std::size(kStages); ++i) {
    const int out = make_divisible(kStages[i].channels * cfg.width);
    auto layer = std::make_shared<Sequential>();
    for (int b = 0; b < scale_blocks(kStages[i].blocks, cfg.depth); ++b) {
      layer->add(std::make_shared<SeparableBlock>(in, out, b == 0 ? kStages[i].stride : 1, rng));
      in = out;
    }
    layers.push_back(register_module("layer" + std::to_string(i + 1), layer));
  }
  feature_dim_ = in;
  fc = register_module("fc", std::make_shared<Linear>(in, num_classes, rng));
}

Tensor Student::feature_map(const Tensor& x) {
  Tensor h = bn1->forward_relu(conv1->forward(x));
  for (auto& layer : layers) h = layer->forward(h);
  return h;
}

Tensor Student::features(const Tensor& x) { return global_avg_pool(feature_map(x)); }

Tensor Student::forward(const Tensor& x) { return fc->forward(features(x)); }

}  // namespace cudistill
