// test_golden_convert.cpp: torchvision checkpoints as users download them (torch.save zip files,
// 233 MB for ResNet152), read by the engine's own .pth reader, checked by load_state, and run:
// the logits must match torchvision's (max |diff| < 1e-3). The files are made on a machine with
// torch by weights/make_conversion_check.py (tests/gpu/run.sh does it); this case runs when
// CUDISTILL_CONVERSION_DIR points to them and says it skipped otherwise.
// Run: CUDISTILL_CONVERSION_DIR=/tmp/conv ./build/tests/test_ops -tc="golden: converted*"
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "engine/autograd.h"
#include "engine/io/checkpoint.h"
#include "engine/io/pth.h"
#include "fixture.h"
#include "models/registry.h"

using namespace cudistill;

TEST_SUITE("ops") {
TEST_CASE("golden: converted torchvision checkpoints reproduce torchvision's logits") {
  const char* dir = std::getenv("CUDISTILL_CONVERSION_DIR");
  if (!dir) {
    MESSAGE("skipped: set CUDISTILL_CONVERSION_DIR (made by weights/make_conversion_check.py, which needs torch)");
    return;
  }
  for (const char* arch : {"resnet18", "resnet152"}) {
    const std::string arch_name = arch;
    CAPTURE(arch_name);
    const std::string base = std::string(dir) + "/" + arch;
    ModelSpec spec;
    spec.arch = arch;
    ModulePtr model = make_model(spec);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (PthTensor& t : read_pth(base + ".pth").tensors) tensors.emplace_back(t.name, t.tensor);
    load_state(*model, tensors, base + ".pth");
    model->eval();
    auto io = test::read_fixture(base + "_io.cdfx");
    NoGrad no_grad;
    std::vector<double> got = model->forward(io.at("input")).to_vector(), ref = io.at("logits").to_vector();
    REQUIRE(got.size() == ref.size());
    double diff = 0;
    for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::fabs(got[i] - ref[i]));
    MESSAGE(std::string(arch), ": max |engine - torchvision| = ", diff);
    CHECK(diff < 1e-3);
  }
}
}
