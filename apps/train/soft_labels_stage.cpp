// train/soft_labels_stage.cpp: stage 3. Loads or (re)builds soft_labels.bin for the run's master
// (master.safetensors of the run directory): a file with the right key, size and checksum is
// reused; anything else (missing, partial, corrupt, another key) is rebuilt with a log line why.
// A rebuild runs the full master on every view.
// Not here: the file format (soft_labels.h). Tested in test_train_pipeline.cpp.
#include <fstream>

#include "apps/train/model_parts.h"
#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

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
  s = build_soft_labels(*master.model, c.data.train, c.o.views, uint64_t(c.o.seed), c.o.view_options(),
                        master.input_size, master.mean, master.std, c.o.batch_size, c.device);
  write_soft_labels(path, key, s);
  const double dt = now_seconds() - t0;
  c.dir.log("soft_labels: %d images x %d views at %dpx, the full master, %.1f s (%.1f views/s)", s.images, s.views,
            master.input_size, dt, double(s.images) * s.views / dt);
  c.dir.record_time("soft_labels", dt);
}

}  // namespace cudistill::train
