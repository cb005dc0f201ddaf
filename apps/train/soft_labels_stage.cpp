// train/soft_labels_stage.cpp: stage 3. Loads or (re)builds soft_labels.bin for the run's master
// (master.safetensors of the run directory): a file with the right key, size and checksum is
// reused; anything else (missing, partial, corrupt, another key) is rebuilt with a log line why.
// A rebuild runs the full master on every view, except with --head-views: the features stage has
// already run the backbone on exactly these views, and the master is that backbone then a linear
// head, so the logits are the head on the cached features (the same numbers, one master pass
// fewer; checked equal in the tests).
// Not here: the file format (soft_labels.h). Tested in test_train_pipeline.cpp.
#include <fstream>

#include "apps/train/model_parts.h"
#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

namespace {
// The soft labels from features.safetensors' train.views.x, or an empty result (views = 0) when
// the file has none for this run's views.
SoftLabels from_view_features(const Context& c, Net& master) {
  SoftLabels s;
  SafetensorsFile f = read_features(c);
  if (!f.tensors.count("train.views.x") || f.metadata["key"] != features_key(c)) return s;
  const int64_t total = int64_t(c.data.train.n) * c.o.views;
  NoGrad no_grad;
  Tensor z = classifier_head(*master.model).forward(f.tensors.at("train.views.x").to(c.device)).to(Device::CPU).contiguous();
  ENGINE_CHECK(z.size(0) == total, "soft_labels: ", z.size(0), " view features for ", total, " views");
  s.images = c.data.train.n;
  s.views = c.o.views;
  s.classes = int(z.size(1));
  s.logits.assign(z.data<float>(), z.data<float>() + z.numel());
  for (int64_t r = 0; r < total; ++r) s.view_params.push_back(soft_label_view(c, int(r / s.views), int(r % s.views)));
  return s;
}
}  // namespace

std::string soft_label_key_for(const Context& c, const Net& master) {
  SoftLabelKey k;
  k.files_sha256 = c.data.files_sha256;
  k.master_sha256 = sha256_file(c.dir.file("master.safetensors"));
  k.aug = c.o.view_options();
  k.seed = uint64_t(c.o.seed);
  k.views = c.o.views;
  k.cache_h = c.data.train.h;
  k.cache_w = c.data.train.w;
  k.master_size = master.input_size;
  for (int i = 0; i < 3; ++i) k.mean[i] = master.mean[i], k.std[i] = master.std[i];
  return k.hex();
}

void run_soft_labels(Context& c) {
  const std::string mpath = c.dir.file("master.safetensors"), path = c.dir.file("soft_labels.bin");
  USER_CHECK(std::ifstream(mpath).good(), "train: ", mpath, " is missing: run the head stage first");
  USER_CHECK(c.o.views >= 1, "train: --views must be at least 1");
  Net master = load_net(mpath, c.device);
  const std::string key = soft_label_key_for(c, master);
  SoftLabels s;
  std::string why;
  if (read_soft_labels(path, key, s, why)) {
    c.dir.log("soft_labels: %s is valid (%d images x %d views, key %.12s), reused", path.c_str(), s.images, s.views,
              key.c_str());
    return;
  }
  c.dir.log("soft_labels: building %s (%s)", path.c_str(), why.c_str());
  const double t0 = now_seconds();
  if (c.o.head_views) s = from_view_features(c, master);
  const bool from_features = s.views > 0;
  if (!from_features)
    s = build_soft_labels(*master.model, c.data.train, c.o.views, uint64_t(c.o.seed), c.o.view_options(),
                          master.input_size, master.mean, master.std, c.o.batch_size, c.device);
  write_soft_labels(path, key, s);
  const double dt = now_seconds() - t0;
  c.dir.log("soft_labels: %d images x %d views at %dpx, %s, %.1f s (%.1f views/s)", s.images, s.views,
            master.input_size, from_features ? "the head on the cached view features" : "the full master", dt,
            double(s.images) * s.views / dt);
  c.dir.record_time("soft_labels", dt);
}

}  // namespace cudistill::train
