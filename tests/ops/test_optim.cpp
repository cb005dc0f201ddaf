// test_optim.cpp: SGD (plain, weight decay, momentum, Nesterov), AdamW and the learning-rate
// schedules (cosine with warm-up, step) against updates computed by hand from PyTorch's formulas
// (torch.optim.SGD / torch.optim.AdamW), in float64 and float32; gradient-less params, zero_grad;
// the state round trip (a resumed optimizer takes the same step).
// Run: ./build-c/tests/test_ops -tc="sgd*,adamw*,optimizer*,cosine_lr*,step_lr*"
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/ops.h"
#include "engine/optim/optim.h"

using namespace cudistill;

namespace {
// Every case starts from p = {1, -2} and sees the gradient g1 = {0.5, 0.25} on its first step
// and g2 = {-0.25, 1} on its second (two elements with different values catch a kernel that
// mixes up indices; a different g2 catches a momentum buffer that is not updated).
const std::vector<double> kP0 = {1.0, -2.0}, kG1 = {0.5, 0.25}, kG2 = {-0.25, 1.0};

Tensor param(const std::vector<double>& v, DType dt) {
  Tensor p = Tensor::from_vector(v, {int64_t(v.size())}, dt);
  p.set_requires_grad(true);
  return p;
}

// Gives p exactly the gradient g through a real backward: d/dp sum(p * g) = g, with no rounding
// (the seed is 1 and each element is multiplied once by 1).
void set_grad(Tensor& p, const std::vector<double>& g) {
  p.zero_grad();
  sum(mul(p, Tensor::from_vector(g, {int64_t(g.size())}, p.dtype()))).backward();
  REQUIRE(p.grad().defined());
  REQUIRE(p.grad().to_vector() == g);
}

// Tolerances: every expected value below is O(1) and one step is a handful of roundings, so
// float64 agrees to ~1e-15 (1e-12 leaves room); float32 has eps 1.2e-7, and 2e-6 allows ~10 ulps
// of these ~2-magnitude values. Both sit far below the smallest difference a wrong formula makes
// here (e.g. AdamW's decay applied after the update: 1e-3; momentum buffer not reused: 2e-2).
double tol_for(DType dt) { return dt == DType::F64 ? 1e-12 : 2e-6; }

void check_close(const Tensor& t, const std::vector<double>& expected, double tol) {
  std::vector<double> got = t.to_vector();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CAPTURE(got[i]);
    CAPTURE(expected[i]);
    CHECK(std::fabs(got[i] - expected[i]) <= tol);
  }
}

// Runs two SGD steps with g1 then g2 and checks p after each.
void run_sgd(const SGDOptions& o, DType dt, const std::vector<double>& after1, const std::vector<double>& after2) {
  const std::string dt_name = dtype_name(dt);
    CAPTURE(dt_name);
  Tensor p = param(kP0, dt);
  SGD opt({p}, o);
  set_grad(p, kG1);
  opt.step();
  check_close(p, after1, tol_for(dt));
  set_grad(p, kG2);
  opt.step();
  check_close(p, after2, tol_for(dt));
}

const DType kDTypes[] = {DType::F64, DType::F32};
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("sgd: plain update p -= lr * g") {
  // lr 0.1: step 1: {1 - 0.05, -2 - 0.025};  step 2: {0.95 + 0.025, -2.025 - 0.1}
  for (DType dt : kDTypes) run_sgd({0.1, 0.0, 0.0, false}, dt, {0.95, -2.025}, {0.975, -2.125});
}

TEST_CASE("sgd: weight decay is added to the gradient (g + wd * p)") {
  // lr 0.1, wd 0.1: step 1: g' = {0.5 + 0.1, 0.25 - 0.2} = {0.6, 0.05} -> p = {0.94, -2.005}
  // step 2: g' = {-0.25 + 0.094, 1 - 0.2005} = {-0.156, 0.7995} -> p = {0.9556, -2.08495}
  for (DType dt : kDTypes) run_sgd({0.1, 0.0, 0.1, false}, dt, {0.94, -2.005}, {0.9556, -2.08495});
}

TEST_CASE("sgd: momentum, first buffer is the gradient itself (PyTorch, no dampening)") {
  // lr 0.1, momentum 0.9: step 1: buf = g1 = {0.5, 0.25} -> p = {0.95, -2.025}
  // step 2: buf = 0.9 * g1 + g2 = {0.2, 1.225} -> p = {0.95 - 0.02, -2.025 - 0.1225} = {0.93, -2.1475}
  for (DType dt : kDTypes) run_sgd({0.1, 0.9, 0.0, false}, dt, {0.95, -2.025}, {0.93, -2.1475});
}

TEST_CASE("sgd: momentum with weight decay (decay enters the buffer)") {
  // lr 0.1, momentum 0.9, wd 0.1: step 1: g' = {0.6, 0.05} = buf -> p = {0.94, -2.005}
  // step 2: g' = {-0.156, 0.7995}; buf = 0.9 * {0.6, 0.05} + g' = {0.384, 0.8445}
  //         -> p = {0.94 - 0.0384, -2.005 - 0.08445} = {0.9016, -2.08945}
  for (DType dt : kDTypes) run_sgd({0.1, 0.9, 0.1, false}, dt, {0.94, -2.005}, {0.9016, -2.08945});
}

TEST_CASE("sgd: nesterov steps along g + momentum * buf") {
  // lr 0.1, momentum 0.9: step 1: buf = {0.5, 0.25}; d = g1 + 0.9 buf = {0.95, 0.475} -> p = {0.905, -2.0475}
  // step 2: buf = {0.2, 1.225}; d = g2 + 0.9 buf = {-0.07, 2.1025} -> p = {0.912, -2.25775}
  for (DType dt : kDTypes) run_sgd({0.1, 0.9, 0.0, true}, dt, {0.905, -2.0475}, {0.912, -2.25775});
}

TEST_CASE("sgd: nesterov without momentum is rejected") {
  Tensor p = param(kP0, DType::F64);
  CHECK_THROWS_AS(SGD({p}, {0.1, 0.0, 0.0, true}), Error);
}

TEST_CASE("adamw: two steps, bias correction, decoupled weight decay before the update") {
  // lr 0.1, b1 0.9, b2 0.999, eps 1e-8, wd 0.1 (PyTorch: p *= 1 - lr*wd, then the Adam step).
  // step 1: p = {0.99, -1.98}; m = 0.1 g1 = {0.05, 0.025}; v = 0.001 g1^2 = {2.5e-4, 6.25e-5};
  //   mhat = m / 0.1 = g1, vhat = v / 0.001 = g1^2, so the step is lr * g/(|g| + eps):
  //   p = {0.99 - 0.1 * 0.5/(0.5 + 1e-8), -1.98 - 0.1 * 0.25/(0.25 + 1e-8)} = {0.890000002, -2.079999996}
  // step 2: p = 0.99 * p = {0.88110000198, -2.05919999604};
  //   m = 0.9 m + 0.1 g2 = {0.02, 0.1225}; v = 0.999 v + 0.001 g2^2 = {3.1225e-4, 1.0624375e-3};
  //   mhat = m / (1 - 0.81) = {0.105263158, 0.644736842}; vhat = v / (1 - 0.998001) = {0.156203102, 0.531484492}
  //   p -= 0.1 * mhat / (sqrt(vhat) + 1e-8) = {0.0266334733, 0.0884376478}
  //   -> p = {0.854466298687846, -2.14763764388451}
  // Decay after the update instead would give {0.891000001, ...} at step 1: off by 1e-3.
  for (DType dt : kDTypes) {
    const std::string dt_name = dtype_name(dt);
    CAPTURE(dt_name);
    Tensor p = param(kP0, dt);
    AdamW opt({p}, {0.1, 0.9, 0.999, 1e-8, 0.1});
    set_grad(p, kG1);
    opt.step();
    check_close(p, {0.890000002, -2.079999996}, tol_for(dt));
    set_grad(p, kG2);
    opt.step();
    check_close(p, {0.854466298687846, -2.14763764388451}, tol_for(dt));
  }
}

TEST_CASE("adamw: without weight decay the first step is lr * sign(g)") {
  // mhat / sqrt(vhat) = g / |g| on step 1 whatever the betas: the classic Adam sanity check.
  // eps = 0 so the value is exact up to rounding.
  for (DType dt : kDTypes) {
    const std::string dt_name = dtype_name(dt);
    CAPTURE(dt_name);
    Tensor p = param({0.5, -0.5, 3.0}, dt);
    AdamW opt({p}, {0.01, 0.8, 0.99, 0.0, 0.0});
    set_grad(p, {0.0009765625, -7.0, 123.0});  // exact in float32 too
    opt.step();
    check_close(p, {0.49, -0.49, 2.99}, tol_for(dt));
  }
}

TEST_CASE("optimizer: parameters without a gradient are left untouched") {
  for (DType dt : kDTypes) {
    const std::string dt_name = dtype_name(dt);
    CAPTURE(dt_name);
    Tensor a = param(kP0, dt), b = param({3.0, 4.0}, dt);
    SGD sgd({a, b}, {0.1, 0.9, 0.1, true});
    AdamW adamw({a, b}, {0.1, 0.9, 0.999, 1e-8, 0.1});  // weight decay would move b if it ran
    for (Optimizer* opt : {static_cast<Optimizer*>(&sgd), static_cast<Optimizer*>(&adamw)}) {
      set_grad(a, kG1);  // b is not in the graph: its grad stays undefined
      REQUIRE_FALSE(b.grad().defined());
      const std::vector<double> a_before = a.to_vector();
      opt->step();
      CHECK(b.to_vector() == std::vector<double>{3.0, 4.0});
      CHECK(a.to_vector() != a_before);
    }
  }
}

TEST_CASE("optimizer: zero_grad drops every gradient; the next backward starts from 0") {
  Tensor a = param(kP0, DType::F64), b = param({3.0, 4.0}, DType::F64);
  SGD opt({a, b}, {0.1, 0.0, 0.0, false});
  auto loss = [&] { return add(sum(mul(a, a)), sum(b)); };  // grads: 2a and 1
  loss().backward();
  loss().backward();  // without zero_grad gradients accumulate
  CHECK(a.grad().to_vector() == std::vector<double>{4.0, -8.0});
  CHECK(b.grad().to_vector() == std::vector<double>{2.0, 2.0});
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  opt.step();  // nothing to do
  CHECK(a.to_vector() == kP0);
  CHECK(b.to_vector() == std::vector<double>{3.0, 4.0});
  loss().backward();
  CHECK(a.grad().to_vector() == std::vector<double>{2.0, -4.0});
  CHECK(b.grad().to_vector() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("optimizer: state() and load_state() resume with the same updates") {
  // Two steps in a row against one step, a state round trip into a fresh optimizer over a fresh
  // copy of the parameter, then the second step: the parameter must come out bit for bit the same.
  // A moment or a step count lost on the way changes step 2 (AdamW's bias correction uses t).
  for (int which = 0; which < 2; ++which) {
    CAPTURE(which);
    auto make = [&](Tensor& p) -> std::unique_ptr<Optimizer> {
      if (which == 0) return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{0.1, 0.9, 0.1, true});
      return std::make_unique<AdamW>(std::vector<Tensor>{p}, AdamWOptions{0.1, 0.9, 0.999, 1e-8, 0.1});
    };
    Tensor straight = param(kP0, DType::F32);
    auto a = make(straight);
    set_grad(straight, kG1);
    a->step();
    set_grad(straight, kG2);
    a->step();

    Tensor first = param(kP0, DType::F32);
    auto b = make(first);
    set_grad(first, kG1);
    b->step();
    std::map<std::string, Tensor> saved;
    for (auto& [name, t] : b->state()) saved[name] = t.clone();
    Tensor resumed = param(first.to_vector(), DType::F32);
    auto c = make(resumed);
    c->load_state(saved, "test");
    set_grad(resumed, kG2);
    c->step();
    CHECK(resumed.to_vector() == straight.to_vector());

    // A state of another shape is refused by name.
    saved.begin()->second = Tensor::zeros({3});
    CHECK_THROWS_WITH_AS(c->load_state(saved, "state.safetensors"),
                         doctest::Contains("state.safetensors: optimizer state"), Error);
  }
}

TEST_CASE("optimizer: set_lr changes the next step") {
  Tensor p = param(kP0, DType::F64);
  SGD opt({p}, {0.1, 0.0, 0.0, false});
  CHECK(opt.lr() == 0.1);
  opt.set_lr(0.5);
  CHECK(opt.lr() == 0.5);
  set_grad(p, kG1);
  opt.step();
  check_close(p, {0.75, -2.125}, 1e-12);  // p - 0.5 * g1
}

TEST_CASE("cosine_lr: warm-up, midpoint, end value, monotone decay") {
  // base 1, min 0.1, 110 steps of which 10 warm-up. Warm-up is linear, base * (s + 1) / w, so
  // that step 0 already trains (lr base/w) and step w - 1 reaches base.
  const double base = 1.0, mn = 0.1, tol = 1e-12;  // plain double arithmetic: a few ulps
  const int64_t total = 110, warm = 10;
  CHECK(std::fabs(cosine_lr(base, 0, total, warm, mn) - 0.1) <= tol);
  CHECK(std::fabs(cosine_lr(base, 4, total, warm, mn) - 0.5) <= tol);
  CHECK(std::fabs(cosine_lr(base, 9, total, warm, mn) - 1.0) <= tol);
  for (int64_t s = 0; s + 1 < warm; ++s) CHECK(cosine_lr(base, s + 1, total, warm, mn) > cosine_lr(base, s, total, warm, mn));
  // first step after warm-up: progress 0, cos 0 = 1 -> base
  CHECK(std::fabs(cosine_lr(base, warm, total, warm, mn) - base) <= tol);
  // midpoint of the decay (progress 1/2, cos = 0) -> (base + min) / 2
  CHECK(std::fabs(cosine_lr(base, warm + (total - warm) / 2, total, warm, mn) - 0.55) <= tol);
  // a quarter in: min + (base - min) * (1 + cos(pi/4)) / 2
  CHECK(std::fabs(cosine_lr(base, warm + 25, total, warm, mn) - (0.1 + 0.9 * (1 + std::sqrt(0.5)) / 2)) <= tol);
  // end and beyond: min
  CHECK(cosine_lr(base, total, total, warm, mn) == mn);
  CHECK(cosine_lr(base, total + 50, total, warm, mn) == mn);
  // strictly decreasing over the decay, and within [min, base]
  for (int64_t s = warm; s < total; ++s) {
    CAPTURE(s);
    const double a = cosine_lr(base, s, total, warm, mn), b = cosine_lr(base, s + 1, total, warm, mn);
    CHECK(b < a);
    CHECK(a <= base);
    CHECK(b >= mn);
  }
  // no warm-up, min 0: starts at base, half-way at base / 2, ends at 0
  CHECK(cosine_lr(0.4, 0, 100) == 0.4);
  CHECK(std::fabs(cosine_lr(0.4, 50, 100) - 0.2) <= tol);
  CHECK(cosine_lr(0.4, 100, 100) == 0.0);
}

TEST_CASE("cosine_lr: bad arguments throw") {
  CHECK_THROWS_AS(cosine_lr(1.0, 0, 10, 10), Error);  // warm-up as long as the run
  CHECK_THROWS_AS(cosine_lr(1.0, 0, 10, 20), Error);
  CHECK_THROWS_AS(cosine_lr(1.0, 0, 10, -1), Error);
  CHECK_THROWS_AS(cosine_lr(1.0, 0, 0), Error);
}

TEST_CASE("step_lr: base * gamma^(step / step_size)") {
  const double tol = 1e-15;  // pow of an exact integer exponent: within an ulp or two of 0.1^k
  CHECK(step_lr(0.1, 0, 30) == 0.1);
  CHECK(step_lr(0.1, 29, 30) == 0.1);
  CHECK(std::fabs(step_lr(0.1, 30, 30) - 0.01) <= tol);
  CHECK(std::fabs(step_lr(0.1, 59, 30) - 0.01) <= tol);
  CHECK(std::fabs(step_lr(0.1, 60, 30) - 0.001) <= tol);
  CHECK(std::fabs(step_lr(2.0, 25, 10, 0.5) - 0.5) <= tol);  // 2 * 0.5^2
  CHECK_THROWS_AS(step_lr(0.1, 5, 0), Error);
  CHECK_THROWS_AS(step_lr(0.1, 5, -3), Error);
}
}  // TEST_SUITE
