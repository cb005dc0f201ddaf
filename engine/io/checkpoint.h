// checkpoint.h: moving named tensors in and out of a Module, with every name and shape checked.
// load_state() is the one place that decides whether a set of tensors fits a model: the
// converter, the checkpoint loader and the apps all go through it, so a missing tensor, a
// leftover one or a shape mismatch is reported the same way everywhere: each by name.
// Checkpoints are safetensors files (docs/DESIGN.md) with metadata: arch, classes, input_size, mean,
// std, source. Tested in tests/ops/test_checkpoint.cpp.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"

namespace cudistill {

// Copies `tensors` into `model`'s state. Names may carry a "module." prefix (DataParallel) that is
// dropped. Integer tensors (num_batches_tracked) become float32. Every parameter and buffer must
// be present with the same shape, and no tensor may be left over, unless listed in `ignore`
// (exact names); otherwise a user error names each offending tensor and `source` (the file).
void load_state(Module& model, const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& source,
                const std::vector<std::string>& ignore = {});

// The model's parameters and buffers by name, as CPU tensors (what a checkpoint stores).
std::vector<std::pair<std::string, Tensor>> state_tensors(Module& model);
// Writes the model's state (CPU copies, float32) and the metadata, atomically.
void save_checkpoint(Module& model, const std::string& path, const std::map<std::string, std::string>& metadata);
// Reads a checkpoint written by save_checkpoint (or any safetensors file with the same names)
// into `model`; returns its metadata.
std::map<std::string, std::string> load_checkpoint(Module& model, const std::string& path);
// Only the metadata (cheap: reads the header), to learn arch and classes before building a model.
std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path);

}  // namespace cudistill
