// train/model_parts.h: what the pipeline needs of a classifier beyond forward(): its pooled
// features (the frozen backbone), its final Linear (the head) and its checkpoint round trip with
// the metadata of docs/DESIGN.md (arch, classes, input_size, mean, std, source; students add width,
// depth). Works on the three concrete families (ResNet, Student, EfficientNetLite) by
// dynamic_cast, so models/ needs no common interface.
// Not here: training (head.cpp, distill.cpp). Tested through tests/ops/test_train_pipeline.cpp.
#pragma once
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "engine/nn/module.h"

namespace cudistill::train {

Tensor backbone_features(Module& m, const Tensor& x);  // x: (N, 3, H, W) -> (N, D)
// The same before the global pool: x: (N, 3, H, W) -> (N, D, h, w); its mean over (h, w) is the above.
Tensor backbone_feature_map(Module& m, const Tensor& x);
Linear& classifier_head(Module& m);
int feature_dim(Module& m);

struct Net {
  ModulePtr model;
  std::string arch;
  std::vector<std::string> classes;
  int input_size = 0;
  float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  double width = 1.0, depth = 1.0;  // students only
  std::string source;               // metadata "source" ("" when absent)
};

// Reads a checkpoint (metadata first, to size the model), loads every tensor, eval mode, frozen,
// on `device`. A bad file or metadata: a user error naming the file.
Net load_net(const std::string& path, Device device);
// Writes net.model's state with net's metadata (atomic).
void save_net(const Net& net, const std::string& path);

// dst's tensors = src's, by name, where both have the name and the shape (the rest untouched).
void copy_matching_state(Module& dst, Module& src);

}  // namespace cudistill::train
