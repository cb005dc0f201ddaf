// train/stages.h: the five stages of apps/train and what they share. Each stage reads its inputs
// from the run directory and writes its outputs there, so any stage can be re-run alone
// (`--stages distill,eval`) once the earlier ones have run:
//   features    -> features.safetensors (master backbone, pooled, eval view; keyed, reused when valid;
//                                        --head-views: also the K soft-label views of each train image)
//   head        -> master.safetensors   (backbone + a linear head trained on the cached features)
//   soft_labels -> soft_labels.bin      (K views per training image + master logits; keyed; from the
//                                        view features through the head when features has them)
//   distill     -> student.safetensors  (best validation accuracy; --region-targets also caches the
//                                        master's class maps, class_maps.safetensors)
//   cost        -> distill_cost.json    (cached vs online step times; only when asked for by name)
//   eval        -> metrics.json, report.md
// run_pipeline also writes config.json; every stage logs to stdout and log.txt.
// Tested in tests/ops/test_train_pipeline.cpp (-tc="train*").
#pragma once
#include <string>
#include <vector>

#include "apps/train/data.h"
#include "apps/train/model_parts.h"
#include "apps/train/options.h"
#include "apps/train/run_dir.h"
#include "engine/io/safetensors.h"
#include "engine/nn/module.h"

namespace cudistill::train {

struct Context {
  TrainOptions o;   // master_size resolved
  RunDir dir;
  TrainData data;
  Device device = Device::CPU;
};

void run_features(Context& c);
void run_head(Context& c);
void run_soft_labels(Context& c);
void run_distill(Context& c);
void run_cost(Context& c);
void run_eval(Context& c);

// The soft_labels.bin key of this run for `master` (loaded from the run dir's master.safetensors).
std::string soft_label_key_for(const Context& c, const Net& master);
// View v of training image i in soft_labels.bin (and in features.safetensors' train.views.x).
cpu::ViewParams soft_label_view(const Context& c, int image, int v);
// features.safetensors' key for this run's data, --master, master size (and views, --head-views).
std::string features_key(const Context& c);
// The run's features.safetensors, checked to belong to this run's split (a user error otherwise).
SafetensorsFile read_features(const Context& c);

// Runs o.stages in order; returns 0 (exit code). Errors throw (cli::run_main maps them).
int run_pipeline(const TrainOptions& o);

// Argmax class of each image of `cache`, seen whole (eval view) at size x size. Also returns the
// logits when `logits` is given ((N, K), row-major).
std::vector<int> predict_classes(Module& m, const data::ImageCache& cache, int size, const float mean[3],
                                 const float std[3], int batch_size, Device device,
                                 std::vector<float>* logits = nullptr);
double accuracy(const std::vector<int>& pred, const std::vector<int32_t>& labels);
// The class of largest logit in each row of (N, K) float logits on the CPU (the first on ties).
std::vector<int> argmax_rows(const Tensor& logits);

}  // namespace cudistill::train
