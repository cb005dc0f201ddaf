// train/region_targets.cpp: see region_targets.h.
#include "apps/train/region_targets.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "apps/train/soft_labels.h"
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

namespace {
std::string maps_key(const Context& c) {
  return sha256_hex("class maps v1\nfiles " + c.data.files_sha256 + "\nmaster " +
                    sha256_file(c.dir.file("master.safetensors")) + "\nsize " + std::to_string(c.o.master_size));
}

ClassMaps compute(const Context& c, Net& master) {
  NoGrad no_grad;
  const data::ImageCache& train = c.data.train;
  Linear& head = classifier_head(*master.model);
  ClassMaps m;
  m.images = train.n;
  for (int b0 = 0; b0 < train.n; b0 += c.o.batch_size) {
    std::vector<int> idx;
    for (int i = b0; i < std::min(train.n, b0 + c.o.batch_size); ++i) idx.push_back(i);
    Tensor x = data::make_batch(train, idx, data::eval_views(train, idx.size()), c.o.master_size, c.o.master_size,
                                master.mean, master.std, c.device);
    Tensor f = backbone_feature_map(*master.model, x).to(Device::CPU).contiguous();  // (B, D, gh, gw)
    const int64_t B = f.size(0), D = f.size(1), gh = f.size(2), gw = f.size(3), cells = gh * gw;
    // One row per cell, (B * gh * gw, D), so the head maps every cell in one call.
    Tensor rows = Tensor::empty({B * cells, D});
    const float* src = f.data<float>();
    float* dst = rows.data<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t s = 0; s < cells; ++s) dst[(b * cells + s) * D + d] = src[(b * D + d) * cells + s];
    Tensor z = head.forward(rows.to(c.device)).to(Device::CPU).contiguous();  // (B * cells, K)
    m.gh = int(gh);
    m.gw = int(gw);
    m.classes = int(z.size(1));
    m.v.insert(m.v.end(), z.data<float>(), z.data<float>() + z.numel());
  }
  return m;
}
}  // namespace

ClassMaps class_maps(Context& c, Net& master) {
  const std::string path = c.dir.file("class_maps.safetensors");
  const std::string key = maps_key(c);
  if (std::filesystem::is_regular_file(path)) {
    SafetensorsFile f = read_safetensors(path);
    if (f.metadata.count("key") && f.metadata["key"] == key && f.tensors.count("train.maps")) {
      const Tensor& t = f.tensors.at("train.maps");
      USER_CHECK(t.ndim() == 4 && t.size(0) == c.data.train.n, "train: ", path, " has the right key but ",
                 t.ndim() == 4 ? t.size(0) : -1, " maps for ", c.data.train.n, " images: delete it to rebuild");
      ClassMaps m;
      m.images = int(t.size(0));
      m.gh = int(t.size(1));
      m.gw = int(t.size(2));
      m.classes = int(t.size(3));
      m.v.assign(t.data<float>(), t.data<float>() + t.numel());
      c.dir.log("distill: class maps %s reused (%dx%d cells per image)", path.c_str(), m.gh, m.gw);
      return m;
    }
  }
  const double t0 = now_seconds();
  ClassMaps m = compute(c, master);
  Tensor t = Tensor::empty({m.images, m.gh, m.gw, m.classes});
  std::copy(m.v.begin(), m.v.end(), t.data<float>());
  write_safetensors(path, {{"train.maps", t}}, {{"key", key}, {"input_size", std::to_string(c.o.master_size)}});
  c.dir.log("distill: class maps of %d training images at %dpx (%dx%d cells), %.1f s -> %s", m.images,
            c.o.master_size, m.gh, m.gw, now_seconds() - t0, path.c_str());
  return m;
}

void region_logits(float* out, const ClassMaps& m, int image, const cpu::ViewParams& view, int H, int W) {
  ENGINE_CHECK(image >= 0 && image < m.images, "region_logits: image ", image, " outside [0, ", m.images, ")");
  // Cell (y, x) covers rows [y H/gh, (y+1) H/gh) and columns [x W/gw, (x+1) W/gw) of the image.
  auto overlap = [](double a0, double a1, double b0, double b1) { return std::max(0.0, std::min(a1, b1) - std::max(a0, b0)); };
  const double ch = double(H) / m.gh, cw = double(W) / m.gw;
  std::vector<double> acc(size_t(m.classes), 0.0);
  double total = 0;
  for (int y = 0; y < m.gh; ++y) {
    const double oy = overlap(view.y0, double(view.y0) + view.h, y * ch, (y + 1) * ch);
    if (oy <= 0) continue;
    for (int x = 0; x < m.gw; ++x) {
      const double wgt = oy * overlap(view.x0, double(view.x0) + view.w, x * cw, (x + 1) * cw);
      if (wgt <= 0) continue;
      const float* z = m.cell(image, y, x);
      for (int k = 0; k < m.classes; ++k) acc[size_t(k)] += wgt * z[k];
      total += wgt;
    }
  }
  ENGINE_CHECK(total > 0, "region_logits: the view box (", view.x0, ", ", view.y0, ", ", view.w, " x ", view.h,
               ") misses the ", W, " x ", H, " image");
  for (int k = 0; k < m.classes; ++k) out[k] = float(acc[size_t(k)] / total);
}

Tensor region_rows(const ClassMaps& m, const std::vector<int>& idx, const std::vector<cpu::ViewParams>& views, int H,
                   int W, Device device) {
  ENGINE_CHECK(idx.size() == views.size(), "region_rows: ", idx.size(), " images but ", views.size(), " views");
  Tensor t = Tensor::empty({int64_t(idx.size()), int64_t(m.classes)});
  for (size_t r = 0; r < idx.size(); ++r)
    region_logits(t.data<float>() + r * size_t(m.classes), m, idx[r], views[r], H, W);
  return t.to(device);
}

void log_region_fidelity(Context& c, Net& master, const ClassMaps& m, const std::vector<int>& idx,
                         const std::vector<cpu::ViewParams>& views) {
  const data::ImageCache& train = c.data.train;
  if (idx.empty()) return;
  const Tensor approx = region_rows(m, idx, views, train.h, train.w, Device::CPU);
  const std::vector<float> full = logits_on_views(*master.model, train, idx, views, c.o.master_size, master.mean,
                                                  master.std, c.o.batch_size, c.device);
  const int K = m.classes;
  int agree = 0, right_full = 0, right_approx = 0;
  double diff = 0;
  for (size_t r = 0; r < idx.size(); ++r) {
    const float* a = approx.data<float>() + r * size_t(K);
    const float* f = full.data() + r * size_t(K);
    const int ta = int(std::max_element(a, a + K) - a), tf = int(std::max_element(f, f + K) - f);
    const int y = train.labels[size_t(idx[r])];
    agree += ta == tf;
    right_full += tf == y;
    right_approx += ta == y;
    for (int k = 0; k < K; ++k) diff += std::abs(double(a[k]) - double(f[k]));
  }
  const double n = double(idx.size());
  c.dir.log("distill: class maps against the full master on %d training crops: top-1 agreement %.4f, accuracy %.4f "
            "(full master %.4f), mean |logit difference| %.3f",
            int(idx.size()), agree / n, right_approx / n, right_full / n, diff / (n * K));
}

}  // namespace cudistill::train
