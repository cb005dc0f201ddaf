// test_cuda_ops.cpp: every op on CUDA against the CPU reference, forward and backward, on random
// inputs, with the tolerance of each op stated beside it and why.
// Run on a GPU machine: ./build/tests/test_cuda -ts=cuda   (tests/gpu/run.sh does)
#include <doctest/doctest.h>

#include "compare.h"
#include "engine/cuda_memory.h"
#include "engine/optim/optim.h"

#include <memory>

using namespace cudistill;
using cudistill::test::compare_devices;
using cudistill::test::rand_t;
using cudistill::test::Tol;

namespace {
// Exact ops (copies, max, relu) and single roundings: bitwise equal up to the last ulp.
const Tol kExact{1e-6, 1e-6, 1e-12};
// Sums whose order differs (atomics, tree reductions vs the CPU's sequential double sum).
const Tol kReduce{1e-5, 1e-5, 1e-10};
// Dot products of a few hundred float32 terms in another order (cuBLAS, cuDNN, no TF32).
const Tol kGemm{1e-4, 1e-4, 1e-9};

Tensor labels(int B, int K, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(B));
  for (double& x : v) x = rng.below(uint32_t(K));
  return Tensor::from_vector(v, {B}, DType::I32);
}

// Logits with spiky outliers (a few times 20, as llm.c's tests do).
Tensor spiky(int B, int K, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(B) * K);
  for (double& x : v) x = rng.normal() * (rng.uniform() < 0.05 ? 20.0 : 1.0);
  return Tensor::from_vector(v, {B, K});
}
}  // namespace

TEST_SUITE("cuda") {
TEST_CASE("cuda: elementwise ops with broadcasting") {
  Tensor a = rand_t({4, 3, 5, 6}, 1), b = rand_t({4, 3, 5, 6}, 2), bias = rand_t({1, 3, 1, 1}, 3);
  compare_devices([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a, b}, {true, true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return sub(x[0], x[1]); }, {a, b}, {true, true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a, b}, {true, true}, kExact, kExact);
  // the broadcast input's gradient is a sum over 4*5*6 elements
  compare_devices([](const std::vector<Tensor>& x) { return add(x[0], x[1]); }, {a, bias}, {true, true}, kExact,
                  kReduce);
  compare_devices([](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }, {a, bias}, {true, true}, kExact,
                  kReduce);
  compare_devices([](const std::vector<Tensor>& x) { return scale(x[0], -1.7); }, {a}, {true}, kExact, kExact);
  Tensor wide = rand_t({1000, 37}, 4, -8, 8);
  compare_devices([](const std::vector<Tensor>& x) { return relu(x[0]); }, {wide}, {true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return relu6(x[0]); }, {wide}, {true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return mean(x[0]); }, {wide}, {true}, kReduce, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return sum(x[0]); }, {rand_t({1 << 20}, 5)}, {true},
                  Tol{1e-3, 1e-5, 1e-10}, kExact);  // 1M float terms: the CPU sums in double
}

TEST_CASE("cuda: views and copies") {
  Tensor a = rand_t({4, 6, 5}, 6);
  compare_devices([](const std::vector<Tensor>& x) { return x[0].transpose(0, 2).contiguous(); }, {a}, {true}, kExact,
                  kExact);
  compare_devices([](const std::vector<Tensor>& x) { return x[0].slice(1, 1, 6, 2).contiguous(); }, {a}, {true},
                  kExact, kExact);
  compare_devices([](const std::vector<Tensor>& x) { return flatten(x[0]); }, {a}, {true}, kExact, kExact);
}

TEST_CASE("cuda: conv2d (cuDNN) forward, backward-data, backward-filter, bias") {
  struct C { int N, Cin, H, W, O, K, stride, pad, groups; };
  const C cases[] = {{2, 3, 17, 15, 8, 3, 1, 1, 1},  {4, 16, 20, 20, 32, 3, 2, 1, 1}, {2, 32, 14, 14, 32, 3, 1, 1, 32},
                     {3, 64, 9, 9, 16, 1, 1, 0, 1},  {1, 3, 150, 150, 24, 7, 2, 3, 1}, {2, 8, 11, 11, 16, 3, 1, 1, 2}};
  for (const C& c : cases) {
    CAPTURE(c.groups);
    CAPTURE(c.K);
    Tensor x = rand_t({c.N, c.Cin, c.H, c.W}, 7), w = rand_t({c.O, c.Cin / c.groups, c.K, c.K}, 8, -0.3, 0.3);
    Tensor b = rand_t({c.O}, 9);
    compare_devices(
        [&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], c.stride, c.pad, c.groups); }, {x, w, b},
        {true, true, true}, kGemm, Tol{1e-3, 1e-4, 1e-9});  // dw sums over N*HO*WO terms
  }
}

TEST_CASE("cuda: linear and matmul (cuBLAS)") {
  Tensor x = rand_t({33, 70}, 10), w = rand_t({13, 70}, 11), b = rand_t({13}, 12), m = rand_t({70, 29}, 13);
  compare_devices([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}, {true, true, true},
                  kGemm, kGemm);
  compare_devices([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {x, m}, {true, true}, kGemm, kGemm);
}

TEST_CASE("cuda: batch_norm2d training and eval") {
  // relu: the fused ReLU (CUDA: the two kernels in a row; CPU float: the fused fast kernel).
  for (bool relu : {false, true})
    for (bool training : {true, false}) {
      CAPTURE(training);
      CAPTURE(relu);
      Tensor x = rand_t({8, 16, 9, 7}, 14, -2, 3), g = rand_t({16}, 15, 0.5, 1.5), b = rand_t({16}, 16);
      compare_devices(
          [training, relu](const std::vector<Tensor>& v) {
            Tensor rm = Tensor::zeros({16}, DType::F32, v[0].device()), rv = Tensor::ones({16}, DType::F32, v[0].device());
            return batch_norm2d(v[0], v[1], v[2], rm, rv, training, 0.1, 1e-5, relu);
          },
          {x, g, b}, {true, true, true}, Tol{1e-5, 1e-4, 1e-10}, Tol{1e-4, 1e-4, 1e-9});
    }
  // the running statistics are updated the same way on both devices
  Tensor x = rand_t({8, 4, 5, 5}, 17);
  Tensor g = Tensor::ones({4}), b = Tensor::zeros({4});
  Tensor rm = Tensor::zeros({4}), rv = Tensor::ones({4});
  Tensor gd = g.to(Device::CUDA), bd = b.to(Device::CUDA), rmd = rm.to(Device::CUDA), rvd = rv.to(Device::CUDA);
  batch_norm2d(x, g, b, rm, rv, true);
  batch_norm2d(x.to(Device::CUDA), gd, bd, rmd, rvd, true);
  test::expect_close("running_mean", rmd, rm, Tol{1e-6, 1e-5, 1e-10});
  test::expect_close("running_var", rvd, rv, Tol{1e-6, 1e-5, 1e-10});
}

TEST_CASE("cuda: pooling") {
  Tensor x = rand_t({3, 5, 15, 13}, 18);
  compare_devices([](const std::vector<Tensor>& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}, {true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& v) { return max_pool2d(v[0], 2, 2); }, {x}, {true}, kExact, kExact);
  compare_devices([](const std::vector<Tensor>& v) { return avg_pool2d(v[0], 3, 2, 1, true); }, {x}, {true}, kReduce,
                  kReduce);
  compare_devices([](const std::vector<Tensor>& v) { return avg_pool2d(v[0], 3, 2, 1, false); }, {x}, {true}, kReduce,
                  kReduce);
  compare_devices([](const std::vector<Tensor>& v) { return global_avg_pool(v[0]); }, {x}, {true}, kReduce, kExact);
  // EfficientNet's asymmetric SAME padding
  compare_devices([](const std::vector<Tensor>& v) { return pad2d(v[0], 0, 1, 2, 1); }, {x}, {true}, kExact, kExact);
}

TEST_CASE("cuda: softmax and log_softmax, K in {6, 37, 1000}, T in {1, 4, 20}") {
  for (int K : {6, 37, 1000})
    for (double T : {1.0, 4.0, 20.0}) {
      CAPTURE(K);
      CAPTURE(T);
      Tensor x = spiky(257, K, uint64_t(K));  // 257 rows: not a multiple of any rows-per-block
      // exp and the row sum in float vs the CPU's double: a few ulp relative. The gradient
      // dx = y (dy - sum_j dy_j y_j) / T subtracts a float sum of O(|dy|) = O(1) from dy: that
      // sum's few-ulp error (~1e-7, measured on an H200: up to 1.2e-7 at T = 1) stays absolute
      // where dy and the sum cancel, hence atol = 4 ulp of 1 over T, not a relative bound.
      compare_devices([T](const std::vector<Tensor>& v) { return softmax(v[0], T); }, {x}, {true},
                      Tol{1e-7, 1e-5, 1e-10}, Tol{5e-7 / T, 1e-4, 1e-9});
      compare_devices([T](const std::vector<Tensor>& v) { return log_softmax(v[0], T); }, {x}, {true},
                      Tol{1e-5, 1e-5, 1e-10}, Tol{1e-6, 1e-4, 1e-9});
    }
}

TEST_CASE("cuda: cross_entropy and kd_loss, K in {6, 37, 1000}, T in {1, 4, 20}") {
  for (int K : {6, 37, 1000}) {
    Tensor s = spiky(300, K, 19), m = spiky(300, K, 20), y = labels(300, K, 21);
    for (double eps : {0.0, 0.1})
      compare_devices([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], v[1], eps); }, {s, y},
                      {true, false}, Tol{1e-5, 1e-5, 1e-10}, Tol{1e-7, 1e-4, 1e-9});
    for (double T : {1.0, 4.0, 20.0})
      for (double alpha : {0.0, 0.5, 1.0}) {
        CAPTURE(K);
        CAPTURE(T);
        CAPTURE(alpha);
        compare_devices([&](const std::vector<Tensor>& v) { return kd_loss(v[0], v[1], v[2], T, alpha); }, {s, m, y},
                        {true, false, false}, Tol{1e-5, 1e-5, 1e-10}, Tol{1e-7, 1e-4, 1e-9});
      }
  }
  // A label out of range is a host-side error before any kernel runs.
  Tensor bad = Tensor::from_vector({0, 9}, {2}, DType::I32).to(Device::CUDA);
  CHECK_THROWS_AS(cross_entropy(Tensor::zeros({2, 6}, DType::F32, Device::CUDA), bad), Error);
}

TEST_CASE("cuda: SGD and AdamW steps match the CPU") {
  for (int which : {0, 1}) {
    Tensor p = rand_t({1000}, 22), g = rand_t({1000}, 23);
    Tensor pc = p.clone(), pd = p.to(Device::CUDA);
    pc.set_requires_grad(true);
    pd.set_requires_grad(true);
    std::unique_ptr<Optimizer> oc, od;
    if (which == 0) {
      SGDOptions o{0.1, 0.9, 1e-4, true};
      oc = std::make_unique<SGD>(std::vector<Tensor>{pc}, o);
      od = std::make_unique<SGD>(std::vector<Tensor>{pd}, o);
    } else {
      AdamWOptions o;
      oc = std::make_unique<AdamW>(std::vector<Tensor>{pc}, o);
      od = std::make_unique<AdamW>(std::vector<Tensor>{pd}, o);
    }
    for (int step = 0; step < 3; ++step) {
      sum(mul(pc, g)).backward();
      sum(mul(pd, g.to(Device::CUDA))).backward();
      oc->step();
      od->step();
      oc->zero_grad();
      od->zero_grad();
    }
    test::expect_close("parameters", pd, pc, Tol{1e-6, 1e-5, 1e-12});
  }
}

TEST_CASE("cuda: the caching allocator reuses freed blocks") {
  const CudaMemoryStats before = cuda_memory_stats();
  for (int i = 0; i < 10; ++i) Tensor::empty({1 << 20}, DType::F32, Device::CUDA);
  const CudaMemoryStats after = cuda_memory_stats();
  CHECK(after.device_mallocs - before.device_mallocs <= 1);  // 9 of the 10 requests reuse a block
  CHECK(after.cache_hits - before.cache_hits >= 9);
}

TEST_CASE("cuda: out of memory is a clear user error") {
  try {
    Tensor::empty({int64_t(1) << 45}, DType::F32, Device::CUDA);  // 128 TiB
    FAIL("allocating 128 TiB should have failed");
  } catch (const Error& e) {
    CHECK(e.user_error());
    CHECK(std::string(e.what()).find("out of memory") != std::string::npos);
    CHECK(std::string(e.what()).find("requested") != std::string::npos);
  }
  Tensor ok = Tensor::ones({16}, DType::F32, Device::CUDA);  // the device still works afterwards
  CHECK(sum(ok).item() == 16);
}
}
