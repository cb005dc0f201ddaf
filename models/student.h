// student.h: the compact student family: a MobileNet-v1-style stack of depthwise-separable
// blocks, scaled by a width multiplier (channels) and a depth multiplier (blocks per stage).
// Not here: inverted residuals, squeeze-excite or skip connections (kept plain so that every
// layer is one of the engine's basic ops and the network is easy to read and profile).
// Tested in tests/ops/test_models.cpp (parameter and MAC budget at 150x150, shapes, a backward
// that reaches every parameter). Run: ./build/tests/test_ops -tc="models*"
//
// Default (width 1, depth 1), 6 classes, input 3 x 150 x 150: 140,966 parameters, 35.9 MMACs
// (35,912,832).
//   stage   layers                                      blocks  stride  out (C x H x W)
//   conv1   conv 3x3 -> BN -> ReLU                        -       2     16 x 75 x 75
//   layer1  [dw 3x3 -> BN -> ReLU -> pw 1x1 -> BN -> ReLU]  1       1     32 x 75 x 75
//   layer2  same                                          2       2     64 x 38 x 38
//   layer3  same                                          2       2    128 x 19 x 19
//   layer4  same                                          2       2    256 x 10 x 10
//   pool    global average                                -       -    256 features
//   fc      Linear(256, num_classes)
// Only the first block of a stage strides and changes the channel count.
// Scaling: channels = make_divisible(c * width, 8) (nearest multiple of 8, at least 8, never
// more than 10% below c * width: the MobileNet/EfficientNet rule); blocks = max(1, round(n * depth)).
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/layers.h"

namespace cudistill {

// Depthwise 3x3 (groups = C) -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU.
// x: (N, in, H, W) -> (N, out, ceil(H / stride), ceil(W / stride))
class SeparableBlock : public Module {
 public:
  SeparableBlock(int in, int out, int stride, Rng& rng);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv_dw, conv_pw;
  std::shared_ptr<BatchNorm2d> bn_dw, bn_pw;
};

struct StudentConfig {
  double width = 1.0;  // channel multiplier
  double depth = 1.0;  // block-count multiplier
};

class Student : public Module {
 public:
  Student(const StudentConfig& cfg, int num_classes, uint64_t seed = 0);

  Tensor forward(const Tensor& x) override;  // x: (N, 3, H, W) -> logits (N, num_classes)
  Tensor feature_map(const Tensor& x);       // x: (N, 3, H, W) -> before the pool (N, feature_dim(), h, w)
  Tensor features(const Tensor& x);          // x: (N, 3, H, W) -> pooled (N, feature_dim())
  Linear& head() { return *fc; }
  int feature_dim() const { return feature_dim_; }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<Sequential>> layers;  // registered as layer1, layer2, ...
  std::shared_ptr<Linear> fc;

 private:
  int feature_dim_;
};

// The scaling rules, public for tests and docs.
int make_divisible(double channels, int divisor = 8);
int scale_blocks(int blocks, double depth);

}  // namespace cudistill
