// test_nn.cpp: conv2d (stride, padding, groups, depthwise), linear, matmul, batch_norm2d,
// pooling and flatten: hand values, a direct-loop reference, and float64 gradient checks.
// Run: ./build/tests/test_ops -tc="conv2d*,linear*,batch_norm*,pool*"
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.h"

using namespace cudistill;
using cudistill::test::check_gradients;
using cudistill::test::leaf;
using cudistill::test::project;

namespace {
std::vector<double> vals(const Tensor& t) { return t.to_vector(); }

// Convolution straight from its definition: six nested loops, no im2col, no GEMM.
std::vector<double> conv_direct(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad, int groups) {
  const int N = int(x.size(0)), C = int(x.size(1)), H = int(x.size(2)), W = int(x.size(3));
  const int O = int(w.size(0)), KH = int(w.size(2)), KW = int(w.size(3));
  const int HO = (H + 2 * pad - KH) / stride + 1, WO = (W + 2 * pad - KW) / stride + 1;
  const int Cg = C / groups, Og = O / groups;
  std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.defined() ? b.to_vector() : std::vector<double>();
  std::vector<double> y(static_cast<size_t>(N) * O * HO * WO);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o)
      for (int oh = 0; oh < HO; ++oh)
        for (int ow = 0; ow < WO; ++ow) {
          double acc = bv.empty() ? 0.0 : bv[size_t(o)];
          const int g = o / Og;
          for (int c = 0; c < Cg; ++c)
            for (int i = 0; i < KH; ++i)
              for (int j = 0; j < KW; ++j) {
                int h = oh * stride - pad + i, ww = ow * stride - pad + j;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += xv[size_t(((n * C + g * Cg + c) * H + h) * W + ww)] * wv[size_t(((o * Cg + c) * KH + i) * KW + j)];
              }
          y[size_t(((n * O + o) * HO + oh) * WO + ow)] = acc;
        }
  return y;
}

struct ConvCase {
  int N, C, H, W, O, K, stride, pad, groups;
};
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("conv2d: hand values") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = Tensor::ones({1, 1, 2, 2});
  CHECK(vals(conv2d(x, w, Tensor())) == std::vector<double>{12, 16, 24, 28});
  // padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1) see 1, 2+3, 4+7, 5+6+8+9
  CHECK(vals(conv2d(x, w, Tensor(), 2, 1)) == std::vector<double>{1, 5, 11, 28});
  Tensor b = Tensor::from_vector({-10}, {1});
  CHECK(vals(conv2d(x, w, b)) == std::vector<double>{2, 6, 14, 18});
  CHECK_THROWS_AS(conv2d(x, Tensor::ones({1, 2, 2, 2}), Tensor()), Error);  // channel mismatch
}

TEST_CASE("conv2d: matches the direct definition (float32 and float64)") {
  // Covers the 1x1 fast path, strides, padding, grouped and depthwise convolutions.
  const ConvCase cases[] = {{2, 3, 9, 7, 4, 3, 1, 1, 1}, {2, 4, 10, 10, 6, 3, 2, 1, 2}, {1, 6, 8, 8, 6, 3, 1, 1, 6},
                            {3, 8, 5, 5, 4, 1, 1, 0, 1}, {2, 4, 11, 11, 8, 7, 2, 3, 1}, {1, 3, 6, 6, 3, 1, 2, 0, 3}};
  for (DType dt : {DType::F32, DType::F64})
    for (const ConvCase& c : cases) {
      CAPTURE(c.groups);
      CAPTURE(c.K);
      Rng rng(uint64_t(c.C * 100 + c.K));
      Tensor x = Tensor::uniform({c.N, c.C, c.H, c.W}, rng, -1, 1, dt);
      Tensor w = Tensor::uniform({c.O, c.C / c.groups, c.K, c.K}, rng, -1, 1, dt);
      Tensor b = Tensor::uniform({c.O}, rng, -1, 1, dt);
      std::vector<double> got = conv2d(x, w, b, c.stride, c.pad, c.groups).to_vector();
      std::vector<double> want = conv_direct(x, w, b, c.stride, c.pad, c.groups);
      REQUIRE(got.size() == want.size());
      // float32: sums of up to C*K*K = 196 products of values in [-1, 1]
      const double tol = dt == DType::F32 ? 1e-4 : 1e-12;
      for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= tol * (1 + std::fabs(want[i])));
    }
}

TEST_CASE("conv2d: finite-difference gradients for x, w and b") {
  const ConvCase cases[] = {{2, 2, 5, 4, 3, 3, 1, 1, 1}, {1, 4, 6, 6, 2, 3, 2, 1, 2},
                            {2, 3, 5, 5, 3, 3, 1, 1, 3}, {2, 3, 3, 3, 2, 1, 1, 0, 1}};
  for (const ConvCase& c : cases) {
    CAPTURE(c.groups);
    Tensor x = leaf({c.N, c.C, c.H, c.W}, 1), w = leaf({c.O, c.C / c.groups, c.K, c.K}, 2), b = leaf({c.O}, 3);
    check_gradients(
        [&](const std::vector<Tensor>& in) { return project(conv2d(in[0], in[1], in[2], c.stride, c.pad, c.groups)); },
        {x, w, b});
  }
}

TEST_CASE("linear and matmul: hand values and gradients") {
  Tensor x = Tensor::from_vector({1, 2}, {1, 2});
  Tensor w = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor b = Tensor::from_vector({0.5, 0, -1}, {3});
  CHECK(vals(linear(x, w, b)) == std::vector<double>{1.5, 2, 2});
  CHECK(vals(linear(x, w, Tensor())) == std::vector<double>{1, 2, 3});
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor m = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK(vals(matmul(a, m)) == std::vector<double>{4, 5, 10, 11});
  CHECK_THROWS_AS(linear(x, Tensor::ones({3, 3}), b), Error);
  Tensor xl = leaf({4, 5}, 1), wl = leaf({3, 5}, 2), bl = leaf({3}, 3);
  check_gradients([](const std::vector<Tensor>& in) { return project(linear(in[0], in[1], in[2])); }, {xl, wl, bl});
  Tensor ml = leaf({5, 6}, 4);
  check_gradients([](const std::vector<Tensor>& in) { return project(matmul(in[0], in[1])); }, {xl, ml});
  // a transposed (strided) operand goes through contiguous() and its gradient comes back
  Tensor mt = leaf({6, 5}, 5);
  check_gradients([](const std::vector<Tensor>& in) { return project(matmul(in[0], in[1].transpose(0, 1))); },
                  {xl, mt});
}

TEST_CASE("batch_norm2d: training statistics, running update, eval") {
  Rng rng(5);
  Tensor x = Tensor::uniform({4, 3, 5, 5}, rng, -2, 3, DType::F64);
  Tensor gamma = Tensor::ones({3}, DType::F64), beta = Tensor::zeros({3}, DType::F64);
  Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::ones({3}, DType::F64);
  Tensor y = batch_norm2d(x, gamma, beta, rm, rv, true, 0.1, 1e-5);
  // each channel of y has mean 0 and (biased) variance var/(var+eps) ~ 1
  std::vector<double> yv = y.to_vector(), xv = x.to_vector();
  for (int c = 0; c < 3; ++c) {
    double s = 0, ss = 0, xs = 0, xss = 0;
    const int M = 4 * 25;
    for (int n = 0; n < 4; ++n)
      for (int i = 0; i < 25; ++i) {
        size_t k = size_t((n * 3 + c) * 25 + i);
        s += yv[k]; ss += yv[k] * yv[k]; xs += xv[k];
      }
    const double xmean = xs / M;
    for (int n = 0; n < 4; ++n)
      for (int i = 0; i < 25; ++i) { double d = xv[size_t((n * 3 + c) * 25 + i)] - xmean; xss += d * d; }
    CHECK(std::fabs(s / M) < 1e-12);
    CHECK(ss / M == doctest::Approx(xss / M / (xss / M + 1e-5)).epsilon(1e-10));
    // running stats: 0.9 * old + 0.1 * batch, the variance unbiased (M - 1)
    CHECK(rm.at({c}) == doctest::Approx(0.1 * xmean).epsilon(1e-12));
    CHECK(rv.at({c}) == doctest::Approx(0.9 + 0.1 * xss / (M - 1)).epsilon(1e-12));
  }
  // eval: y = gamma (x - rm) / sqrt(rv + eps) + beta, with the running statistics
  Tensor g2 = Tensor::from_vector({2, 1, 0.5}, {3}, DType::F64), b2 = Tensor::from_vector({1, 0, -1}, {3}, DType::F64);
  Tensor ye = batch_norm2d(x, g2, b2, rm, rv, false, 0.1, 1e-5);
  const double expect = 2 * (x.at({1, 0, 2, 3}) - rm.at({0})) / std::sqrt(rv.at({0}) + 1e-5) + 1;
  CHECK(ye.at({1, 0, 2, 3}) == doctest::Approx(expect).epsilon(1e-12));
}

TEST_CASE("batch_norm2d: finite-difference gradients in training and eval mode") {
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tensor x = leaf({3, 2, 3, 4}, 1, -2, 2), gamma = leaf({2}, 2, 0.5, 1.5), beta = leaf({2}, 3);
    Tensor rm = Tensor::from_vector({0.1, -0.2}, {2}, DType::F64), rv = Tensor::from_vector({0.8, 1.3}, {2}, DType::F64);
    check_gradients(
        [&](const std::vector<Tensor>& in) {
          Tensor m = rm.clone(), v = rv.clone();  // running stats must not drift between evaluations
          return project(batch_norm2d(in[0], in[1], in[2], m, v, training));
        },
        {x, gamma, beta});
  }
}

TEST_CASE("batch_norm2d with relu: the values of relu(batch_norm2d) and finite-difference gradients") {
  // Fused (relu = true) against the two ops in a row, then central differences in double. The
  // check's skip window (gradcheck.h) covers outputs near the ReLU's kink at 0.
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tensor x = leaf({3, 2, 3, 4}, 4, -2, 2), gamma = leaf({2}, 5, 0.5, 1.5), beta = leaf({2}, 6, -0.5, 0.5);
    Tensor rm = Tensor::from_vector({0.1, -0.2}, {2}, DType::F64), rv = Tensor::from_vector({0.8, 1.3}, {2}, DType::F64);
    Tensor m1 = rm.clone(), v1 = rv.clone(), m2 = rm.clone(), v2 = rv.clone();
    CHECK(vals(batch_norm2d(x, gamma, beta, m1, v1, training, 0.1, 1e-5, true)) ==
          vals(relu(batch_norm2d(x, gamma, beta, m2, v2, training, 0.1, 1e-5))));
    CHECK(vals(m1) == vals(m2));
    check_gradients(
        [&](const std::vector<Tensor>& in) {
          Tensor m = rm.clone(), v = rv.clone();
          return project(batch_norm2d(in[0], in[1], in[2], m, v, training, 0.1, 1e-5, true));
        },
        {x, gamma, beta});
  }
}

TEST_CASE("pooling: hand values") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {1, 1, 4, 4});
  CHECK(vals(max_pool2d(x, 2, 2)) == std::vector<double>{6, 8, 14, 16});
  CHECK(vals(avg_pool2d(x, 2, 2)) == std::vector<double>{3.5, 5.5, 11.5, 13.5});
  // ResNet's stem pool: 3x3, stride 2, padding 1 (padding never wins a max)
  CHECK(vals(max_pool2d(scale(x, -1), 3, 2, 1)) == std::vector<double>{-1, -2, -5, -6});
  // padding counted (PyTorch default) or not, at the corner window holding 1, 2, 5, 6
  CHECK(avg_pool2d(x, 3, 2, 1, true).at({0, 0, 0, 0}) == doctest::Approx(14.0 / 9));
  CHECK(avg_pool2d(x, 3, 2, 1, false).at({0, 0, 0, 0}) == doctest::Approx(14.0 / 4));
  CHECK(vals(global_avg_pool(x)) == std::vector<double>{8.5});
  CHECK(flatten(Tensor::zeros({2, 3, 4, 5})).shape() == Shape{2, 60});
  CHECK_THROWS_AS(max_pool2d(x, 5, 1), Error);
}

TEST_CASE("pooling: finite-difference gradients") {
  // Random doubles make ties in a max window improbable; the kink of max is where two tie.
  Tensor x = leaf({2, 3, 7, 6}, 9);
  check_gradients([](const std::vector<Tensor>& in) { return project(max_pool2d(in[0], 3, 2, 1)); }, {x});
  check_gradients([](const std::vector<Tensor>& in) { return project(max_pool2d(in[0], 2, 2)); }, {x});
  check_gradients([](const std::vector<Tensor>& in) { return project(avg_pool2d(in[0], 3, 2, 1, true)); }, {x});
  check_gradients([](const std::vector<Tensor>& in) { return project(avg_pool2d(in[0], 3, 2, 1, false)); }, {x});
  check_gradients([](const std::vector<Tensor>& in) { return project(global_avg_pool(in[0])); }, {x});
  check_gradients([](const std::vector<Tensor>& in) { return project(flatten(in[0])); }, {x});
}
}
