// test_checkpoint.cpp: load_state's name and shape checks (each offending tensor named), the
// DataParallel prefix, int -> float counters, and the safetensors checkpoint round trip.
// Run: ./build/tests/test_ops -tc="checkpoint*"
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine/io/checkpoint.h"
#include "engine/nn/layers.h"

using namespace cudistill;

namespace {
std::shared_ptr<Sequential> tiny(uint64_t seed) {
  Rng rng(seed);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Conv2d>(Conv2dOptions{3, 4, 3, 1, 1}, rng))
      .add(std::make_shared<BatchNorm2d>(4))
      .add(std::make_shared<Linear>(4, 2, rng));
  return net;
}

std::vector<std::pair<std::string, Tensor>> state_of(Module& m) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [n, t] : m.state()) out.emplace_back(n, t->detach());
  return out;
}

std::string error_of(Module& m, const std::vector<std::pair<std::string, Tensor>>& t) {
  try {
    load_state(m, t, "file.pth");
  } catch (const Error& e) {
    CHECK(e.user_error());
    return e.what();
  }
  return "";
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("checkpoint: load_state names every missing, leftover and mis-shaped tensor") {
  auto a = tiny(1), b = tiny(2);
  auto t = state_of(*a);
  load_state(*b, t, "file.pth");  // a perfect fit loads
  CHECK(b->state()["0.weight"]->to_vector() == a->state()["0.weight"]->to_vector());

  auto missing = t;
  missing.erase(missing.begin());  // drops "0.weight"
  missing.push_back({"extra.weight", Tensor::zeros({1})});
  for (auto& [n, x] : missing)
    if (n == "2.weight") x = Tensor::zeros({3, 4});
  std::string msg = error_of(*b, missing);
  CHECK(msg.find("file.pth") != std::string::npos);
  CHECK(msg.find("missing from the file: 0.weight") != std::string::npos);
  CHECK(msg.find("in the file but not in the model: extra.weight") != std::string::npos);
  CHECK(msg.find("shape mismatch: 2.weight (3, 4) vs the model's (2, 4)") != std::string::npos);
}

TEST_CASE("checkpoint: DataParallel prefixes and integer counters") {
  auto a = tiny(3), b = tiny(4);
  std::vector<std::pair<std::string, Tensor>> t;
  for (auto& [n, x] : state_of(*a)) {
    Tensor v = n == "1.num_batches_tracked" ? Tensor::from_vector({7}, {}, DType::I32) : x;
    t.emplace_back("module." + n, v);
  }
  load_state(*b, t, "dp.pth");
  CHECK(b->state()["1.num_batches_tracked"]->dtype() == DType::F32);
  CHECK(b->state()["1.num_batches_tracked"]->item() == 7);
  CHECK(b->state()["2.weight"]->requires_grad());  // parameters stay trainable after a load
}

TEST_CASE("checkpoint: save and load round trip with metadata") {
  char dir[] = "/tmp/cudistill-ckpt-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/m.safetensors";
  auto a = tiny(5), b = tiny(6);
  save_checkpoint(*a, path, {{"arch", "tiny"}, {"classes", "[\"x\", \"y\"]"}});
  auto meta = load_checkpoint(*b, path);
  CHECK(meta.at("arch") == "tiny");
  CHECK(read_checkpoint_metadata(path).at("classes") == "[\"x\", \"y\"]");
  for (auto& [n, t] : a->state()) CHECK(b->state()[n]->to_vector() == t->to_vector());
  // a checkpoint of another shape is refused by name
  Rng rng(7);
  Sequential other;
  other.add(std::make_shared<Linear>(5, 2, rng));
  CHECK_THROWS_AS(load_checkpoint(other, path), Error);
  std::remove(path.c_str());
  rmdir(dir);
}
}
