// train/features.cpp: stage 1. The frozen master backbone (the --master checkpoint, under NoGrad)
// turns every train/val/test image, seen whole at the master's input size, into its pooled
// feature vector, once; features.safetensors holds {train,val,test}.{x (N, D), y (N)} and a key
// (data files + master sha256 + size) so that a valid file is reused, not redone.
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
// Row i of the output: image i of `cache`, seen whole (the eval view) at the master's size.
Tensor extract(Module& m, const Context& c, const data::ImageCache& cache, const Net& net) {
  NoGrad no_grad;
  const int D = feature_dim(m), size = c.o.master_size;
  const int64_t total = cache.n;
  Tensor out = Tensor::empty({total, D});
  float* dst = out.data<float>();
  for (int64_t r0 = 0; r0 < total; r0 += c.o.batch_size) {
    std::vector<int> idx;
    std::vector<cpu::ViewParams> vp;
    for (int64_t r = r0; r < std::min(total, r0 + c.o.batch_size); ++r) {
      idx.push_back(int(r));
      vp.push_back(data::eval_view(cache.h, cache.w));
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
  return sha256_hex("features v1\nfiles " + c.data.files_sha256 + "\nmaster " + sha256_file(c.o.master) + "\nsize " +
                    std::to_string(c.o.master_size));
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
    tensors.emplace_back(std::string(names[k]) + ".x", extract(*net.model, c, *caches[k], net));
    tensors.emplace_back(std::string(names[k]) + ".y", labels_tensor(*caches[k]));
    images += caches[k]->n;
  }
  write_safetensors(path, tensors,
                    {{"key", key}, {"files", c.data.files_sha256}, {"arch", net.arch},
                     {"input_size", std::to_string(c.o.master_size)}});
  const double dt = now_seconds() - t0;
  c.dir.log("features: %s backbone at %dpx, %lld images, dim %d, %.1f s (%.1f images/s) -> %s", net.arch.c_str(),
            c.o.master_size, (long long)images, feature_dim(*net.model), dt, double(images) / dt, path.c_str());
  c.dir.record_time("features", dt);
}

}  // namespace cudistill::train
