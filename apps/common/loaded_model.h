// loaded_model.h: a checkpoint -> a ready-to-run model with what it needs to see an image: its
// class names, input size and normalisation, all read from the checkpoint's metadata (docs/DESIGN.md:
// arch, classes, input_size, mean, std, source), so that eval and predict take no model flags.
// Not here: training state (optimizer moments, schedules), architectures the registry lacks.
// Tested in tests/ops/test_apps.cpp: ./build/tests/test_ops -tc="apps*"
#pragma once
#include <string>
#include <vector>

#include "engine/data/image.h"
#include "engine/nn/module.h"

namespace cudistill::cli {

struct LoadedModel {
  ModulePtr model;                   // eval mode, frozen, on the requested device
  std::string arch;
  std::vector<std::string> classes;  // label k is classes[k]
  int input_size = 0;                // the network sees input_size x input_size images
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};  // x = (pixel/255 - mean) / std, per RGB channel
  std::string source;                // where the weights came from ("" when not recorded)
  double width = 1.0, depth = 1.0;   // a student's multipliers (1 for other networks)
};

// Reads the metadata, builds the architecture with one output per class (students also read the
// optional `width` and `depth` keys), loads and checks every tensor, moves the model to `device`.
// A missing file, missing or malformed metadata, or tensors that do not fit: a user error naming
// the checkpoint and the key or tensor.
LoadedModel load_model(const std::string& checkpoint, Device device);

// --device: "cpu", "cuda", or "" for cuda when available, else cpu. CUDA requested without a GPU
// (or a CUDA build) is a user error, never a quiet CPU run.
Device parse_device(const std::string& name);

// The input of `m` for one image: the central square crop (side min(H, W)), resized bilinearly
// to input_size and normalised with the checkpoint's mean/std. x: (1, 3, S, S) on `device`.
Tensor preprocess_center_crop(const data::Image& img, const LoadedModel& m, Device device);

}  // namespace cudistill::cli
