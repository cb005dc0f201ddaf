// test_pad.cpp: pad2d, the zero padding that TensorFlow-"SAME" convolutions need: hand-checked
// values for an asymmetric pad, the shape arithmetic, a float64 finite-difference gradient check
// and the argument checks. Run: ./build/tests/test_ops -tc="pad*"
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/ops.h"
#include "gradcheck.h"

using namespace cudistill;
using test::check_gradients;
using test::leaf;
using test::project;

TEST_SUITE("ops") {
TEST_CASE("pad2d: values, asymmetric") {
  // x: (1, 1, 2, 2) = [[1, 2], [3, 4]]; top 0, bottom 1, left 1, right 2 -> (1, 1, 3, 5)
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor y = pad2d(x, 0, 1, 1, 2);
  CHECK(y.shape() == Shape{1, 1, 3, 5});
  CHECK(y.to_vector() == std::vector<double>{0, 1, 2, 0, 0,  //
                                             0, 3, 4, 0, 0,  //
                                             0, 0, 0, 0, 0});
}

TEST_CASE("pad2d: zero padding is the identity; channels stay apart") {
  Rng rng(3);
  Tensor x = Tensor::randn({2, 3, 4, 5}, rng);
  CHECK(pad2d(x, 0, 0, 0, 0).to_vector() == x.to_vector());
  Tensor y = pad2d(x, 2, 1, 0, 3);
  CHECK(y.shape() == Shape{2, 3, 7, 8});
  CHECK(y.at({1, 2, 2, 0}) == x.at({1, 2, 0, 0}));
  CHECK(y.at({1, 2, 5, 4}) == x.at({1, 2, 3, 4}));
  CHECK(y.at({0, 1, 6, 0}) == 0.0);
  CHECK(y.at({0, 1, 3, 7}) == 0.0);
}

TEST_CASE("pad2d: gradient (float64 finite differences)") {
  // A linear map, so central differences are exact up to roundoff: the default tol is ample.
  check_gradients([](const std::vector<Tensor>& in) { return project(pad2d(in[0], 1, 2, 0, 1)); },
                  {leaf({2, 2, 3, 4}, 11)});
}

TEST_CASE("pad2d: backward accumulates into an existing gradient") {
  // x feeds two pads: its gradient must be the sum of both interiors (ones + ones).
  Tensor x = test::leaf({1, 1, 2, 2}, 5);
  sum(add(pad2d(x, 1, 0, 0, 1), pad2d(x, 0, 1, 1, 0))).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2, 2, 2});
}

TEST_CASE("pad2d: bad arguments name the op") {
  Tensor x = Tensor::zeros({1, 1, 2, 2});
  CHECK_THROWS_WITH_AS(pad2d(x, -1, 0, 0, 0), doctest::Contains("pad2d"), Error);
  CHECK_THROWS_WITH_AS(pad2d(Tensor::zeros({2, 2}), 1, 1, 1, 1), doctest::Contains("(N, C, H, W)"), Error);
}
}
