// train/evaluate.h: measuring one model for the eval stage: test accuracy, per-class accuracy and
// confusion (whole image at the model's input size), parameters, fp32 size, MACs (MacCounter on a
// batch-1 forward) and batch-1 latency p50/p95 on the CPU and, on a cuda run, on the GPU.
// Not here: writing metrics.json and report.md (report.cpp). Tested through test_train_pipeline.cpp.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "apps/train/stages.h"

namespace cudistill::train {

struct Latency {
  double p50 = 0, p95 = 0;
};

struct ModelEval {
  std::string name, arch, source;
  int input_size = 0;
  int64_t params = 0, size_bytes = 0, macs = 0;
  std::vector<int> pred;                    // test predictions (empty for an architecture only)
  double accuracy = -1;                     // -1: not measured (architecture only)
  std::vector<double> per_class;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  Latency cpu;
  std::optional<Latency> gpu;
  bool has_accuracy() const { return accuracy >= 0; }
};

// A checkpoint, scored on c.data.test and timed.
ModelEval evaluate(Context& c, const std::string& name, const std::string& path);
// An architecture only (--reference, e.g. resnet152 for the original challenge's ratios):
// parameters, size, MACs and latency at the images' own size (--cache-size), from freshly
// initialised weights (weights change none of these). It has no accuracy.
ModelEval evaluate_architecture(Context& c, const std::string& name, const std::string& arch);

}  // namespace cudistill::train
