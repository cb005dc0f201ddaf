// resnet.cpp: torchvision's ResNet (torchvision/models/resnet.py) in cudistill modules.
// Registration order follows torchvision's __init__ so that named_parameters() lists tensors
// in the same order as a torchvision state dict.
#include "models/resnet.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/ops.h"

namespace cudistill {

namespace {

// torchvision: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"), i.e.
// N(0, 2 / fan_out) with fan_out = out_channels * k * k (PyTorch does not divide by groups).
// Written in place with both values of each Box-Muller pair: ResNet152 draws 58M normals, and
// Rng::normal() (one value per call) made its construction take seconds.
void kaiming_fan_out(Conv2d& conv, Rng& rng) {
  Tensor& w = conv.weight();
  const int64_t fan_out = w.size(0) * w.size(2) * w.size(3);
  const double sd = std::sqrt(2.0 / double(fan_out));
  float* p = w.data<float>();
  const int64_t n = w.numel();
  for (int64_t i = 0; i < n; i += 2) {
    const double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
    const double r = sd * std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
    p[i] = float(r * std::cos(t));
    if (i + 1 < n) p[i + 1] = float(r * std::sin(t));
  }
}

std::shared_ptr<Conv2d> conv(int in, int out, int k, int stride, Rng& rng) {
  auto c = std::make_shared<Conv2d>(Conv2dOptions{in, out, k, stride, k / 2}, rng);
  kaiming_fan_out(*c, rng);
  return c;
}

// torchvision's `downsample`: a strided 1x1 conv and BN on the shortcut, when the block changes
// the resolution or the channel count; named downsample.0 / downsample.1.
std::shared_ptr<Sequential> make_downsample(int in, int out, int stride, Rng& rng) {
  if (stride == 1 && in == out) return nullptr;
  auto ds = std::make_shared<Sequential>();
  ds->add(conv(in, out, 1, stride, rng)).add(std::make_shared<BatchNorm2d>(out));
  return ds;
}

// torchvision's _make_layer: the first block carries the stride and the channel change.
template <typename Block>
std::shared_ptr<Sequential> make_layer(int& in, int planes, int blocks, int stride, Rng& rng) {
  auto layer = std::make_shared<Sequential>();
  for (int i = 0; i < blocks; ++i) {
    layer->add(std::make_shared<Block>(in, planes, i == 0 ? stride : 1, rng));
    in = planes * Block::kExpansion;
  }
  return layer;
}

}  // namespace

BasicBlock::BasicBlock(int in, int planes, int stride, Rng& rng) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride, rng));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, rng));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (auto ds = make_downsample(in, planes * kExpansion, stride, rng)) downsample = register_module("downsample", ds);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = bn1->forward_relu(conv1->forward(x));
  out = bn2->forward(conv2->forward(out));
  return relu(add(out, downsample ? downsample->forward(x) : x));
}

Bottleneck::Bottleneck(int in, int planes, int stride, Rng& rng) {
  conv1 = register_module("conv1", conv(in, planes, 1, 1, rng));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, rng));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, rng));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * kExpansion));
  if (auto ds = make_downsample(in, planes * kExpansion, stride, rng)) downsample = register_module("downsample", ds);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = bn1->forward_relu(conv1->forward(x));
  out = bn2->forward_relu(conv2->forward(out));
  out = bn3->forward(conv3->forward(out));
  return relu(add(out, downsample ? downsample->forward(x) : x));
}

ResNet::ResNet(int depth, int num_classes, uint64_t seed) : depth_(depth) {
  struct Config { int depth; bool bottleneck; int blocks[4]; };
  static const Config kConfigs[] = {{18, false, {2, 2, 2, 2}},  {34, false, {3, 4, 6, 3}},
                                    {50, true, {3, 4, 6, 3}},   {101, true, {3, 4, 23, 3}},
                                    {152, true, {3, 8, 36, 3}}};
  const Config* cfg = nullptr;
  for (const Config& c : kConfigs)
    if (c.depth == depth) cfg = &c;
  USER_CHECK(cfg, "ResNet depth ", depth, " is not one of 18, 34, 50, 101, 152");
  USER_CHECK(num_classes >= 1, "ResNet: num_classes must be >= 1, got ", num_classes);

  Rng rng(seed);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions{3, 64, 7, 2, 3}, rng));
  kaiming_fan_out(*conv1, rng);
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
  int in = 64;
  const int planes[4] = {64, 128, 256, 512};
  std::shared_ptr<Sequential>* layers[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < 4; ++i) {
    const int stride = i == 0 ? 1 : 2;
    auto layer = cfg->bottleneck ? make_layer<Bottleneck>(in, planes[i], cfg->blocks[i], stride, rng)
                                 : make_layer<BasicBlock>(in, planes[i], cfg->blocks[i], stride, rng);
    *layers[i] = register_module("layer" + std::to_string(i + 1), layer);
  }
  feature_dim_ = in;
  fc = register_module("fc", std::make_shared<Linear>(in, num_classes, rng));
}

Tensor ResNet::feature_map(const Tensor& x) {
  Tensor h = bn1->forward_relu(conv1->forward(x));
  h = max_pool2d(h, 3, 2, 1);
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(h))));
}

// torchvision's AdaptiveAvgPool2d(1) + flatten
Tensor ResNet::features(const Tensor& x) { return global_avg_pool(feature_map(x)); }

Tensor ResNet::forward(const Tensor& x) { return fc->forward(features(x)); }

}  // namespace cudistill
