// resnet.h: ResNet-18/34/50/101/152 exactly as torchvision builds them (v1.5: a Bottleneck
// downsamples in its 3x3 conv), with torchvision's parameter names, so that its ImageNet
// checkpoints load by name (`layer3.17.conv2.weight`, `layer2.0.downsample.1.running_var`).
// Not here: the width-per-group / groups variants (ResNeXt, wide ResNet), dilation, or
// zero-init-residual; nor any weight loading (apps/convert, engine/io).
// Tested in tests/ops/test_models.cpp: parameter counts equal torchvision's, MACs at 150x150,
// output and feature shapes. Run: ./build/tests/test_ops -tc="models*"
//
//   stage     block (x count per depth: 18 / 34 / 50 / 101 / 152)             out at 150x150
//   conv1     7x7/2, 64, BN, ReLU                                              64 x 75 x 75
//   maxpool   3x3/2, pad 1                                                     64 x 38 x 38
//   layer1    [3x3 64, 3x3 64] (Basic) or [1x1 64, 3x3 64, 1x1 256] (Bottle.)  x 2/3/3/3/3
//   layer2    first block stride 2, 128 (x4 in Bottleneck)                     x 2/4/4/4/8
//   layer3    first block stride 2, 256                                        x 2/6/6/23/36
//   layer4    first block stride 2, 512                                        x 2/3/3/3/3  -> 5 x 5
//   avgpool   global, -> 512 (Basic) or 2048 (Bottleneck) features
//   fc        Linear(features, num_classes)
#pragma once
#include <memory>

#include "engine/nn/layers.h"

namespace cudistill {

// Two 3x3 convs (ResNet-18/34). x: (N, in, H, W) -> (N, planes, H/stride, W/stride)
class BasicBlock : public Module {
 public:
  static constexpr int kExpansion = 1;
  BasicBlock(int in, int planes, int stride, Rng& rng);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Sequential> downsample;  // 1x1 conv + BN; null when the shapes already agree
};

// 1x1 reduce, 3x3 (carries the stride: v1.5), 1x1 expand by 4 (ResNet-50/101/152).
// x: (N, in, H, W) -> (N, 4*planes, H/stride, W/stride)
class Bottleneck : public Module {
 public:
  static constexpr int kExpansion = 4;
  Bottleneck(int in, int planes, int stride, Rng& rng);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<Sequential> downsample;
};

class ResNet : public Module {
 public:
  // depth: 18, 34, 50, 101 or 152. Initialisation as torchvision's: Kaiming-normal (fan_out)
  // convs, BN weight 1 / bias 0, PyTorch's default Linear.
  ResNet(int depth, int num_classes, uint64_t seed = 0);

  Tensor forward(const Tensor& x) override;  // x: (N, 3, H, W) -> logits (N, num_classes)
  Tensor feature_map(const Tensor& x);       // x: (N, 3, H, W) -> layer4 (N, feature_dim(), h, w)
  Tensor features(const Tensor& x);          // x: (N, 3, H, W) -> pooled (N, feature_dim())
  Linear& head() { return *fc; }
  int feature_dim() const { return feature_dim_; }
  int depth() const { return depth_; }

  // Public like torchvision's attributes, so that tools can run or inspect one stage.
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<Linear> fc;

 private:
  int depth_, feature_dim_;
};

}  // namespace cudistill
