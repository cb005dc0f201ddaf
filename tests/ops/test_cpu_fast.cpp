// tests/ops/test_cpu_fast.cpp: the fast float CPU kernels (kernels/cpu/*_fast.cpp) against their
// references (the plain-loop templates, run in double on the same inputs). Shapes cover every
// edge the fast kernels rearrange: odd sizes, stride 1, 2 and 3, padding 0 to 2, kernels of 1, 3
// and 5, planes smaller than the kernel, and the student's own shapes.
// Tolerance: |fast - ref| <= 1e-5 + 1e-5 |ref| for batch norm. For the depthwise convolution an
// output is a sum of up to N * HO * WO float products (9216 for a dw tap of the student's shape)
// whose signs cancel, so its float rounding scales with the sum of the terms' magnitudes, not
// with the result: |fast - ref| <= 1e-6 (mag + |ref|) + 1e-7, where mag is the reference run on
// the inputs' absolute values (exactly the sum of |terms| of each output). Float's 2^-24 grows
// like sqrt(n) in a sum of n terms (about 100x here; the observed error is ~1e-8 mag), so 1e-6
// still catches a wrong tap, a shifted row or a missed border (errors of order 1e-1 mag).
// Run: ./build/tests/test_ops -tc="cpu fast*"
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/conv.h"

namespace {

using namespace cudistill::cpu;

std::vector<double> uniform(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = u(rng);
  return v;
}
std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }
// The reference runs on exactly the float inputs the fast kernel sees.
std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

std::vector<double> abs_of(std::vector<double> v) {
  for (double& x : v) x = std::abs(x);
  return v;
}

// mag empty: the batch-norm rule; else the sum-of-magnitudes rule of the header.
void check_close(const std::vector<float>& fast, const std::vector<double>& ref, const char* what,
                 const std::vector<double>& mag = {}) {
  REQUIRE(fast.size() == ref.size());
  REQUIRE((mag.empty() || mag.size() == ref.size()));
  int bad = 0;
  size_t first = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double tol = mag.empty() ? 1e-5 + 1e-5 * std::abs(ref[i]) : 1e-6 * (mag[i] + std::abs(ref[i])) + 1e-7;
    if (!(std::abs(double(fast[i]) - ref[i]) <= tol) && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", ref.size(), " elements off; first at ", first, ": fast ",
                fast[first], " reference ", ref[first]);
}

struct DwCase {
  int N, C, H, W, K, stride, pad;
};

}  // namespace

TEST_CASE("cpu fast: depthwise convolution forward and backward match the direct-loop reference") {
  const DwCase cases[] = {{2, 3, 7, 9, 3, 1, 1},  {2, 3, 7, 9, 3, 2, 1},   {1, 2, 8, 8, 3, 2, 1}, {3, 4, 5, 6, 5, 1, 2},
                          {2, 2, 11, 7, 5, 2, 2}, {1, 3, 10, 10, 3, 3, 1}, {2, 2, 6, 5, 3, 1, 0}, {2, 2, 6, 5, 3, 2, 0},
                          {1, 2, 2, 3, 3, 1, 1},  {1, 2, 1, 1, 3, 2, 1},   {2, 5, 4, 4, 1, 1, 0}, {4, 16, 48, 48, 3, 1, 1},
                          {4, 32, 48, 48, 3, 2, 1}, {4, 64, 6, 6, 3, 1, 1}};
  uint32_t seed = 1;
  for (const DwCase& k : cases) {
    CAPTURE(k.N); CAPTURE(k.C); CAPTURE(k.H); CAPTURE(k.W); CAPTURE(k.K); CAPTURE(k.stride); CAPTURE(k.pad);
    ConvShape s{k.N, k.C, k.H, k.W, k.C, k.K, k.K, k.stride, k.pad, k.C, 0, 0};
    s.HO = (k.H + 2 * k.pad - k.K) / k.stride + 1;
    s.WO = (k.W + 2 * k.pad - k.K) / k.stride + 1;
    const size_t nx = size_t(k.N) * k.C * k.H * k.W, nw = size_t(k.C) * k.K * k.K, ny = size_t(k.N) * k.C * s.HO * s.WO;
    const std::vector<float> x = to_float(uniform(nx, seed++)), w = to_float(uniform(nw, seed++)),
                             b = to_float(uniform(size_t(k.C), seed++)), dy = to_float(uniform(ny, seed++));
    // Gradients accumulate (+=): both start from the same nonzero values.
    const std::vector<float> dx0 = to_float(uniform(nx, seed++)), dw0 = to_float(uniform(nw, seed++));

    std::vector<float> y(ny, -7.f), dx = dx0, dw = dw0;
    fast::depthwise_fwd(y.data(), x.data(), w.data(), b.data(), s);
    fast::depthwise_bwd(dx.data(), dw.data(), dy.data(), x.data(), w.data(), s);

    const std::vector<double> xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
    std::vector<double> yr(ny), dxr = to_double(dx0), dwr = to_double(dw0);
    depthwise_fwd<double>(yr.data(), xd.data(), wd.data(), bd.data(), s);
    depthwise_bwd<double>(dxr.data(), dwr.data(), dyd.data(), xd.data(), wd.data(), s);
    // The same reference on |inputs|: each output's sum of |terms| (the tolerance's scale).
    const std::vector<double> xa = abs_of(xd), wa = abs_of(wd), ba = abs_of(bd), dya = abs_of(dyd);
    std::vector<double> ym(ny), dxm = abs_of(to_double(dx0)), dwm = abs_of(to_double(dw0)), ym0(ny);
    depthwise_fwd<double>(ym.data(), xa.data(), wa.data(), ba.data(), s);
    depthwise_fwd<double>(ym0.data(), xa.data(), wa.data(), nullptr, s);
    depthwise_bwd<double>(dxm.data(), dwm.data(), dya.data(), xa.data(), wa.data(), s);
    check_close(y, yr, "y", ym);
    check_close(dx, dxr, "dx", dxm);
    check_close(dw, dwr, "dw", dwm);

    // Without a bias, and with only one of the two gradients asked for (null pointers).
    std::vector<float> y2(ny), dx2 = dx0, dw2 = dw0;
    fast::depthwise_fwd(y2.data(), x.data(), w.data(), nullptr, s);
    std::vector<double> yr2(ny);
    depthwise_fwd<double>(yr2.data(), xd.data(), wd.data(), nullptr, s);
    check_close(y2, yr2, "y without bias", ym0);
    fast::depthwise_bwd(dx2.data(), nullptr, dy.data(), x.data(), w.data(), s);
    fast::depthwise_bwd(nullptr, dw2.data(), dy.data(), x.data(), w.data(), s);
    check_close(dx2, dxr, "dx alone", dxm);
    check_close(dw2, dwr, "dw alone", dwm);
  }
}

TEST_CASE("cpu fast: batch norm training forward and backward match the double reference") {
  struct BnCase { int N, C; int64_t HW; };
  const BnCase cases[] = {{2, 3, 1}, {1, 2, 7}, {3, 5, 13}, {64, 4, 2304}, {2, 3, 36}};
  uint32_t seed = 100;
  for (const BnCase& k : cases) {
    CAPTURE(k.N); CAPTURE(k.C); CAPTURE(k.HW);
    const size_t n = size_t(k.N) * k.C * size_t(k.HW), C = size_t(k.C);
    std::vector<double> xs = uniform(n, seed++);
    for (double& v : xs) v = 3.0 + 2.0 * v;  // an offset mean: the two-pass variance must not cancel
    const std::vector<float> x = to_float(xs), g = to_float(uniform(C, seed++)), be = to_float(uniform(C, seed++)),
                             dy = to_float(uniform(n, seed++)), dx0 = to_float(uniform(n, seed++));
    std::vector<float> y(n), mean(C), invstd(C), rm(C, 0.5f), rv(C, 2.f), dx = dx0, dg(C, 0.25f), db(C, -0.5f);
    fast::batchnorm_fwd_train(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(), x.data(), g.data(), be.data(),
                              k.N, k.C, k.HW, 0.1f, 1e-5f);
    std::vector<double> yr(n), meanr(C), invr(C), rmr(C, 0.5), rvr(C, 2.0), dxr = to_double(dx0), dgr(C, 0.25),
                        dbr(C, -0.5);
    const std::vector<double> xd = to_double(x), gd = to_double(g), bd = to_double(be), dyd = to_double(dy);
    batchnorm_fwd_train<double>(yr.data(), meanr.data(), invr.data(), rmr.data(), rvr.data(), xd.data(), gd.data(),
                                bd.data(), k.N, k.C, k.HW, 0.1, 1e-5);
    check_close(y, yr, "y");
    check_close(mean, meanr, "saved mean");
    check_close(rm, rmr, "running mean");
    check_close(rv, rvr, "running var");
    // invstd can be large for tiny batches: compare it relative to itself.
    for (size_t c = 0; c < C; ++c) CHECK(double(invstd[c]) == doctest::Approx(invr[c]).epsilon(1e-5));
    // With the ReLU fused in: forward against the reference followed by max(0, .); backward
    // against the reference fed dy * (y > 0).
    std::vector<float> yrelu(n), m2(C), i2(C), rm2(C, 0.5f), rv2(C, 2.f);
    fast::batchnorm_fwd_train(yrelu.data(), m2.data(), i2.data(), rm2.data(), rv2.data(), x.data(), g.data(), be.data(),
                              k.N, k.C, k.HW, 0.1f, 1e-5f, true);
    std::vector<double> yr_relu = yr;
    for (double& v : yr_relu) v = std::max(v, 0.0);
    check_close(yrelu, yr_relu, "relu(y)");
    {
      std::vector<float> dxt = dx, dgt = dg, dbt = db;
      std::vector<double> dxrt = dxr, dgrt = dgr, dbrt = dbr, dym(n);
      for (size_t i = 0; i < n; ++i) dym[i] = yrelu[i] > 0.f ? double(dy[i]) : 0.0;
      const std::vector<double> md = to_double(mean), id = to_double(invstd);
      fast::batchnorm_bwd(dxt.data(), dgt.data(), dbt.data(), dy.data(), x.data(), g.data(), mean.data(), invstd.data(),
                          k.N, k.C, k.HW, true, yrelu.data());
      batchnorm_bwd<double>(dxrt.data(), dgrt.data(), dbrt.data(), dym.data(), xd.data(), gd.data(), md.data(),
                            id.data(), k.N, k.C, k.HW, true);
      check_close(dxt, dxrt, "dx through the relu");
      check_close(dgt, dgrt, "dgamma through the relu");
      check_close(dbt, dbrt, "dbeta through the relu");
    }
    for (bool training : {true, false}) {
      CAPTURE(training);
      std::vector<float> dxt = dx, dgt = dg, dbt = db;
      std::vector<double> dxrt = dxr, dgrt = dgr, dbrt = dbr;
      // Both sides from the same float statistics, as the autograd node passes them.
      const std::vector<double> md = to_double(mean), id = to_double(invstd);
      fast::batchnorm_bwd(dxt.data(), dgt.data(), dbt.data(), dy.data(), x.data(), g.data(), mean.data(), invstd.data(),
                          k.N, k.C, k.HW, training);
      batchnorm_bwd<double>(dxrt.data(), dgrt.data(), dbrt.data(), dyd.data(), xd.data(), gd.data(), md.data(),
                            id.data(), k.N, k.C, k.HW, training);
      check_close(dxt, dxrt, "dx");
      check_close(dgt, dgrt, "dgamma");
      check_close(dbt, dbrt, "dbeta");
    }
  }
}
