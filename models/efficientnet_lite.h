// efficientnet_lite.h: EfficientNet-Lite0/1/2 (Tan & Le 2019; the "lite" variants of the TF
// repository) with the parameter names of the PyTorch package efficientnet-lite-pytorch
// (lukemelas's EfficientNet-PyTorch layout), so its ImageNet weights load by name:
//   _conv_stem, _bn0, _blocks.<i>.{_expand_conv,_bn0,_depthwise_conv,_bn1,_project_conv,_bn2},
//   _conv_head, _bn1, _fc.
// Lite means: no squeeze-excite, ReLU6, stem (32) and head (1280) not width-scaled, the first and
// last stages' repeats not depth-scaled. BN eps 1e-3, momentum 0.01 (TF's 0.99). Convolutions use
// TensorFlow "SAME" padding computed from the actual input size (asymmetric for stride 2 on even
// sizes); the package's "static" padding, fixed at 224/240/260, agrees wherever sizes are even.
// Not here: dropout before _fc and drop-connect (both identity at inference, and this network
// serves as a frozen master), Lite3/4 (no weights checked).
// Tested in tests/ops/test_models.cpp (parameter count = the real lite0 file's; shapes); names
// and shapes of lite0/1/2 were checked against the package's .pth files.
//
//   Lite0 at 150x150 (Lite1/2: depth 1.1/1.2 -> repeats 1,3,3,4,4,5,1; Lite2 width 1.1)
//   stage      block               repeats  k  stride  expand  out (C x H x W)
//   stem       conv 3x3, BN, ReLU6    -      3    2       -     32 x 75 x 75
//   stage 1    MBConv                 1      3    1       1     16 x 75 x 75
//   stage 2    MBConv                 2      3    2       6     24 x 38 x 38
//   stage 3    MBConv                 2      5    2       6     40 x 19 x 19
//   stage 4    MBConv                 3      3    2       6     80 x 10 x 10
//   stage 5    MBConv                 3      5    1       6    112 x 10 x 10
//   stage 6    MBConv                 4      5    2       6    192 x  5 x  5
//   stage 7    MBConv                 1      3    1       6    320 x  5 x  5
//   head       conv 1x1, BN, ReLU6    -      1    1       -   1280 x  5 x  5
//   pool, fc   global average -> Linear(1280, num_classes)
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/layers.h"

namespace cudistill {

// A convolution with TensorFlow's "SAME" padding: output ceil(H / stride) x ceil(W / stride),
// total padding max((ceil(H/s) - 1) * s + k - H, 0), the smaller half on top/left. Symmetric
// cases go straight to conv2d's padding; asymmetric ones pad2d first. Its parameters are
// Conv2d's ("weight"), so names stay those of the PyTorch package.
class Conv2dSame : public Conv2d {
 public:
  Conv2dSame(int in, int out, int kernel, int stride, int groups, Rng& rng);
  Tensor forward(const Tensor& x) override;  // x: (N, in, H, W) -> (N, out, ceil(H/s), ceil(W/s))
};

// Mobile inverted bottleneck without squeeze-excite:
//   [1x1 expand -> BN -> ReLU6] (when expand != 1) -> depthwise kxk -> BN -> ReLU6
//   -> 1x1 project -> BN, plus the input when stride == 1 and in == out.
class MBConvBlock : public Module {
 public:
  MBConvBlock(int in, int out, int expand, int kernel, int stride, Rng& rng);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2dSame> expand_conv, depthwise_conv, project_conv;  // expand_conv may be null
  std::shared_ptr<BatchNorm2d> bn0, bn1, bn2;
  bool skip;
};

class EfficientNetLite : public Module {
 public:
  // variant: 0, 1 or 2. Initialisation: PyTorch's layer defaults, as the package leaves them.
  EfficientNetLite(int variant, int num_classes, uint64_t seed = 0);

  Tensor forward(const Tensor& x) override;  // x: (N, 3, H, W) -> logits (N, num_classes)
  Tensor feature_map(const Tensor& x);       // x: (N, 3, H, W) -> before the pool (N, 1280, H/32, W/32)
  Tensor features(const Tensor& x);          // x: (N, 3, H, W) -> pooled (N, 1280)
  Linear& head() { return *fc; }
  int feature_dim() const { return 1280; }

  std::shared_ptr<Conv2dSame> conv_stem, conv_head;
  std::shared_ptr<BatchNorm2d> bn0, bn1;
  std::shared_ptr<Sequential> blocks;  // _blocks.0 ... _blocks.N-1, flat as in the package
  std::shared_ptr<Linear> fc;
};

// The package's round_filters (width scaling, to multiples of 8, never 10% down) and
// round_repeats (ceil(depth * repeats)); public for tests.
int efficientnet_round_filters(int filters, double width);
int efficientnet_round_repeats(int repeats, double depth);

}  // namespace cudistill
