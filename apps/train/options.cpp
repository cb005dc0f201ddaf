// train/options.cpp: TrainOptions helpers (stage list, config.json). See options.h.
#include "apps/train/options.h"

#include <algorithm>

#include "engine/error.h"

namespace cudistill::train {

namespace {
// "cost" is not part of "all": it only measures (cached against online distillation steps).
const std::vector<std::string> kStages = {"features", "head", "soft_labels", "distill", "eval"};
const std::vector<std::string> kKnown = {"features", "head", "soft_labels", "distill", "cost", "eval"};
}

bool TrainOptions::has_stage(const std::string& s) const {
  return std::find(stages.begin(), stages.end(), s) != stages.end();
}

std::vector<std::string> parse_stages(const std::string& list) {
  if (list.empty() || list == "all") return kStages;
  std::vector<std::string> out;
  std::string l = list + ",";
  for (size_t a = 0, b; (b = l.find(',', a)) != std::string::npos; a = b + 1) {
    std::string s = l.substr(a, b - a);
    if (s.empty()) continue;
    USER_CHECK(std::find(kKnown.begin(), kKnown.end(), s) != kKnown.end(), "train: unknown stage '", s,
               "' in --stages (known: features, head, soft_labels, distill, cost, eval)");
    out.push_back(s);
  }
  return out;
}

data::ViewOptions TrainOptions::view_options() const {
  USER_CHECK(crop_min > 0 && crop_min <= 1, "train: --crop-min must be in (0, 1], not ", crop_min);
  data::ViewOptions v;
  v.scale_min = float(crop_min);
  return v;
}

Json TrainOptions::to_json() const {
  Json j = Json::object();
  j["data"] = data;
  j["run_dir"] = run_dir;
  j["master"] = master;
  j["device"] = device;
  j["optimizer"] = optimizer;
  Json st = Json::array();
  for (const auto& s : stages) st.push_back(s);
  j["stages"] = st;
  j["student_width"] = student_width;
  j["student_depth"] = student_depth;
  j["T"] = T;
  j["alpha"] = alpha;
  j["lr"] = lr;
  j["weight_decay"] = weight_decay;
  j["head_lr"] = head_lr;
  j["head_weight_decay"] = head_weight_decay;
  j["val_fraction"] = val_fraction;
  j["epochs"] = epochs;
  j["head_epochs"] = head_epochs;
  j["warmup_epochs"] = warmup_epochs;
  j["ema"] = ema;
  j["batch_size"] = batch_size;
  j["master_size"] = master_size;
  j["student_size"] = student_size;
  j["cache_size"] = cache_size;
  j["views"] = views;
  j["limit"] = limit;
  j["threads"] = threads;
  j["latency_runs"] = latency_runs;
  j["cost_steps"] = cost_steps;
  j["stop_after_epochs"] = stop_after_epochs;
  j["crop_min"] = crop_min;
  j["baseline"] = baseline;
  j["reference"] = reference;
  j["seed"] = seed;
  j["online"] = online;
  j["no_master"] = no_master;
  j["region_targets"] = region_targets;
  return j;
}

}  // namespace cudistill::train
