// train/features.cpp: stage 1. The frozen master backbone (the --master checkpoint, under NoGrad)
// turns every train/val/test image, seen whole at the master's input size, into its pooled
// feature vector, once; features.safetensors holds {train,val,test}.{x (N, D), y (N)} and a key
// (data files + master sha256 + size + normalisation) so that a valid file is reused, not redone.
// Not here: the head (head.cpp). Tested by the end-to-end case of test_train_pipeline.cpp.
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
// cache -> (N, D) features on the CPU.
Tensor extract(Module& m, const data::ImageCache& cache, const Net& net, int size, int batch_size, Device device) {
  NoGrad no_grad;
  const int D = feature_dim(m);
  Tensor out = Tensor::empty({cache.n, D});
  float* dst = out.data<float>();
  for (int b0 = 0; b0 < cache.n; b0 += batch_size) {
    std::vector<int> idx;
    for (int i = b0; i < std::min(cache.n, b0 + batch_size); ++i) idx.push_back(i);
    Tensor x = data::make_batch(cache, idx, data::eval_views(cache, idx.size()), size, size, net.mean, net.std, device);
    Tensor f = backbone_features(m, x).to(Device::CPU).contiguous();
    std::copy(f.data<float>(), f.data<float>() + f.numel(), dst + size_t(b0) * size_t(D));
  }
  return out;
}

Tensor labels_tensor(const data::ImageCache& cache) {
  Tensor y = Tensor::empty({cache.n}, DType::I32);
  std::copy(cache.labels.begin(), cache.labels.end(), y.data<int32_t>());
  return y;
}
}  // namespace

void run_features(Context& c) {
  USER_CHECK(!c.o.master.empty(), "train: the features stage needs --master (a .safetensors from apps/convert)");
  const std::string path = c.dir.file("features.safetensors");
  const std::string key = sha256_hex("features v1\nfiles " + c.data.files_sha256 + "\nmaster " +
                                     sha256_file(c.o.master) + "\nsize " + std::to_string(c.o.master_size));
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
    tensors.emplace_back(std::string(names[k]) + ".x",
                         extract(*net.model, *caches[k], net, c.o.master_size, c.o.batch_size, c.device));
    tensors.emplace_back(std::string(names[k]) + ".y", labels_tensor(*caches[k]));
    images += caches[k]->n;
  }
  write_safetensors(path, tensors, {{"key", key}, {"arch", net.arch}, {"input_size", std::to_string(c.o.master_size)}});
  const double dt = now_seconds() - t0;
  c.dir.log("features: %s backbone at %dpx, %lld images, dim %d, %.1f s (%.1f images/s) -> %s", net.arch.c_str(),
            c.o.master_size, (long long)images, feature_dim(*net.model), dt, double(images) / dt, path.c_str());
  c.dir.record_time("features", dt);
}

}  // namespace cudistill::train
