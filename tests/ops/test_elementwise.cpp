// test_elementwise.cpp: add/sub/mul (with broadcasting), scale, relu, relu6, sum, mean:
// hand-computed values, then float64 finite-difference gradients.
// Run: ./build/tests/test_ops -tc="elementwise*"
#include <doctest/doctest.h>

#include "gradcheck.h"

using namespace cudistill;
using cudistill::test::check_gradients;
using cudistill::test::leaf;
using cudistill::test::project;

static std::vector<double> vals(const Tensor& t) { return t.to_vector(); }

TEST_SUITE("ops") {
TEST_CASE("elementwise: add, sub, mul by hand, with broadcasting") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = Tensor::from_vector({10, 20, 30}, {3});
  Tensor col = Tensor::from_vector({100, 200}, {2, 1});
  CHECK(vals(add(a, row)) == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(vals(sub(a, col)) == std::vector<double>{-99, -98, -97, -196, -195, -194});
  CHECK(vals(mul(a, a)) == std::vector<double>{1, 4, 9, 16, 25, 36});
  Tensor outer = mul(col, row);  // (2,1) x (3) -> (2,3)
  CHECK(outer.shape() == Shape{2, 3});
  CHECK(vals(outer) == std::vector<double>{1000, 2000, 3000, 2000, 4000, 6000});
  // (N, C, H, W) + (1, C, 1, 1): the per-channel bias pattern
  Tensor x = Tensor::zeros({2, 2, 1, 2});
  Tensor bias = Tensor::from_vector({1, -1}, {1, 2, 1, 1});
  CHECK(vals(add(x, bias)) == std::vector<double>{1, 1, -1, -1, 1, 1, -1, -1});
  CHECK_THROWS_AS(add(a, Tensor::zeros({2})), Error);
  CHECK(vals(scale(a, -0.5)) == std::vector<double>{-0.5, -1, -1.5, -2, -2.5, -3});
}

TEST_CASE("elementwise: relu and relu6 by hand") {
  Tensor x = Tensor::from_vector({-2, -0.0, 0.5, 3, 6, 7.5}, {6});
  CHECK(vals(relu(x)) == std::vector<double>{0, 0, 0.5, 3, 6, 7.5});
  CHECK(vals(relu6(x)) == std::vector<double>{0, 0, 0.5, 3, 6, 6});
  // gradient: 1 strictly inside the linear region, 0 outside and at the kinks (as PyTorch)
  Tensor xl = Tensor::from_vector({-2, 0, 0.5, 3, 6, 7.5}, {6}, DType::F64);
  xl.set_requires_grad(true);
  sum(relu6(xl)).backward();
  CHECK(vals(xl.grad()) == std::vector<double>{0, 0, 1, 1, 0, 0});
  xl.zero_grad();
  sum(relu(xl)).backward();
  CHECK(vals(xl.grad()) == std::vector<double>{0, 0, 1, 1, 1, 1});
}

TEST_CASE("elementwise: sum and mean") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(a).item() == 21);
  CHECK(mean(a).item() == doctest::Approx(3.5));
  CHECK(sum(a).ndim() == 0);
  // a strided view is summed over its own elements, not its storage
  CHECK(sum(a.slice(1, 0, 3, 2)).item() == 1 + 3 + 4 + 6);
}

TEST_CASE("elementwise: finite-difference gradients (float64)") {
  Tensor a = leaf({2, 3, 4}, 1), b = leaf({2, 3, 4}, 2);
  Tensor bc = leaf({3, 1}, 3), row = leaf({4}, 4);
  check_gradients([](const std::vector<Tensor>& in) { return project(add(in[0], in[1])); }, {a, b});
  check_gradients([](const std::vector<Tensor>& in) { return project(sub(in[0], in[1])); }, {a, b});
  check_gradients([](const std::vector<Tensor>& in) { return project(mul(in[0], in[1])); }, {a, b});
  // broadcast inputs: their gradient is the sum over the stretched dims
  check_gradients([](const std::vector<Tensor>& in) { return project(mul(in[0], in[1])); }, {a, bc});
  check_gradients([](const std::vector<Tensor>& in) { return project(sub(in[1], in[0])); }, {a, row});
  check_gradients([](const std::vector<Tensor>& in) { return project(scale(in[0], -2.5)); }, {a});
  check_gradients([](const std::vector<Tensor>& in) { return mean(mul(in[0], in[0])); }, {a});
}

TEST_CASE("elementwise: relu/relu6 gradients away from the kinks") {
  Tensor x = leaf({3, 5, 7}, 5, -3.0, 8.0);
  test::GradCheckOptions opt;
  opt.kinks = {0.0, 6.0};
  opt.kink_window = 1e-3;  // h = 1e-6, so elements this far from a kink never straddle it
  check_gradients([](const std::vector<Tensor>& in) { return project(relu(in[0])); }, {x}, opt);
  check_gradients([](const std::vector<Tensor>& in) { return project(relu6(in[0])); }, {x}, opt);
}
}
