// test_golden_models.cpp: the engine's networks against PyTorch's on golden fixtures.
// ResNet18 and ResNet152 get the formula weights of weights/make_resnet_fixtures.py (rebuilt here,
// never stored) and must reproduce torchvision's logits. Tolerance: max |diff| < 1e-3 (the
// issue's bound); float32 sums of ~5 GMACs in another order land around 1e-5 here.
// Run: ./build/tests/test_ops -tc="golden*"
#include <doctest/doctest.h>

#include <cmath>

#include "engine/autograd.h"
#include "fixture.h"
#include "models/registry.h"

using namespace cudistill;

namespace {
Tensor formula_input(int n, int size) {
  std::vector<double> u = test::formula_values("input", int64_t(n) * 3 * size * size);
  for (double& v : u) v = double(float((v - 0.5) * 4));
  return Tensor::from_vector(u, {n, 3, size, size});
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("golden: ResNet18 and ResNet152 reproduce torchvision's logits") {
  for (const char* arch : {"resnet18", "resnet152"}) {
    const std::string arch_name = arch;
    CAPTURE(arch_name);
    ModelSpec spec;
    spec.arch = arch;
    ModulePtr model = make_model(spec);
    model->eval();
    auto state = model->state();
    test::fill_formula_weights(state);
    NoGrad no_grad;
    Tensor logits = model->forward(formula_input(2, 150));
    Tensor ref = test::read_fixture(std::string(CUDISTILL_FIXTURES) + "/" + arch + "_logits.cdfx").at("logits");
    const double diff = max_abs_diff(logits, ref);
    MESSAGE(std::string(arch), ": max |engine - torchvision| = ", diff);
    CHECK(diff < 1e-3);
  }
}
}
