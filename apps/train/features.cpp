// train/features.cpp: stage 1. The frozen master backbone (the --master checkpoint, under NoGrad)
// turns every train/val/test image, seen whole at the master's input size, into its pooled
// feature vector, once; features.safetensors holds {train,val,test}.{x (N, D), y (N)} and a key
// (data files + master sha256 + size) so that a valid file is reused, not redone.
// With --head-views it also holds train.views.x (N * K, D): the backbone on the K soft-label views
// of every training image (random_view(seed, epoch = v, i), record i * K + v, the order of
// soft_labels.bin), so that the head can train on crops and the soft labels need no second
// master pass (the head is linear on the pooled features: head(features of a view) is the full
// master on that view). The views' settings join the key.
// Not here: the head (head.cpp). Tested by the end-to-end case of test_train_pipeline.cpp.
#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/train/model_parts.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

namespace {
// Record r of the output: image r / views of `cache`, through view r % views: the whole image
// when views == 0 (one record per image), else soft_label_view(c, image, v).
Tensor extract(Module& m, const Context& c, const data::ImageCache& cache, int views, const Net& net) {
  NoGrad no_grad;
  const int D = feature_dim(m), per = std::max(1, views), size = c.o.master_size;
  const int64_t total = int64_t(cache.n) * per;
  Tensor out = Tensor::empty({total, D});
  float* dst = out.data<float>();
  for (int64_t r0 = 0; r0 < total; r0 += c.o.batch_size) {
    std::vector<int> idx;
    std::vector<cpu::ViewParams> vp;
    for (int64_t r = r0; r < std::min(total, r0 + c.o.batch_size); ++r) {
      idx.push_back(int(r / per));
      vp.push_back(views ? soft_label_view(c, idx.back(), int(r % per)) : data::eval_view(cache.h, cache.w));
    }
    Tensor x = data::make_batch(cache, idx, vp, size, size, net.mean, net.std, c.device);
    Tensor f = backbone_features(m, x).to(Device::CPU).contiguous();
    std::copy(f.data<float>(), f.data<float>() + f.numel(), dst + r0 * D);
  }
  return out;
}

Tensor labels_tensor(const data::ImageCache& cache) {
  Tensor y = Tensor::empty({cache.n}, DType::I32);
  std::copy(cache.labels.begin(), cache.labels.end(), y.data<int32_t>());
  return y;
}
}  // namespace

cpu::ViewParams soft_label_view(const Context& c, int image, int v) {
  return data::random_view(c.data.train.h, c.data.train.w, uint64_t(c.o.seed), v, image, c.o.view_options());
}

std::string features_key(const Context& c) {
  USER_CHECK(!c.o.master.empty(), "train: the features stage needs --master (a .safetensors from apps/convert)");
  std::string k = "features v1\nfiles " + c.data.files_sha256 + "\nmaster " + sha256_file(c.o.master) + "\nsize " +
                  std::to_string(c.o.master_size);
  if (c.o.head_views) {
    const data::ViewOptions a = c.o.view_options();
    char buf[160];
    std::snprintf(buf, sizeof buf, "\nviews %d seed %d scale %.9g %.9g ratio %.9g %.9g flip %.9g", c.o.views, c.o.seed,
                  double(a.scale_min), double(a.scale_max), double(a.ratio_min), double(a.ratio_max), double(a.flip_p));
    k += buf;
  }
  return sha256_hex(k);
}

SafetensorsFile read_features(const Context& c) {
  const std::string path = c.dir.file("features.safetensors");
  USER_CHECK(std::filesystem::is_regular_file(path), "train: ", path, " is missing: run the features stage first");
  SafetensorsFile f = read_safetensors(path);
  // Rows are images of this run's split: another split (another --seed or --val-fraction) has
  // as many rows, in another order. Files before this check carry no "files" entry.
  USER_CHECK(!f.metadata.count("files") || f.metadata["files"] == c.data.files_sha256, "train: ", path,
             " was computed for another train/val split or data set (other --data, --seed, --val-fraction or "
             "--limit): re-run the features stage");
  USER_CHECK(f.tensors.count("train.x") && f.tensors.at("train.x").ndim() == 2 &&
                 f.tensors.at("train.x").size(0) == c.data.train.n,
             "train: ", path, " does not hold one feature row per training image (", c.data.train.n,
             "): re-run the features stage");
  return f;
}

void run_features(Context& c) {
  const std::string path = c.dir.file("features.safetensors");
  const std::string key = features_key(c);
  if (std::filesystem::is_regular_file(path)) {
    auto meta = read_safetensors(path).metadata;
    if (meta.count("key") && meta["key"] == key) {
      c.dir.log("features: %s is up to date (key %.12s), reused", path.c_str(), key.c_str());
      return;
    }
    c.dir.log("features: %s has another key (data or master changed): rebuilding", path.c_str());
  }
  const double t0 = now_seconds();
  Net net = load_net(c.o.master, c.device);
  std::vector<std::pair<std::string, Tensor>> tensors;
  const char* names[3] = {"train", "val", "test"};
  const data::ImageCache* caches[3] = {&c.data.train, &c.data.val, &c.data.test};
  int64_t images = 0;
  for (int k = 0; k < 3; ++k) {
    tensors.emplace_back(std::string(names[k]) + ".x", extract(*net.model, c, *caches[k], 0, net));
    tensors.emplace_back(std::string(names[k]) + ".y", labels_tensor(*caches[k]));
    images += caches[k]->n;
  }
  if (c.o.head_views) {
    USER_CHECK(c.o.views >= 1, "train: --head-views needs --views of at least 1");
    tensors.emplace_back("train.views.x", extract(*net.model, c, c.data.train, c.o.views, net));
    images += int64_t(c.data.train.n) * c.o.views;
  }
  write_safetensors(path, tensors,
                    {{"key", key}, {"files", c.data.files_sha256}, {"arch", net.arch},
                     {"input_size", std::to_string(c.o.master_size)},
                     {"views", std::to_string(c.o.head_views ? c.o.views : 0)}});
  const double dt = now_seconds() - t0;
  c.dir.log("features: %s backbone at %dpx, %lld images%s, dim %d, %.1f s (%.1f images/s) -> %s", net.arch.c_str(),
            c.o.master_size, (long long)images,
            c.o.head_views ? " and views" : "", feature_dim(*net.model), dt, double(images) / dt, path.c_str());
  c.dir.record_time("features", dt);
}

}  // namespace cudistill::train
