// gradcheck.h: finite-difference gradient checking in float64 (Caffe's GradientChecker idea).
// For a function f(inputs) -> scalar, every element of every input that requires grad is nudged
// by +-h; the central difference (f(x+h) - f(x-h)) / 2h is compared with autograd's gradient by
//   |g_analytic - g_numeric| / max(|g_analytic|, |g_numeric|, 1) <= tol.
// Elements within `kink_window` of a kink (ReLU at 0, ...) are skipped: there the function is
// not differentiable and the two sides legitimately disagree.
// Use: tests/ops/*.cpp. Inputs must be float64 CPU leaves.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/ops.h"

namespace cudistill::test {

struct GradCheckOptions {
  double h = 1e-6;            // central differences in double: error ~h^2 plus ~eps/h roundoff
  double tol = 1e-6;          // relative error allowed (typical observed: 1e-9 .. 1e-7)
  std::vector<double> kinks;  // input values where f is not differentiable
  double kink_window = 1e-4;  // skip elements with |x - kink| < window
};

// A fixed random projection: sum(y * R). Using it as the loss gives every output element a
// different upstream gradient, so that a backward summing the wrong elements gets caught.
inline Tensor project(const Tensor& y, uint64_t seed = 7) {
  Rng rng(seed);
  Tensor r = Tensor::uniform(y.shape(), rng, -1.0, 1.0, y.dtype());
  return sum(mul(y, r));
}

// Returns the largest relative error seen, and CHECKs each element against opt.tol.
inline double check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                              std::vector<Tensor> inputs, const GradCheckOptions& opt = {}) {
  for (Tensor& t : inputs) {
    REQUIRE(t.dtype() == DType::F64);
    t.zero_grad();
  }
  Tensor loss = f(inputs);
  REQUIRE(loss.numel() == 1);
  loss.backward();

  double worst = 0.0;
  NoGrad no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    Tensor g = x.grad();
    REQUIRE_MESSAGE(g.defined(), "input ", i, " received no gradient");
    REQUIRE(x.is_contiguous());
    double* p = x.data<double>();
    const double* ga = g.data<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      bool near_kink = false;
      for (double k : opt.kinks) near_kink |= std::fabs(p[j] - k) < opt.kink_window;
      if (near_kink) continue;
      const double orig = p[j];
      p[j] = orig + opt.h;
      const double fp = f(inputs).item();
      p[j] = orig - opt.h;
      const double fm = f(inputs).item();
      p[j] = orig;
      const double gn = (fp - fm) / (2 * opt.h);
      const double err = std::fabs(ga[j] - gn) / std::max({std::fabs(ga[j]), std::fabs(gn), 1.0});
      worst = std::max(worst, err);
      CHECK_MESSAGE(err <= opt.tol, "input ", i, " element ", j, ": analytic ", ga[j], " numeric ", gn);
    }
  }
  return worst;
}

// A float64 leaf with values drawn uniformly from [lo, hi).
inline Tensor leaf(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  Tensor t = Tensor::uniform(shape, rng, lo, hi, DType::F64);
  t.set_requires_grad(true);
  return t;
}

}  // namespace cudistill::test
