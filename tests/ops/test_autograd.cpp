// test_autograd.cpp: the backward pass: shared subexpressions, accumulation across backward()
// calls, zero_grad, detach, NoGrad, the second-backward error, freeing of non-leaf gradients and
// saved buffers, float64 finite-difference gradients through views, and a 2000-op deep chain.
// Run: ./build-b/tests/test_ops -tc="autograd:*"
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "engine/autograd.h"
#include "engine/ops/ops.h"
#include "gradcheck.h"

using namespace cudistill;
using cudistill::test::check_gradients;
using cudistill::test::leaf;
using cudistill::test::project;

namespace {
Tensor f64_leaf(const std::vector<double>& v, const Shape& shape) {
  Tensor t = Tensor::from_vector(v, shape, DType::F64);
  t.set_requires_grad(true);
  return t;
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("autograd: a shared subexpression gets both gradient contributions") {
  // y = sum(x*x + x): x is used three times; dy/dx = 2x + 1. Values are exact in float64.
  Tensor x = f64_leaf({-2, -0.5, 0, 1.5, 3}, {5});
  Tensor y = sum(add(mul(x, x), x));
  CHECK(y.item() == doctest::Approx(4 + 0.25 + 0 + 2.25 + 9 + (-2 - 0.5 + 0 + 1.5 + 3)));
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(x.is_leaf());
  CHECK_FALSE(x.grad().defined());  // nothing before backward
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().shape() == x.shape());
  CHECK(x.grad().to_vector() == std::vector<double>{-3, 0, 1, 4, 7});

  // A diamond: h = 3x feeds both branches of z = sum(h*h + 2h) -> dz/dx = 3(2h + 2) = 18x + 6
  Tensor x2 = f64_leaf({1, -1}, {2});
  Tensor h = scale(x2, 3);
  sum(add(mul(h, h), scale(h, 2))).backward();
  CHECK(x2.grad().to_vector() == std::vector<double>{24, -12});
}

TEST_CASE("autograd: gradients accumulate across backward() calls; zero_grad resets") {
  Tensor x = f64_leaf({1, 2, 3}, {3});
  sum(mul(x, x)).backward();                  // 2x
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
  sum(scale(x, 3)).backward();                // + 3, from a separate graph
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});

  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(scale(x, -1)).backward();               // starts again from 0
  CHECK(x.grad().to_vector() == std::vector<double>{-1, -1, -1});

  // backward with an explicit upstream gradient on a non-scalar output
  Tensor w = f64_leaf({1, 2}, {2});
  scale(w, 2).backward(Tensor::from_vector({10, -1}, {2}, DType::F64));
  CHECK(w.grad().to_vector() == std::vector<double>{20, -2});
  CHECK_THROWS_AS(scale(w, 2).backward(), Error);  // non-scalar needs grad_output
}

TEST_CASE("autograd: detach() cuts the graph") {
  Tensor x = f64_leaf({2, -3}, {2});
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.storage() == x.storage());
  // y = sum(x * detach(x)): only the non-detached factor is differentiated -> dy/dx = x
  sum(mul(x, d)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, -3});
  CHECK_FALSE(d.grad().defined());

  // detaching a non-leaf: nothing flows back through it
  Tensor y = f64_leaf({1, 1}, {2});
  Tensor h = scale(x, 5).detach();
  CHECK_FALSE(h.requires_grad());
  sum(mul(h, y)).backward();
  CHECK(y.grad().to_vector() == std::vector<double>{10, -15});
  CHECK(x.grad().to_vector() == std::vector<double>{2, -3});  // unchanged
  // a graph with no input requiring grad cannot be differentiated
  CHECK_THROWS_AS(sum(h).backward(), Error);
}

TEST_CASE("autograd: NoGrad records nothing and restores the mode") {
  Tensor x = f64_leaf({1, 2}, {2});
  CHECK(grad_enabled());
  {
    NoGrad ng;
    CHECK_FALSE(grad_enabled());
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK(y.to_vector() == std::vector<double>{1, 4});  // the values are still computed
    CHECK_FALSE(x.reshape({2, 1}).requires_grad());
    {
      NoGrad inner;
      CHECK_FALSE(grad_enabled());
    }
    CHECK_FALSE(grad_enabled());  // the inner scope restores "off", not "on"
    CHECK_THROWS_AS(sum(y).backward(), Error);
  }
  CHECK(grad_enabled());
  Tensor z = mul(x, x);
  CHECK(z.requires_grad());
  CHECK(z.grad_fn() != nullptr);
  CHECK(z.grad_fn()->name == "mul");
  // An exception leaving the scope restores the mode as well (RAII).
  try {
    NoGrad ng;
    throw Error("boom");
  } catch (const Error&) {
  }
  CHECK(grad_enabled());
}

TEST_CASE("autograd: a second backward through the same graph throws") {
  Tensor x = f64_leaf({1, 2}, {2});
  Tensor h = relu(x);
  Tensor loss = sum(mul(h, h));
  loss.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});
  CHECK_THROWS_AS(loss.backward(), Error);
  std::string msg;
  try {
    loss.backward();
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("second time") != std::string::npos);
  // A new graph sharing an already-released node also throws, and touches no gradient.
  Tensor loss2 = sum(scale(h, 2));
  CHECK_THROWS_AS(loss2.backward(), Error);
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});
}

TEST_CASE("autograd: non-leaf gradients are freed unless retain_grad() is called") {
  Tensor x = f64_leaf({1, -2, 3}, {3});
  Tensor a = scale(x, 2);   // kept: retain_grad
  Tensor b = mul(a, x);     // not kept
  a.retain_grad();
  Tensor loss = sum(b);     // loss = sum(2x^2); d/da = x; d/dx = 4x
  loss.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{4, -8, 12});
  REQUIRE(a.grad().defined());
  CHECK(a.grad().to_vector() == std::vector<double>{1, -2, 3});
  CHECK_FALSE(b.grad().defined());
  CHECK_FALSE(loss.grad().defined());

  // retain_grad on the root keeps the seed
  Tensor y = f64_leaf({1, 2}, {2});
  Tensor l2 = sum(y);
  l2.retain_grad();
  l2.backward();
  REQUIRE(l2.grad().defined());
  CHECK(l2.grad().item() == 1.0);
}

TEST_CASE("autograd: saved intermediate buffers are freed by backward") {
  Tensor x = f64_leaf({1, -2, 3, 0.5}, {4});
  Tensor loss;
  std::weak_ptr<Storage> weak;
  {
    Tensor h = relu(x);
    loss = sum(mul(h, h));
    weak = std::weak_ptr<Storage>(h.storage());
  }
  // h's handle is gone, but the graph still holds it for mul's backward
  CHECK_FALSE(weak.expired());
  loss.backward();
  CHECK(weak.expired());
  // d/dx sum(relu(x)^2) = 2 relu(x) * [x > 0]
  CHECK(x.grad().to_vector() == std::vector<double>{2, 0, 6, 1});
  REQUIRE(loss.grad_fn() != nullptr);
  CHECK(loss.grad_fn()->released);
  CHECK(loss.grad_fn()->inputs.empty());
}

TEST_CASE("autograd: finite-difference gradients through views (float64)") {
  // tol: central differences with h = 1e-6 in double are accurate to ~1e-9 for these
  // polynomial (bilinear in the projection) losses; 1e-6 leaves margin (gradcheck.h default).
  SUBCASE("reshape, including -1 and a strided input") {
    check_gradients([](const std::vector<Tensor>& in) { return project(in[0].reshape({4, -1})); },
                    {leaf({2, 3, 4}, 1)});
    // transpose -> reshape goes through the contiguous copy's backward
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].transpose(0, 1).reshape({-1}));
    }, {leaf({3, 5}, 2)});
  }
  SUBCASE("permute") {
    check_gradients([](const std::vector<Tensor>& in) { return project(in[0].permute({2, 0, 1})); },
                    {leaf({2, 3, 4}, 3)});
    // two permutes composed, then multiplied with a second leaf (both get gradients)
    check_gradients([](const std::vector<Tensor>& in) {
      return project(mul(in[0].permute({1, 2, 0}).permute({0, 2, 1}), in[1]));
    }, {leaf({2, 3, 4}, 4), leaf({3, 2, 4}, 5)});
  }
  SUBCASE("transpose") {
    check_gradients([](const std::vector<Tensor>& in) { return project(in[0].transpose(0, 1)); },
                    {leaf({3, 4}, 6)});
    check_gradients([](const std::vector<Tensor>& in) {
      return project(matmul(in[0].transpose(0, 1), in[0]));  // x^T x: x used twice
    }, {leaf({3, 2}, 7)});
  }
  SUBCASE("slice, with step, negative start, and of a strided tensor") {
    check_gradients([](const std::vector<Tensor>& in) { return project(in[0].slice(1, 1, 6, 2)); },
                    {leaf({3, 7}, 8)});
    check_gradients([](const std::vector<Tensor>& in) { return project(in[0].slice(0, -3, 5, 2)); },
                    {leaf({5, 2}, 9)});
    // slice of a contiguous slice at an offset
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].slice(0, 2, 6).slice(0, 1, 4, 2));
    }, {leaf({6, 3}, 10)});
    // slice of a transposed (strided) tensor
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].transpose(0, 1).slice(1, 0, 4, 3));
    }, {leaf({4, 3}, 11)});
    // overlapping slices of the same leaf: contributions add
    check_gradients([](const std::vector<Tensor>& in) {
      return project(mul(in[0].slice(1, 0, 3), in[0].slice(1, 1, 4)));
    }, {leaf({2, 4}, 12)});
  }
  SUBCASE("contiguous and clone") {
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].permute({1, 0, 2}).contiguous());
    }, {leaf({2, 3, 2}, 13)});
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].clone());
    }, {leaf({2, 3}, 14)});
    check_gradients([](const std::vector<Tensor>& in) {
      return project(in[0].slice(1, 0, 3, 2).clone());
    }, {leaf({2, 3}, 15)});
  }
}

TEST_CASE("autograd: a hand-checked gradient through a strided slice") {
  // d/dx sum(x[:, 1::2] * c) puts c into the odd columns and 0 elsewhere: catches a backward that
  // ignores the view's offset or stride even where finite differences would be slow to read.
  Tensor x = f64_leaf({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  Tensor c = Tensor::from_vector({10, 20, 30, 40}, {2, 2}, DType::F64);
  sum(mul(x.slice(1, 1, 4, 2), c)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 10, 0, 20, 0, 30, 0, 40});
}

TEST_CASE("autograd: a 2000-op deep chain runs backward without recursion") {
  // y = s^2000 * x by 2000 chained scale() ops; dy/dx = s^2000 (~e for s = 1.0005).
  // Each step rounds once in double, so the product is within ~2000 ulp: rel 1e-12 is ample.
  const int depth = 2000;
  const double s = 1.0005;
  Tensor x = f64_leaf({1, -2, 0.5}, {3});
  Tensor y = x;
  for (int i = 0; i < depth; ++i) y = scale(y, s);
  Tensor loss = sum(y);
  loss.backward();
  const double expect = std::pow(s, depth);
  std::vector<double> g = x.grad().to_vector();
  REQUIRE(g.size() == 3);
  for (double v : g) CHECK(v == doctest::Approx(expect).epsilon(1e-12));
  CHECK(loss.item() == doctest::Approx(expect * (1 - 2 + 0.5)).epsilon(1e-12));
}

TEST_CASE("autograd: a 300k-op graph dropped without backward is freed without recursion") {
  // Recursive destruction (node -> input -> node ...) would need several stack frames per op:
  // 300k ops overflow an 8 MB stack that way (and crash this test); Node::~Node is iterative.
  Tensor x = f64_leaf({1, 2}, {2});
  {
    Tensor y = x;
    for (int i = 0; i < 300000; ++i) y = scale(y, 1.0);
    CHECK(y.grad_fn());
  }  // the whole chain goes here
  CHECK(x.requires_grad());
  Tensor z = scale(x, 3.0);  // the leaf still works after its graph went
  sum(z).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3.0, 3.0});
}
}  // TEST_SUITE("ops")
