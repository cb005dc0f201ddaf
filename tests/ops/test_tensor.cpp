// test_tensor.cpp: Tensor factories, metadata (shape/strides/contiguity), views that share storage
// (reshape, permute, transpose, slice), copies (contiguous, clone, to(dtype)), int32 tensors,
// item()/str(), and the clear error for CUDA tensors in a CPU-only build.
// Run: ./build-b/tests/test_ops -tc="tensor:*"
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/cuda_memory.h"
#include "engine/host_memory.h"
#include "engine/ops/ops.h"
#include "engine/tensor.h"

using namespace cudistill;

namespace {
std::vector<double> iota_values(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  return v;
}
// The message of the cudistill::Error thrown by f, or "" when nothing is thrown.
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("tensor: zeros, ones, full, from_vector") {
  Tensor z = Tensor::zeros({2, 3});
  CHECK(z.dtype() == DType::F32);  // the working type is the default
  CHECK(z.device() == Device::CPU);
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.to_vector() == std::vector<double>(6, 0.0));

  Tensor o = Tensor::ones({4}, DType::F64);
  CHECK(o.dtype() == DType::F64);
  CHECK(o.to_vector() == std::vector<double>(4, 1.0));

  Tensor f = Tensor::full({3, 1}, 2.5);
  CHECK(f.shape() == Shape{3, 1});
  CHECK(f.to_vector() == std::vector<double>(3, 2.5));  // 2.5 is exact in float32

  Tensor v = Tensor::from_vector({1, -2, 3.5, 4, 5, 6}, {3, 2});
  CHECK(v.to_vector() == std::vector<double>{1, -2, 3.5, 4, 5, 6});
  CHECK(v.at({1, 0}) == 3.5);
  CHECK(v.at({2, 1}) == 6);
  // the value count must fill the shape
  CHECK_THROWS_AS(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
  // float32 storage rounds; float64 keeps the double exactly
  CHECK(Tensor::from_vector({0.1}, {1}).item() == double(0.1f));
  CHECK(Tensor::from_vector({0.1}, {1}, DType::F64).item() == 0.1);
  // negative dims are refused
  CHECK_THROWS_AS(Tensor::empty({2, -1}), Error);
}

TEST_CASE("tensor: randn is reproducible with the same seed, scaled by stddev") {
  Rng a(42), b(42), c(43);
  Tensor ra = Tensor::randn({1000}, a);
  Tensor rb = Tensor::randn({1000}, b);
  Tensor rc = Tensor::randn({1000}, c);
  CHECK(ra.to_vector() == rb.to_vector());  // bit-identical
  CHECK(ra.to_vector() != rc.to_vector());
  // A second draw from the same generator continues the stream: different values.
  CHECK(Tensor::randn({1000}, a).to_vector() != ra.to_vector());
  // stddev multiplies each normal draw: a power of two scales exactly, even in float32.
  Rng d(42);
  std::vector<double> r2 = Tensor::randn({1000}, d, 2.0).to_vector();
  std::vector<double> r1 = ra.to_vector();
  bool all_doubled = true;
  for (size_t i = 0; i < r1.size(); ++i) all_doubled &= r2[i] == 2.0 * r1[i];
  CHECK(all_doubled);

  // Standard normal statistics over n = 20000 draws: the sample mean has standard error
  // 1/sqrt(n) ~ 0.007 and the sample std ~ 0.005, so 0.05 is > 7 standard errors (never flaky
  // with a fixed seed, but catches a wrong distribution, e.g. uniform or a missing sqrt).
  Rng e(1);
  std::vector<double> s = Tensor::randn({20000}, e, 1.0, DType::F64).to_vector();
  double m = 0, sq = 0;
  for (double x : s) m += x;
  m /= double(s.size());
  for (double x : s) sq += (x - m) * (x - m);
  const double sd = std::sqrt(sq / double(s.size() - 1));
  CHECK(std::fabs(m) < 0.05);
  CHECK(std::fabs(sd - 1.0) < 0.05);
}

TEST_CASE("tensor: shape, strides, numel, size, contiguity") {
  Tensor x = Tensor::zeros({2, 3, 4});
  CHECK(x.shape() == Shape{2, 3, 4});
  CHECK(x.strides() == Shape{12, 4, 1});  // row-major, in elements
  CHECK(x.numel() == 24);
  CHECK(x.ndim() == 3);
  CHECK(x.size(0) == 2);
  CHECK(x.size(-1) == 4);
  CHECK(x.size(-3) == 2);
  CHECK_THROWS_AS(x.size(3), Error);
  CHECK_THROWS_AS(x.size(-4), Error);
  CHECK(x.is_contiguous());
  CHECK(x.offset() == 0);

  Tensor s = Tensor::zeros({});  // 0-d: one element
  CHECK(s.ndim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 0.0);

  Tensor e = Tensor::zeros({3, 0});
  CHECK(e.numel() == 0);
  CHECK(e.to_vector().empty());
  CHECK(contiguous_strides({5, 1, 2}) == Shape{2, 2, 1});
}

TEST_CASE("tensor: views share storage; writing through a view changes the base") {
  Tensor x = Tensor::from_vector(iota_values(6), {2, 3});
  Tensor r = x.reshape({6});
  CHECK(r.storage() == x.storage());
  r.data<float>()[4] = 42.0f;
  CHECK(x.at({1, 1}) == 42.0);

  // A slice view starts at an offset into the same storage.
  Tensor s = x.slice(1, 1, 3);  // columns 1, 2
  CHECK(s.storage() == x.storage());
  CHECK(s.offset() == 1);
  s.data<float>()[0] = -7.0f;  // s[0, 0] is x[0, 1]
  CHECK(x.at({0, 1}) == -7.0);

  // transpose and permute are views too
  Tensor t = x.transpose(0, 1);
  CHECK(t.storage() == x.storage());
  CHECK(t.at({1, 0}) == -7.0);
  CHECK(t.at({1, 1}) == 42.0);

  // detach is a view without the graph
  Tensor d = x.detach();
  CHECK(d.storage() == x.storage());
  d.data<float>()[0] = 9.0f;
  CHECK(x.at({0, 0}) == 9.0);

  // contiguous() of a contiguous tensor is the tensor itself (no copy)
  Tensor c = x.contiguous();
  CHECK(c.storage() == x.storage());
}

TEST_CASE("tensor: reshape, with -1 inference and errors on bad shapes") {
  Tensor x = Tensor::from_vector(iota_values(24), {2, 3, 4});
  Tensor a = x.reshape({4, -1});
  CHECK(a.shape() == Shape{4, 6});
  CHECK(a.strides() == Shape{6, 1});
  CHECK(a.to_vector() == iota_values(24));  // row-major order is kept
  CHECK(a.at({2, 1}) == 13.0);
  CHECK(x.reshape({-1}).shape() == Shape{24});
  CHECK(x.reshape({2, -1, 3}).shape() == Shape{2, 4, 3});
  CHECK(x.reshape({1, 24, 1}).shape() == Shape{1, 24, 1});

  CHECK_THROWS_AS(x.reshape({5, 5}), Error);      // 25 != 24
  CHECK_THROWS_AS(x.reshape({5, -1}), Error);     // 24 not divisible by 5
  CHECK_THROWS_AS(x.reshape({-1, -1}), Error);    // two unknowns
  CHECK_THROWS_AS(x.reshape({0, -1}), Error);     // nothing to infer from
  const std::string msg = error_message([&] { x.reshape({5, 5}); });
  CHECK(msg.find("(2, 3, 4)") != std::string::npos);
  CHECK(msg.find("(5, 5)") != std::string::npos);

  // Reshaping a strided tensor copies, in the strided tensor's logical (row-major) order.
  Tensor m = Tensor::from_vector(iota_values(6), {2, 3});
  Tensor mt = m.transpose(0, 1);  // (3, 2): [[0, 3], [1, 4], [2, 5]]
  Tensor flat = mt.reshape({6});
  CHECK(flat.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(flat.storage() != m.storage());
  CHECK(flat.is_contiguous());
}

TEST_CASE("tensor: permute and transpose; contiguous() gives row-major order") {
  Tensor x = Tensor::from_vector(iota_values(24), {2, 3, 4});
  Tensor p = x.permute({2, 0, 1});  // p[k, i, j] = x[i, j, k]
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.storage() == x.storage());
  bool all_match = true;
  std::vector<double> expect;
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        all_match &= p.at({k, i, j}) == x.at({i, j, k});
        expect.push_back(double(i * 12 + j * 4 + k));
      }
  CHECK(all_match);
  CHECK(p.to_vector() == expect);

  Tensor c = p.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.shape() == Shape{4, 2, 3});
  CHECK(c.strides() == Shape{6, 3, 1});
  CHECK(c.storage() != x.storage());
  // the raw memory of the copy is row-major in the permuted shape
  const float* raw = c.data<float>();
  std::vector<double> raw_v(raw, raw + 24);
  CHECK(raw_v == expect);

  Tensor t = x.transpose(0, -1);  // == permute({2, 1, 0})
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.to_vector() == x.permute({2, 1, 0}).to_vector());
  CHECK(t.at({3, 2, 1}) == x.at({1, 2, 3}));
  // transposing back is contiguous again (same strides as x)
  CHECK(t.transpose(0, 2).is_contiguous());
  CHECK(t.transpose(0, 2).to_vector() == iota_values(24));

  CHECK_THROWS_AS(x.permute({0, 1}), Error);      // wrong count
  CHECK_THROWS_AS(x.permute({0, 0, 1}), Error);   // repeated dim
  CHECK_THROWS_AS(x.permute({0, 1, 3}), Error);   // out of range
  CHECK_THROWS_AS(x.transpose(0, 3), Error);
}

TEST_CASE("tensor: slice with step and negative start") {
  Tensor x = Tensor::from_vector(iota_values(20), {4, 5});  // x[i, j] = 5i + j
  Tensor cols = x.slice(1, 1, 5, 2);  // columns 1, 3
  CHECK(cols.shape() == Shape{4, 2});
  CHECK(cols.strides() == Shape{5, 2});
  CHECK_FALSE(cols.is_contiguous());
  CHECK(cols.storage() == x.storage());
  CHECK(cols.to_vector() == std::vector<double>{1, 3, 6, 8, 11, 13, 16, 18});

  Tensor rows = x.slice(0, -3, 4);  // rows 1, 2, 3
  CHECK(rows.shape() == Shape{3, 5});
  CHECK(rows.is_contiguous());
  CHECK(rows.offset() == 5);
  CHECK(rows.at({0, 0}) == 5.0);
  CHECK(rows.at({2, 4}) == 19.0);

  Tensor neg = x.slice(-1, -4, 5, 3);  // dim 1, start 1: columns 1, 4
  CHECK(neg.shape() == Shape{4, 2});
  CHECK(neg.to_vector() == std::vector<double>{1, 4, 6, 9, 11, 14, 16, 19});

  Tensor odd = x.slice(0, 0, 4, 3);  // rows 0, 3: ceil(4 / 3) = 2 rows
  CHECK(odd.shape() == Shape{2, 5});
  CHECK(odd.at({1, 2}) == 17.0);

  // a slice of a slice
  Tensor ss = rows.slice(0, 1, 3, 2);  // row 2 of x
  CHECK(ss.shape() == Shape{1, 5});
  CHECK(ss.to_vector() == std::vector<double>{10, 11, 12, 13, 14});

  // contiguous() of a strided slice packs the selected elements
  Tensor packed = cols.contiguous();
  CHECK(packed.is_contiguous());
  CHECK(packed.to_vector() == std::vector<double>{1, 3, 6, 8, 11, 13, 16, 18});

  CHECK(x.slice(1, 2, 2).shape() == Shape{4, 0});  // empty range
  CHECK_THROWS_AS(x.slice(1, 0, 5, 0), Error);     // step must be positive
  CHECK_THROWS_AS(x.slice(2, 0, 1), Error);        // no dim 2
}

TEST_CASE("tensor: clone is an independent copy") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor c = x.clone();
  CHECK(c.storage() != x.storage());
  CHECK(c.to_vector() == x.to_vector());
  c.data<float>()[0] = 100.0f;
  CHECK(x.at({0, 0}) == 1.0);
  x.data<float>()[3] = -4.0f;
  CHECK(c.at({1, 1}) == 4.0);

  // clone of a strided view: contiguous, in the view's order, independent of the base
  Tensor ct = x.transpose(0, 1).clone();
  CHECK(ct.is_contiguous());
  CHECK(ct.to_vector() == std::vector<double>{1, 3, 2, -4});
  CHECK(ct.storage() != x.storage());
  // clone of a contiguous view at an offset copies from the offset
  Tensor row = x.slice(0, 1, 2).clone();
  CHECK(row.offset() == 0);
  CHECK(row.to_vector() == std::vector<double>{3, -4});
}

TEST_CASE("tensor: to(DType) between float32 and float64") {
  Tensor f = Tensor::from_vector({0.5, -1.25, 3.0, 1e-3}, {2, 2});
  Tensor d = f.to(DType::F64);
  CHECK(d.dtype() == DType::F64);
  CHECK(d.shape() == Shape{2, 2});
  CHECK(d.storage() != f.storage());
  // widening is exact: every float32 value is a double
  CHECK(d.to_vector() == f.to_vector());
  CHECK(d.data<double>()[3] == double(1e-3f));

  Tensor third = Tensor::from_vector({1.0 / 3.0}, {1}, DType::F64);
  Tensor narrowed = third.to(DType::F32);
  CHECK(narrowed.dtype() == DType::F32);
  CHECK(narrowed.data<float>()[0] == float(1.0 / 3.0));  // round to nearest, as a C++ cast
  CHECK(narrowed.to(DType::F64).item() == double(float(1.0 / 3.0)));

  // converting a strided view yields the view's row-major order
  Tensor t = f.transpose(0, 1).to(DType::F64);
  CHECK(t.is_contiguous());
  CHECK(t.to_vector() == std::vector<double>{0.5, 3.0, -1.25, double(1e-3f)});
  CHECK(f.to(DType::F32).to_vector() == f.to_vector());
}

TEST_CASE("tensor: int32 tensors") {
  Tensor l = Tensor::from_vector({3, -1, 7, 0}, {2, 2}, DType::I32);
  CHECK(l.dtype() == DType::I32);
  CHECK(l.storage()->bytes() == 4 * sizeof(int32_t));
  const int32_t* p = l.data<int32_t>();
  CHECK(p[0] == 3);
  CHECK(p[1] == -1);
  CHECK(l.at({1, 0}) == 7.0);
  CHECK(l.to_vector() == std::vector<double>{3, -1, 7, 0});
  CHECK_THROWS_AS(l.data<float>(), Error);  // data<T> checks T against the dtype
  // views and copies work on int32 too
  CHECK(l.transpose(0, 1).contiguous().to_vector() == std::vector<double>{3, 7, -1, 0});
  CHECK(l.reshape({4}).to_vector() == std::vector<double>{3, -1, 7, 0});
  Tensor c = l.clone();
  c.data<int32_t>()[0] = 5;
  CHECK(l.at({0, 0}) == 3.0);
  // labels never require gradients
  CHECK_THROWS_AS(l.set_requires_grad(true), Error);
}

TEST_CASE("tensor: item() and str()") {
  CHECK(Tensor::full({1, 1}, -3.0).item() == -3.0);
  CHECK(Tensor::full({}, 8.0, DType::F64).item() == 8.0);
  CHECK_THROWS_AS(Tensor::zeros({2}).item(), Error);
  CHECK_THROWS_AS(Tensor::zeros({0}).item(), Error);
  const std::string m = error_message([] { Tensor::zeros({2, 2}).item(); });
  CHECK(m.find("(2, 2)") != std::string::npos);  // the message names the shape

  Tensor x = Tensor::from_vector({1.5, 2, 3, 4, 5, 6}, {2, 3});
  const std::string s = x.str();
  CHECK(s.find("(2, 3)") != std::string::npos);
  CHECK(s.find("float32") != std::string::npos);
  CHECK(s.find("1.5") != std::string::npos);
  CHECK(s.find("6") != std::string::npos);
  const std::string sd = Tensor::zeros({3}, DType::F64).str();
  CHECK(sd.find("(3,)") != std::string::npos);
  CHECK(sd.find("float64") != std::string::npos);
  CHECK(Tensor::zeros({1}, DType::I32).str().find("int32") != std::string::npos);
  CHECK(Tensor().str() == "Tensor(undefined)");
  // long dims are elided after max_per_dim entries but keep the last one
  const std::string lng = Tensor::from_vector(iota_values(10), {10}).str();
  CHECK(lng.find("[0, 1, 2, 3, 4, 5, ..., 9]") != std::string::npos);
  CHECK(lng.find("7") == std::string::npos);
}

TEST_CASE("tensor: a CUDA tensor in a CPU-only build is a clear error") {
  if (!cuda_available()) {
    CHECK_THROWS_AS(Tensor::empty({2}, DType::F32, Device::CUDA), Error);
    CHECK_THROWS_AS(Tensor::zeros({2}, DType::F32, Device::CUDA), Error);
    CHECK_THROWS_AS(Tensor::ones({2}).to(Device::CUDA), Error);
    try {
      Tensor::empty({2}, DType::F32, Device::CUDA);
    } catch (const Error& e) {
      // it says why and what to do, and it is the user's setting, not an engine bug
      CHECK(std::string(e.what()).find("CUDA") != std::string::npos);
      CHECK(e.user_error());
    }
  } else {
    // A GPU machine: allocation works (CUDA behaviour is tested in the "cuda" suite).
    Tensor t = Tensor::empty({2}, DType::F32, Device::CUDA);
    CHECK(t.device() == Device::CUDA);
  }
}
}  // TEST_SUITE("ops")

TEST_SUITE("ops") {
TEST_CASE("tensor: host blocks are reused") {
  // A large block (>= 1 MB) freed by one tensor serves the next request of its size, so a loop
  // that allocates the same activations each step does not map fresh pages every time.
  // 37 MB + a bit: a size no other test allocates, so the cache holds no other block of it.
  const int64_t n = (int64_t(37) << 18) + 12345;
  void* first = nullptr;
  {
    Tensor a = Tensor::empty({n});
    first = a.raw_data();
  }
  const size_t before = host_memory_stats().reuses;
  Tensor b = Tensor::empty({n});
  CHECK(b.raw_data() == first);
  CHECK(host_memory_stats().reuses == before + 1);
  Tensor small = Tensor::ones({16});  // small blocks bypass the cache and still work
  CHECK(sum(small).item() == 16);
}
}
