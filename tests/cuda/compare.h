// compare.h: run one computation on the CPU (the float32 reference path) and on CUDA, and
// compare the outputs and every input gradient elementwise, |a - r| <= atol + rtol*|r|, plus a
// whole-tensor NMSE = sum (a - r)^2 / sum r^2 (ggml's test-backend-ops check).
// The loss is a fixed random projection sum(y * R), identical on both devices, so every output
// element sends back a different gradient.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/ops.h"

namespace cudistill::test {

struct Tol {
  double atol, rtol, nmse;
};

inline void expect_close(const std::string& what, const Tensor& got, const Tensor& ref, const Tol& tol) {
  REQUIRE(got.shape() == ref.shape());
  std::vector<double> a = got.to_vector(), r = ref.to_vector();
  double num = 0, den = 0;
  int64_t bad = 0, first_bad = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE_MESSAGE(std::isfinite(a[i]), what, ": non-finite value at ", i);
    const double d = a[i] - r[i];
    num += d * d;
    den += r[i] * r[i];
    if (std::fabs(d) > tol.atol + tol.rtol * std::fabs(r[i]) && bad++ == 0) first_bad = int64_t(i);
  }
  const double nmse = den > 0 ? num / den : num;
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", a.size(), " elements out of tolerance; first at ", first_bad,
                " (cuda ", first_bad >= 0 ? a[size_t(first_bad)] : 0.0, ", cpu ",
                first_bad >= 0 ? r[size_t(first_bad)] : 0.0, ")");
  CHECK_MESSAGE(nmse <= tol.nmse, what, ": NMSE ", nmse, " > ", tol.nmse);
}

// inputs: float32 CPU tensors; `grad` says which ones get gradients compared.
inline void compare_devices(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                            const std::vector<Tensor>& inputs, const std::vector<bool>& grad, const Tol& fwd,
                            const Tol& bwd, uint64_t seed = 3) {
  auto run = [&](Device dev, std::vector<Tensor>& ins) {
    ins.clear();
    for (size_t i = 0; i < inputs.size(); ++i) {
      // A fresh copy on both devices: to(CPU) of a CPU tensor is the same tensor, and marking it
      // as requiring grad would mark the caller's input, which to(CUDA) then refuses.
      Tensor t = inputs[i].clone().to(dev);
      if (i < grad.size() && grad[i]) t.set_requires_grad(true);
      ins.push_back(t);
    }
    Tensor y = f(ins);
    Rng rng(seed);
    Tensor r = Tensor::uniform(y.shape(), rng, -1, 1).to(dev);
    if (y.requires_grad()) sum(mul(y, r)).backward();
    return y;
  };
  std::vector<Tensor> cpu_in, gpu_in;
  Tensor ref = run(Device::CPU, cpu_in);
  Tensor got = run(Device::CUDA, gpu_in);
  CHECK(got.device() == Device::CUDA);
  expect_close("forward", got, ref, fwd);
  for (size_t i = 0; i < cpu_in.size(); ++i) {
    if (!cpu_in[i].requires_grad()) continue;
    CAPTURE(i);
    REQUIRE(gpu_in[i].grad().defined());
    expect_close("gradient", gpu_in[i].grad(), cpu_in[i].grad(), bwd);
  }
}

inline Tensor rand_t(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  Rng rng(seed);
  return Tensor::uniform(s, rng, lo, hi);
}

}  // namespace cudistill::test
