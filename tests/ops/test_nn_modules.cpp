// test_nn_modules.cpp: Module naming (torchvision-style dotted state-dict names), parameter
// counting, train/eval propagation, freezing, apply's visiting order, and the MAC counter.
// Run: ./build/tests/test_ops -tc="nn:*"
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/nn/layers.h"
#include "engine/ops/macs.h"
#include "engine/ops/ops.h"

using namespace cudistill;

namespace {
// conv -> bn -> relu, the way torchvision nests a stem inside a model
struct Stem : Module {
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
  explicit Stem(Rng& rng) {
    conv = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions{3, 8, 3, 2, 1}, rng));
    bn = register_module("bn1", std::make_shared<BatchNorm2d>(8));
  }
  Tensor forward(const Tensor& x) override { return relu(bn->forward(conv->forward(x))); }
};
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("nn: state-dict names, counts and bytes") {
  Rng rng(1);
  Sequential net;
  net.add(std::make_shared<Stem>(rng)).add(std::make_shared<Linear>(8, 4, rng));
  auto st = net.state();
  std::vector<std::string> names;
  for (auto& [n, t] : st) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.bn1.bias", "0.bn1.num_batches_tracked", "0.bn1.running_mean",
                                          "0.bn1.running_var", "0.bn1.weight", "0.conv1.weight", "1.bias",
                                          "1.weight"});
  // parameters: conv 8*3*3*3, bn 8+8, linear 8*4+4; buffers are not parameters
  CHECK(net.num_parameters() == 216 + 16 + 36);
  CHECK(net.parameters().size() == 5);
  CHECK(net.state_bytes() == 4 * (216 + 16 + 36 + 8 + 8 + 1));
  // the pointers in state() are the module's own tensors: assigning through them loads weights
  *st["1.bias"] = Tensor::from_vector({1, 2, 3, 4}, {4});
  CHECK(net.state()["1.bias"]->at({2}) == 3);
}

TEST_CASE("nn: train/eval reaches every child; freezing stops gradients") {
  Rng rng(2);
  auto stem = std::make_shared<Stem>(rng);
  Sequential net;
  net.add(stem);
  net.eval();
  CHECK_FALSE(stem->bn->training());
  net.train();
  CHECK(stem->bn->training());
  Tensor x = Tensor::randn({2, 3, 9, 9}, rng);
  sum(net.forward(x)).backward();
  for (const Tensor& p : net.parameters()) CHECK(p.grad().defined());
  net.set_requires_grad(false);
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
  CHECK_FALSE(net.forward(x).requires_grad());  // a frozen network records no graph
}

TEST_CASE("nn: apply visits the module, then every descendant in registration order") {
  Rng rng(3);
  auto a = std::make_shared<Stem>(rng), b = std::make_shared<Stem>(rng);
  Sequential net;
  net.add(a).add(b);
  std::vector<Module*> seen;
  net.apply([&](Module& m) { seen.push_back(&m); });
  const std::vector<Module*> want = {&net, a.get(), a->conv.get(), a->bn.get(), b.get(), b->conv.get(), b->bn.get()};
  CHECK(seen == want);
}

TEST_CASE("nn: MacCounter counts conv and linear multiply-accumulates") {
  Rng rng(3);
  Conv2d conv(Conv2dOptions{3, 8, 3, 2, 1}, rng);
  Linear fc(8, 4, rng);
  MacCounter outer;
  {
    MacCounter inner;
    NoGrad ng;
    Tensor y = conv.forward(Tensor::zeros({1, 3, 10, 10}));  // -> (1, 8, 5, 5)
    fc.forward(global_avg_pool(y));
    CHECK(inner.total() == 8 * 5 * 5 * 3 * 3 * 3 + 8 * 4);
  }
  CHECK(outer.total() == 8 * 5 * 5 * 3 * 3 * 3 + 8 * 4);  // nested counters both see it
  fc.forward(Tensor::zeros({2, 8}));
  CHECK(outer.total() == 8 * 5 * 5 * 27 + 32 + 2 * 32);
}
}
