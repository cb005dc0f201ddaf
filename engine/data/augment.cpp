// data/augment.cpp: view sampling (torchvision's RandomResizedCrop.get_params, transcribed) and
// batch assembly over the augment kernels (see augment.h).
// Tested in tests/ops/test_data.cpp (-tc="data*").
#include "engine/data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace cudistill::data {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

void check_batch(const ImageCache& cache, const std::vector<int>& indices, const std::vector<cpu::ViewParams>& views,
                 int out_h, int out_w) {
  ENGINE_CHECK(indices.size() == views.size(), "make_batch: ", indices.size(), " indices but ", views.size(), " views");
  ENGINE_CHECK(out_h > 0 && out_w > 0, "make_batch: output size ", out_h, "x", out_w);
  for (int i : indices) ENGINE_CHECK(i >= 0 && i < cache.n, "make_batch: image index ", i, " outside [0, ", cache.n, ")");
}

}  // namespace

cpu::ViewParams sample_view(int H, int W, Rng& rng, const ViewOptions& opt) {
  ENGINE_CHECK(H > 0 && W > 0, "sample_view on an empty image (", H, "x", W, ")");
  USER_CHECK(0.f < opt.scale_min && opt.scale_min <= opt.scale_max && opt.scale_max <= 1.f,
             "crop scale must satisfy 0 < min <= max <= 1, got [", opt.scale_min, ", ", opt.scale_max, "]");
  USER_CHECK(0.f < opt.ratio_min && opt.ratio_min <= opt.ratio_max, "crop aspect ratio must satisfy 0 < min <= max, got [",
             opt.ratio_min, ", ", opt.ratio_max, "]");
  // torchvision's RandomResizedCrop.get_params, in double like Python's floats.
  const double area = double(H) * double(W);
  const double log_rmin = std::log(double(opt.ratio_min)), log_rmax = std::log(double(opt.ratio_max));
  int x0 = 0, y0 = 0, cw = 0, ch = 0;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target_area = area * rng.uniform(opt.scale_min, opt.scale_max);
    const double aspect = std::exp(rng.uniform(log_rmin, log_rmax));
    cw = int(std::lround(std::sqrt(target_area * aspect)));
    ch = int(std::lround(std::sqrt(target_area / aspect)));
    if (0 < cw && cw <= W && 0 < ch && ch <= H) {
      y0 = int(rng.below(uint32_t(H - ch + 1)));
      x0 = int(rng.below(uint32_t(W - cw + 1)));
      found = true;
    }
  }
  if (!found) {
    // Fallback (rare: only very elongated images miss 10 times): a centre crop, clamped to the
    // allowed aspect ratios.
    const double in_ratio = double(W) / double(H);
    if (in_ratio < opt.ratio_min) {
      cw = W;
      ch = std::min(H, int(std::lround(W / double(opt.ratio_min))));
    } else if (in_ratio > opt.ratio_max) {
      ch = H;
      cw = std::min(W, int(std::lround(H * double(opt.ratio_max))));
    } else {
      cw = W;
      ch = H;
    }
    y0 = (H - ch) / 2;
    x0 = (W - cw) / 2;
  }
  // The flip is drawn after the crop, as torchvision's Compose([RandomResizedCrop, RandomHorizontalFlip]) does.
  const int32_t flip = rng.uniform() < double(opt.flip_p) ? 1 : 0;
  return cpu::ViewParams{float(x0), float(y0), float(cw), float(ch), flip};
}

uint64_t view_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ uint64_t(epoch)) ^ uint64_t(index));
}

cpu::ViewParams random_view(int H, int W, uint64_t seed, int64_t epoch, int64_t index, const ViewOptions& opt) {
  Rng rng(view_seed(seed, epoch, index));
  return sample_view(H, W, rng, opt);
}

cpu::ViewParams eval_view(int H, int W) { return cpu::ViewParams{0.f, 0.f, float(W), float(H), 0}; }

std::vector<cpu::ViewParams> random_views(const ImageCache& cache, const std::vector<int>& indices, uint64_t seed,
                                          int64_t epoch, const ViewOptions& opt) {
  std::vector<cpu::ViewParams> views;
  views.reserve(indices.size());
  for (int i : indices) views.push_back(random_view(cache.h, cache.w, seed, epoch, i, opt));
  return views;
}

std::vector<cpu::ViewParams> eval_views(const ImageCache& cache, size_t count) {
  return std::vector<cpu::ViewParams>(count, eval_view(cache.h, cache.w));
}

Tensor make_batch(const ImageCache& cache, const std::vector<int>& indices, const std::vector<cpu::ViewParams>& views,
                  int out_h, int out_w, const float mean[3], const float std[3], Device device) {
  check_batch(cache, indices, views, out_h, out_w);
  const int B = int(indices.size()), H = cache.h, W = cache.w;
  const Shape shape{B, 3, out_h, out_w};  // x: (B, 3, OH, OW)
  if (device == Device::CPU) {
    Tensor out = Tensor::empty(shape, DType::F32, Device::CPU);
    float* dst = out.data<float>();
    const size_t per_image = size_t(3) * out_h * out_w;
    // One image per iteration: cpu::augment reads image indices[b] straight from the cache (no
    // gather copy), and the images are independent.
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; ++b)
      cpu::augment(dst + size_t(b) * per_image, cache.image(indices[size_t(b)]), &views[size_t(b)], 1, H, W, out_h,
                   out_w, mean, std);
    return out;
  }
#if defined(CUDISTILL_HAVE_CUDA)
  Tensor out = Tensor::empty(shape, DType::F32, Device::CUDA);
  if (B == 0) return out;
  // Gather the batch's images into one host buffer (pageable, so the copy is staged by the driver), upload it and the views, and run
  // the kernel; the uploads are synchronous (cuda_memcpy), so the host buffers may go right after.
  const size_t img_bytes = cache.image_bytes();
  std::vector<uint8_t> staging(size_t(B) * img_bytes);
  for (int b = 0; b < B; ++b) std::memcpy(staging.data() + size_t(b) * img_bytes, cache.image(indices[size_t(b)]), img_bytes);
  // Device scratch freed on every path (the caching allocator keeps it for the next batch; stream
  // order makes freeing before the kernel has finished safe, see engine/cuda_memory.cu).
  struct DeviceBuffer {
    void* p;
    ~DeviceBuffer() { cuda_free(p); }
  };
  DeviceBuffer d_src{cuda_malloc(staging.size())};
  DeviceBuffer d_views{cuda_malloc(size_t(B) * sizeof(cpu::ViewParams))};
  cuda_memcpy(d_src.p, staging.data(), staging.size(), 0);
  cuda_memcpy(d_views.p, views.data(), size_t(B) * sizeof(cpu::ViewParams), 0);
  cuda::augment(out.data<float>(), static_cast<const uint8_t*>(d_src.p), static_cast<const cpu::ViewParams*>(d_views.p),
                B, H, W, out_h, out_w, mean, std);
  return out;
#else
  USER_CHECK(false, "make_batch on ", device_name(device), ": this cudistill was built without CUDA; "
             "reconfigure with nvcc on PATH, or assemble batches on the CPU");
  return Tensor();
#endif
}

Tensor batch_labels(const ImageCache& cache, const std::vector<int>& indices, Device device) {
  Tensor y = Tensor::empty({int64_t(indices.size())}, DType::I32, Device::CPU);
  int32_t* p = y.data<int32_t>();
  for (size_t b = 0; b < indices.size(); ++b) {
    const int i = indices[b];
    ENGINE_CHECK(i >= 0 && i < cache.n, "batch_labels: image index ", i, " outside [0, ", cache.n, ")");
    p[b] = cache.labels[size_t(i)];
  }
  return y.to(device);
}

}  // namespace cudistill::data
