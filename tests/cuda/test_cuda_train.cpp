// test_cuda_train.cpp: the pieces of apps/train that do arithmetic on the training device,
// on CUDA against the CPU: --cutmix's paste and its mixed cross-entropy (cutmix.h), forward and
// backward. Both are compositions of ops tested in test_cuda_ops.cpp; this checks the
// composition (the mask's upload and broadcast, the two labels' weights) on the device.
// Run on a GPU machine: ./build/tests/test_cuda -tc="cuda: cutmix*"   (tests/gpu/run.sh runs all)
#include <doctest/doctest.h>

#include "apps/train/cutmix.h"
#include "compare.h"

using namespace cudistill;
using cudistill::test::compare_devices;
using cudistill::test::rand_t;
using cudistill::test::Tol;

TEST_SUITE("cuda") {
TEST_CASE("cuda: cutmix's paste and mixed cross-entropy match the CPU") {
  // The paste is a select (x * 0/1 + y * 1/0): exact. The CE is cross_entropy's tolerance.
  const Tol exact{1e-6, 1e-6, 1e-12};
  const train::Patch p{5, 2, 30, 17};
  compare_devices([&](const std::vector<Tensor>& v) { return train::paste_patch(v[0], v[1], p); },
                  {rand_t({4, 3, 32, 32}, 1), rand_t({4, 3, 32, 32}, 2)}, {true, true}, exact, exact);
  Rng rng(3);
  std::vector<double> a(64), b(64);
  for (size_t i = 0; i < a.size(); ++i) a[i] = rng.below(6), b[i] = rng.below(6);
  const Tensor ya = Tensor::from_vector(a, {64}, DType::I32), yb = Tensor::from_vector(b, {64}, DType::I32);
  compare_devices(
      [&](const std::vector<Tensor>& v) {
        return train::mixed_cross_entropy(v[0], ya.to(v[0].device()), yb.to(v[0].device()), 0.37);
      },
      {rand_t({64, 6}, 4, -5, 5)}, {true}, Tol{1e-5, 1e-5, 1e-10}, Tol{1e-7, 1e-4, 1e-9});
}
}
