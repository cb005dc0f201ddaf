// train/options.h: every setting of one `apps/train` run, as plain values (no flag parsing here:
// main.cpp maps flags onto this struct, the tests fill it directly), and its config.json form.
// Not here: validation of paths (the stages check what they open) or defaults of the checkpoint
// (master_size 0 means "the master checkpoint's input_size", resolved by the pipeline).
// Tested through tests/ops/test_train_pipeline.cpp (-tc="train*").
#pragma once
#include <string>
#include <vector>

#include "engine/data/augment.h"
#include "engine/io/json.h"

namespace cudistill::train {

struct TrainOptions {
  std::string data = "../shared/data/intel";  // image-folder data set (engine/data/folder.h layouts)
  std::string run_dir = "runs/train";         // where every artifact goes (docs/DESIGN.md, "Run directory")
  std::string master;                         // master checkpoint (.safetensors from apps/convert)
  std::string device;                         // "cpu", "cuda" or "" (cuda when available)
  std::string optimizer = "adamw";            // student optimizer: adamw or sgd
  std::vector<std::string> stages = {"features", "head", "soft_labels", "distill", "eval"};
  std::string baseline;                       // eval: a --no-master student checkpoint to compare with
  std::string reference;                      // eval: an architecture (e.g. resnet152) timed for the ratios
  double student_width = 1.0, student_depth = 1.0;
  double T = 4.0, alpha = 0.9;                // kd_loss temperature and weight of the KL term
  double lr = 2e-3, weight_decay = 0.05;      // student
  double ema = 0;                             // distill: decay of the weights' moving average (0: off; ema.h)
  double head_lr = 1e-3, head_weight_decay = 1e-4;
  double val_fraction = 0.1;
  int epochs = 30, head_epochs = 30, warmup_epochs = 1;
  int batch_size = 64;
  int master_size = 0;                        // 0: the checkpoint's input_size
  int student_size = 96;
  int cache_size = 150;                       // images are decoded once at this size (Intel: native)
  int views = 8;                              // K augmented views per training image in soft_labels.bin
  int limit = 0;                              // at most this many images per split, stratified; 0: all
  int threads = 0;                            // OpenMP threads; 0: OpenMP's default
  int latency_runs = 20;                      // batch-1 timings per model for p50/p95
  int cost_steps = 20;                        // cost stage: timed steps of each kind (cached, online)
  double crop_min = 0.25;                     // random crops cover [crop_min, 1] of the image area
  int seed = 0;
  int stop_after_epochs = 0;                  // distill: stop after this many epochs of this call (0: run to the end)
  bool online = false;                        // run the master in the distillation loop (no cache)
  bool no_master = false;                     // plain CE baseline (alpha = 0), no master at all
  bool region_targets = false;                // fresh views every epoch, KD target: the master's class map over the box

  bool has_stage(const std::string& s) const;
  data::ViewOptions view_options() const;  // the training augmentation (crop area range, flip)
  Json to_json() const;  // every field, for config.json
};

// "features,head" -> {"features", "head"}; "all" or "" -> every stage. An unknown name is a user error.
std::vector<std::string> parse_stages(const std::string& list);

}  // namespace cudistill::train
