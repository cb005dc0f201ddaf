// registry.h: builds any network of cudistill by name ("resnet152", "student", ...), so that apps
// and checkpoints (whose metadata carries `arch`) need no switch of their own.
#pragma once
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace cudistill {

struct ModelSpec {
  std::string arch;         // resnet18..152, student, efficientnet_lite0..2
  int num_classes = 1000;
  double width = 1.0;       // student only: channel multiplier
  double depth = 1.0;       // student only: block-count multiplier
  uint64_t seed = 0;        // initialisation
};

ModulePtr make_model(const ModelSpec& spec);
std::vector<std::string> model_names();

}  // namespace cudistill
