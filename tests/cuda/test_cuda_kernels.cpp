// test_cuda_kernels.cpp: the hand-written kernels called directly, with sentinels: every device
// output buffer is allocated with guard zones before and after it, filled with a poison value,
// and after the kernel the guards must be untouched (an out-of-bounds write shows here even
// where compute-sanitizer is not run), and every output element must have been written.
// Run on a GPU machine: ./build/tests/test_cuda -tc="kernels*"
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "engine/random.h"
#include "kernels/augment.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/softmax.h"

using namespace cudistill;

namespace {
constexpr size_t kGuard = 1024;           // elements on each side
// A value no kernel here produces, per element type.
template <typename T> T poison() {
  if constexpr (std::is_floating_point_v<T>) return T(1234567.0f);
  else return T(0x5A);
}

// A device copy of `host` (or `n` poisoned elements) between two poisoned guard zones.
template <typename T>
struct Guarded {
  size_t n;
  T* base;
  explicit Guarded(size_t n_, const std::vector<T>* host = nullptr) : n(n_) {
    base = static_cast<T*>(cuda_malloc((n + 2 * kGuard) * sizeof(T)));
    std::vector<T> init(n + 2 * kGuard);
    for (T& v : init) v = poison<T>();
    if (host) std::memcpy(init.data() + kGuard, host->data(), n * sizeof(T));
    cuda_memcpy(base, init.data(), init.size() * sizeof(T), 0);
  }
  ~Guarded() { cuda_free(base); }
  T* ptr() const { return base + kGuard; }
  // Copies the payload back; CHECKs the guards are intact and (optionally) that all was written.
  std::vector<T> read(bool all_written = true) const {
    cuda::synchronize();
    std::vector<T> all(n + 2 * kGuard);
    cuda_memcpy(all.data(), base, all.size() * sizeof(T), 1);
    for (size_t i = 0; i < kGuard; ++i) {
      REQUIRE_MESSAGE(all[i] == poison<T>(), "write before the buffer at -", kGuard - i);
      REQUIRE_MESSAGE(all[kGuard + n + i] == poison<T>(), "write past the buffer at +", i);
    }
    std::vector<T> out(all.begin() + kGuard, all.begin() + kGuard + n);
    if (all_written)
      for (size_t i = 0; i < n; ++i) REQUIRE_MESSAGE(out[i] != poison<T>(), "element ", i, " never written");
    return out;
  }
};

std::vector<float> spiky(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(rng.normal() * (rng.uniform() < 0.05 ? 20.0 : 1.0));
  return v;
}

// |a - r| <= atol + rtol |r| for every element
void close(const std::vector<float>& a, const std::vector<float>& r, double atol, double rtol) {
  REQUIRE(a.size() == r.size());
  for (size_t i = 0; i < a.size(); ++i)
    REQUIRE_MESSAGE(std::fabs(double(a[i]) - r[i]) <= atol + rtol * std::fabs(double(r[i])), "element ", i, ": cuda ",
                    a[i], " cpu ", r[i]);
}
}  // namespace

TEST_SUITE("cuda") {
TEST_CASE("kernels: softmax family with sentinels, K in {6, 37, 1000}, T in {1, 4, 20}") {
  for (int K : {1, 6, 37, 1000, 1500})  // 1500: the streamed path for rows over 1024
    for (float T : {1.f, 4.f, 20.f}) {
      CAPTURE(K);
      CAPTURE(T);
      const int B = 333;
      const size_t n = size_t(B) * K;
      std::vector<float> x = spiky(n, uint64_t(K)), dy = spiky(n, 99), y_ref(n), dx_ref(n, 0.5f);
      Guarded<float> gx(n, &x), gy(n), gdy(n, &dy);
      std::vector<float> dx0(n, 0.5f);  // backward accumulates: start from a non-zero buffer
      Guarded<float> gdx(n, &dx0);
      cpu::softmax_fwd<float>(y_ref.data(), x.data(), B, K, 1.f / T);
      cuda::softmax_fwd(gy.ptr(), gx.ptr(), B, K, 1.f / T);
      close(gy.read(), y_ref, 1e-7, 1e-5);
      cpu::softmax_bwd<float>(dx_ref.data(), dy.data(), y_ref.data(), B, K, 1.f / T);
      cuda::softmax_bwd(gdx.ptr(), gdy.ptr(), gy.ptr(), B, K, 1.f / T);
      close(gdx.read(), dx_ref, 1e-6, 1e-4);
      cpu::log_softmax_fwd<float>(y_ref.data(), x.data(), B, K, 1.f / T);
      cuda::log_softmax_fwd(gy.ptr(), gx.ptr(), B, K, 1.f / T);
      close(gy.read(), y_ref, 1e-5, 1e-5);
    }
}

TEST_CASE("kernels: kd_loss and cross_entropy with sentinels") {
  for (int K : {6, 37, 1000, 1500}) {
    const int B = 517;
    const size_t n = size_t(B) * K;
    std::vector<float> s = spiky(n, 1), m = spiky(n, 2), ds_ref(n);
    std::vector<int32_t> y(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) y[size_t(b)] = (b * 7919) % K;
    Guarded<float> gs(n, &s), gm(n, &m), gds(n), gloss(1);
    Guarded<int32_t> gyl(size_t(B), &y);
    for (float T : {1.f, 4.f, 20.f})
      for (float alpha : {0.f, 0.5f, 1.f}) {
        CAPTURE(K);
        CAPTURE(T);
        CAPTURE(alpha);
        float loss_ref = 0;
        cpu::kd_loss_fwd<float>(&loss_ref, ds_ref.data(), s.data(), m.data(), y.data(), B, K, T, alpha);
        cuda::kd_loss_fwd(gloss.ptr(), gds.ptr(), gs.ptr(), gm.ptr(), gyl.ptr(), B, K, T, alpha);
        close(gloss.read(), {loss_ref}, 1e-6, 1e-5);
        close(gds.read(), ds_ref, 1e-8, 1e-4);
        // loss only (no gradient buffer): same loss
        cuda::kd_loss_fwd(gloss.ptr(), nullptr, gs.ptr(), gm.ptr(), gyl.ptr(), B, K, T, alpha);
        close(gloss.read(), {loss_ref}, 1e-6, 1e-5);
      }
    for (float eps : {0.f, 0.1f}) {
      float loss_ref = 0;
      cpu::cross_entropy_fwd<float>(&loss_ref, ds_ref.data(), s.data(), y.data(), B, K, eps);
      cuda::cross_entropy_fwd(gloss.ptr(), gds.ptr(), gs.ptr(), gyl.ptr(), B, K, eps);
      close(gloss.read(), {loss_ref}, 1e-6, 1e-5);
      close(gds.read(), ds_ref, 1e-8, 1e-4);
    }
  }
}

TEST_CASE("kernels: relu and axpy with sentinels at an odd size") {
  const size_t n = 1000003;  // not a multiple of any block size
  std::vector<float> x = spiky(n, 5), y_ref(n);
  Guarded<float> gx(n, &x), gy(n);
  cpu::relu_fwd<float>(y_ref.data(), x.data(), int64_t(n));
  cuda::relu_fwd(gy.ptr(), gx.ptr(), int64_t(n));
  close(gy.read(), y_ref, 0, 0);
  cpu::axpy<float>(y_ref.data(), 0.25f, x.data(), int64_t(n));
  cuda::axpy(gy.ptr(), 0.25f, gx.ptr(), int64_t(n));
  close(gy.read(), y_ref, 1e-7, 1e-7);
}

TEST_CASE("kernels: augment (crop, resize, flip, normalise) matches the CPU") {
  const int N = 5, H = 150, W = 150, OH = 96, OW = 96;
  Rng rng(8);
  std::vector<uint8_t> img(size_t(N) * H * W * 3);
  for (uint8_t& p : img) p = uint8_t(rng.below(256));
  std::vector<cpu::ViewParams> views;
  for (int i = 0; i < N; ++i)
    views.push_back({float(rng.uniform(0, 40)), float(rng.uniform(0, 40)), float(rng.uniform(60, 110)),
                     float(rng.uniform(60, 110)), int32_t(i % 2)});
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
  std::vector<float> ref(size_t(N) * 3 * OH * OW);
  cpu::augment(ref.data(), img.data(), views.data(), N, H, W, OH, OW, mean, stdv);
  Guarded<uint8_t> gimg(img.size(), &img);
  Guarded<float> gout(ref.size());
  void* dviews = cuda_malloc(views.size() * sizeof(cpu::ViewParams));
  cuda_memcpy(dviews, views.data(), views.size() * sizeof(cpu::ViewParams), 0);
  cuda::augment(gout.ptr(), gimg.ptr(), static_cast<const cpu::ViewParams*>(dviews), N, H, W, OH, OW, mean, stdv);
  // FMA contraction on the GPU: a few ulp of values up to ~2.6 in magnitude
  close(gout.read(), ref, 1e-5, 1e-5);
  cuda_free(dviews);
}
}
