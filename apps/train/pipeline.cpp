// train/pipeline.cpp: run_pipeline: resolves the device and the master size, loads the data once,
// writes config.json, then runs the requested stages in order (see stages.h).
// Tested in tests/ops/test_train_pipeline.cpp (-tc="train: end*").
#include "apps/train/stages.h"
#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cudistill::train {

namespace {
Device resolve_device(const std::string& name) {
  if (name.empty()) return cuda_available() ? Device::CUDA : Device::CPU;
  if (name == "cpu") return Device::CPU;
  USER_CHECK(name == "cuda", "train: --device must be cpu or cuda, not '", name, "'");
  USER_CHECK(cuda_available(), "train: --device cuda, but this build has no CUDA or no GPU is present");
  return Device::CUDA;
}
}  // namespace

int run_pipeline(const TrainOptions& opts) {
  TrainOptions o = opts;
  USER_CHECK(o.batch_size >= 2, "train: --batch-size must be at least 2");
  USER_CHECK(o.epochs >= 0 && o.head_epochs >= 0, "train: epochs must be >= 0");
  USER_CHECK(o.student_size > 0 && o.cache_size > 0, "train: sizes must be positive");
#ifdef _OPENMP
  if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
  const Device device = resolve_device(o.device);
  o.device = device == Device::CUDA ? "cuda" : "cpu";
  if (o.master_size <= 0 && !o.master.empty()) {
    auto meta = read_checkpoint_metadata(o.master);
    USER_CHECK(meta.count("input_size"), o.master, ": metadata has no input_size: pass --master-size");
    o.master_size = std::stoi(meta.at("input_size"));
  }
  Context c{o, RunDir(o.run_dir), {}, device};
  const double t0 = now_seconds();
  c.data = load_train_data(o);
  c.dir.log("data: %s, %zu classes, train %d, val %d, test %d images at %dpx (%zu skipped), %.1f s", c.data.root.c_str(),
            c.data.classes.size(), c.data.train.n, c.data.val.n, c.data.test.n, o.cache_size, c.data.skipped().size(),
            now_seconds() - t0);
  Json cfg = o.to_json();
  Json cl = Json::array();
  for (const auto& k : c.data.classes) cl.push_back(k);
  cfg["classes"] = cl;
  cfg["files_sha256"] = c.data.files_sha256;
  c.dir.write_json("config.json", cfg);

  const bool need_master = !o.no_master;
  for (const auto& s : o.stages) {
    if (s == "features" && need_master) run_features(c);
    if (s == "head" && need_master) run_head(c);
    if (s == "soft_labels" && need_master && !o.online) run_soft_labels(c);
    if (s == "distill") run_distill(c);
    if (s == "cost") run_cost(c);
    if (s == "eval") run_eval(c);
  }
  return 0;
}

}  // namespace cudistill::train
