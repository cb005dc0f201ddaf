// test_softmax_loss.cpp: softmax/log_softmax with temperature, cross-entropy (with label
// smoothing) and the KD loss: hand values, golden identities, float64 gradients.
// Run: ./build/tests/test_ops -tc="softmax*,cross_entropy*,kd_loss*"
#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.h"

using namespace cudistill;
using cudistill::test::check_gradients;
using cudistill::test::leaf;
using cudistill::test::project;

namespace {
Tensor labels_of(const std::vector<double>& v) { return Tensor::from_vector(v, {int64_t(v.size())}, DType::I32); }

// Logits with a few spiky outliers (llm.c multiplies some by 20), as docs/STYLE.md asks.
Tensor spiky_logits(int B, int K, uint64_t seed, DType dt = DType::F64) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(B) * K);
  for (double& x : v) x = rng.normal() * (rng.uniform() < 0.05 ? 20.0 : 1.0);
  return Tensor::from_vector(v, {B, K}, dt);
}

// The KD loss written out from its definition, in double, for one batch.
double kd_by_hand(const std::vector<double>& s, const std::vector<double>& m, const std::vector<int>& y, int B,
                  int K, double T, double alpha) {
  double total = 0;
  for (int b = 0; b < B; ++b) {
    auto lsm = [&](const std::vector<double>& z, double t, int k) {
      double mx = -INFINITY, acc = 0;
      for (int j = 0; j < K; ++j) mx = std::max(mx, z[size_t(b * K + j)] / t);
      for (int j = 0; j < K; ++j) acc += std::exp(z[size_t(b * K + j)] / t - mx);
      return z[size_t(b * K + k)] / t - mx - std::log(acc);
    };
    double kl = 0;
    for (int k = 0; k < K; ++k) kl += std::exp(lsm(m, T, k)) * (lsm(m, T, k) - lsm(s, T, k));
    total += alpha * T * T * kl + (1 - alpha) * -lsm(s, 1.0, y[size_t(b)]);
  }
  return total / B;
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("softmax: values, temperature, rows sum to one") {
  Tensor x = Tensor::from_vector({0, 0, 0, 1, 2, 3}, {2, 3}, DType::F64);
  std::vector<double> p = softmax(x).to_vector();
  for (int k = 0; k < 3; ++k) CHECK(p[size_t(k)] == doctest::Approx(1.0 / 3).epsilon(1e-14));
  const double z = std::exp(1) + std::exp(2) + std::exp(3);
  CHECK(p[5] == doctest::Approx(std::exp(3) / z).epsilon(1e-14));
  // T = 2 is softmax(x / 2)
  std::vector<double> p2 = softmax(x, 2.0).to_vector();
  const double z2 = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  CHECK(p2[3] == doctest::Approx(std::exp(0.5) / z2).epsilon(1e-14));
  std::vector<double> lp = log_softmax(x, 2.0).to_vector();
  CHECK(lp[3] == doctest::Approx(0.5 - std::log(z2)).epsilon(1e-14));
  CHECK_THROWS_AS(softmax(x, 0.0), Error);
}

TEST_CASE("softmax: numerically stable on huge and spiky logits, K in {6, 37, 1000}") {
  for (int K : {6, 37, 1000}) {
    CAPTURE(K);
    Tensor x = scale(spiky_logits(4, K, 11, DType::F32), 50.0);  // values in the thousands
    for (double T : {1.0, 4.0, 20.0}) {
      std::vector<double> p = softmax(x, T).to_vector(), lp = log_softmax(x, T).to_vector();
      for (int b = 0; b < 4; ++b) {
        double s = 0;
        for (int k = 0; k < K; ++k) {
          REQUIRE(std::isfinite(p[size_t(b * K + k)]));
          REQUIRE(std::isfinite(lp[size_t(b * K + k)]));
          s += p[size_t(b * K + k)];
        }
        CHECK(s == doctest::Approx(1.0).epsilon(1e-5));  // float32 rows of up to 1000 terms
      }
    }
  }
}

TEST_CASE("softmax: finite-difference gradients, T in {1, 4, 20}") {
  for (double T : {1.0, 4.0, 20.0}) {
    CAPTURE(T);
    Tensor x = spiky_logits(3, 7, 3);
    x.set_requires_grad(true);
    check_gradients([T](const std::vector<Tensor>& in) { return project(softmax(in[0], T)); }, {x});
    check_gradients([T](const std::vector<Tensor>& in) { return project(log_softmax(in[0], T)); }, {x});
  }
}

TEST_CASE("cross_entropy: hand values and label smoothing") {
  Tensor s = Tensor::from_vector({0, 0, 2, 0}, {2, 2}, DType::F64);
  // row 0: uniform over 2 -> log 2; row 1: label 0 with logits (2, 0) -> log(1 + e^-2)
  const double expect = (std::log(2.0) + std::log(1 + std::exp(-2.0))) / 2;
  CHECK(cross_entropy(s, labels_of({1, 0})).item() == doctest::Approx(expect).epsilon(1e-14));
  // smoothing eps: target (1 - eps) onehot + eps / K
  const double eps = 0.2;
  const double lp0 = -std::log(1 + std::exp(-2.0)), lp1 = -2 - std::log(1 + std::exp(-2.0));
  const double row1 = -((1 - eps + eps / 2) * lp0 + (eps / 2) * lp1);
  const double expect_s = (std::log(2.0) + row1) / 2;
  CHECK(cross_entropy(s, labels_of({1, 0}), eps).item() == doctest::Approx(expect_s).epsilon(1e-14));
  CHECK_THROWS_AS(cross_entropy(s, labels_of({2, 0})), Error);  // label out of range
  CHECK_THROWS_AS(cross_entropy(s, labels_of({0})), Error);     // wrong label count
}

TEST_CASE("cross_entropy: finite-difference gradients") {
  Tensor x = spiky_logits(5, 6, 9);
  x.set_requires_grad(true);
  Tensor y = labels_of({0, 5, 2, 2, 3});
  for (double eps : {0.0, 0.1}) {
    check_gradients([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], y, eps); }, {x});
  }
}

TEST_CASE("kd_loss: golden identities") {
  Tensor s = spiky_logits(4, 6, 21), m = spiky_logits(4, 6, 22);
  Tensor y = labels_of({1, 0, 5, 3});
  for (double T : {1.0, 4.0, 20.0}) {
    CAPTURE(T);
    // student == master: KL is zero at any T, and so is its gradient
    Tensor s1 = m.clone();
    s1.set_requires_grad(true);
    Tensor l = kd_loss(s1, m, y, T, 1.0);
    CHECK(std::fabs(l.item()) < 1e-12);
    l.backward();
    for (double g : s1.grad().to_vector()) CHECK(std::fabs(g) < 1e-12);
    // alpha = 0 is plain cross-entropy
    CHECK(kd_loss(s, m, y, T, 0.0).item() == doctest::Approx(cross_entropy(s, y).item()).epsilon(1e-12));
    // alpha = 1 is T^2 * KL(softmax(m/T) || softmax(s/T)), computed independently here
    std::vector<double> pm = softmax(m, T).to_vector(), lq = log_softmax(s, T).to_vector();
    double kl = 0;
    for (size_t i = 0; i < pm.size(); ++i) kl += pm[i] * (std::log(pm[i]) - lq[i]);
    CHECK(kd_loss(s, m, Tensor(), T, 1.0).item() == doctest::Approx(T * T * kl / 4).epsilon(1e-10));
  }
  // the general mix against the formula written out by hand
  std::vector<int> yi{1, 0, 5, 3};
  for (double T : {1.0, 4.0, 20.0})
    for (double alpha : {0.3, 0.9})
      CHECK(kd_loss(s, m, y, T, alpha).item() ==
            doctest::Approx(kd_by_hand(s.to_vector(), m.to_vector(), yi, 4, 6, T, alpha)).epsilon(1e-12));
}

TEST_CASE("kd_loss: the T^2 scaling keeps the soft gradient's size as T grows") {
  // Hinton et al.: d(KL(p_T || q_T))/ds shrinks like 1/T^2 for large T; the T^2 factor undoes it,
  // so the gradient norm approaches a T-independent limit (s - m centred) / K.
  Rng rng(31);
  Tensor s = Tensor::uniform({2, 6}, rng, -1, 1, DType::F64), m = Tensor::uniform({2, 6}, rng, -1, 1, DType::F64);
  auto grad_norm = [&](double T) {
    Tensor sl = s.clone();
    sl.set_requires_grad(true);
    kd_loss(sl, m, Tensor(), T, 1.0).backward();
    double n = 0;
    for (double g : sl.grad().to_vector()) n += g * g;
    return std::sqrt(n);
  };
  // Logits within [-1, 1] make the next-order term ~ |z|/T: under 1% at T = 100.
  const double g100 = grad_norm(100.0), g400 = grad_norm(400.0);
  CHECK(g100 == doctest::Approx(g400).epsilon(0.01));
  CHECK(g100 > 1e-2);
  // Without the T^2 factor the gradient would have shrunk 16-fold between these two.
}

TEST_CASE("kd_loss: finite-difference gradients; the master gets none") {
  Tensor y = labels_of({2, 0, 4});
  for (double T : {1.0, 4.0, 20.0})
    for (double alpha : {0.0, 0.5, 1.0}) {
      CAPTURE(T);
      CAPTURE(alpha);
      Tensor s = spiky_logits(3, 37, 41), m = spiky_logits(3, 37, 42);
      s.set_requires_grad(true);
      check_gradients([&](const std::vector<Tensor>& in) { return kd_loss(in[0], m, y, T, alpha); }, {s});
      // Even a master that requires grad is a constant target: no gradient reaches it.
      m.set_requires_grad(true);
      kd_loss(s, m, y, T, alpha).backward();
      CHECK_FALSE(m.grad().defined());
    }
}
}
