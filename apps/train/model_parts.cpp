// train/model_parts.cpp: see model_parts.h.
#include "apps/train/model_parts.h"

#include <cstdio>
#include <map>

#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "models/efficientnet_lite.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "models/student.h"

namespace cudistill::train {

Tensor backbone_features(Module& m, const Tensor& x) {
  if (auto* s = dynamic_cast<Student*>(&m)) return s->features(x);
  if (auto* r = dynamic_cast<ResNet*>(&m)) return r->features(x);
  if (auto* e = dynamic_cast<EfficientNetLite*>(&m)) return e->features(x);
  ENGINE_CHECK(false, "backbone_features: not a ResNet, Student or EfficientNetLite");
}

Linear& classifier_head(Module& m) {
  if (auto* s = dynamic_cast<Student*>(&m)) return s->head();
  if (auto* r = dynamic_cast<ResNet*>(&m)) return r->head();
  if (auto* e = dynamic_cast<EfficientNetLite*>(&m)) return e->head();
  ENGINE_CHECK(false, "classifier_head: not a ResNet, Student or EfficientNetLite");
}

int feature_dim(Module& m) {
  if (auto* s = dynamic_cast<Student*>(&m)) return s->feature_dim();
  if (auto* r = dynamic_cast<ResNet*>(&m)) return r->feature_dim();
  if (auto* e = dynamic_cast<EfficientNetLite*>(&m)) return e->feature_dim();
  ENGINE_CHECK(false, "feature_dim: not a ResNet, Student or EfficientNetLite");
}

namespace {
void read_triplet(const std::map<std::string, std::string>& meta, const std::string& key, float out[3],
                  const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) return;  // ImageNet statistics by default
  Json j = Json::parse(it->second, path + " metadata " + key);
  USER_CHECK(j.is_array() && j.size() == 3, path, ": metadata '", key, "' must be an array of 3 numbers");
  for (int c = 0; c < 3; ++c) out[c] = float(j.at(size_t(c)).as_double());
}

std::string triplet(const float v[3]) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "[%.9g, %.9g, %.9g]", v[0], v[1], v[2]);
  return buf;
}
}  // namespace

Net load_net(const std::string& path, Device device) {
  const auto meta = read_checkpoint_metadata(path);
  Net net;
  auto get = [&](const std::string& k) -> std::string {
    auto it = meta.find(k);
    USER_CHECK(it != meta.end(), path, ": metadata has no '", k, "' (write checkpoints with apps/convert or apps/train)");
    return it->second;
  };
  net.arch = get("arch");
  Json classes = Json::parse(get("classes"), path + " metadata classes");
  for (const auto& c : classes.as_array()) net.classes.push_back(c.as_string());
  USER_CHECK(!net.classes.empty(), path, ": metadata 'classes' is empty");
  net.input_size = int(std::stol(get("input_size")));
  USER_CHECK(net.input_size > 0, path, ": metadata input_size must be positive");
  read_triplet(meta, "mean", net.mean, path);
  read_triplet(meta, "std", net.std, path);
  if (meta.count("width")) net.width = std::stod(meta.at("width"));
  if (meta.count("depth")) net.depth = std::stod(meta.at("depth"));
  if (meta.count("source")) net.source = meta.at("source");
  ModelSpec spec;
  spec.arch = net.arch;
  spec.num_classes = int(net.classes.size());
  spec.width = net.width;
  spec.depth = net.depth;
  net.model = make_model(spec);
  load_checkpoint(*net.model, path);
  net.model->eval();
  net.model->set_requires_grad(false);
  net.model->to(device);
  return net;
}

void save_net(const Net& net, const std::string& path) {
  Json classes = Json::array();
  for (const auto& c : net.classes) classes.push_back(c);
  std::map<std::string, std::string> meta = {
      {"arch", net.arch},           {"classes", classes.dump()}, {"input_size", std::to_string(net.input_size)},
      {"mean", triplet(net.mean)},  {"std", triplet(net.std)},   {"source", net.source},
  };
  if (net.arch == "student") {
    meta["width"] = std::to_string(net.width);
    meta["depth"] = std::to_string(net.depth);
  }
  save_checkpoint(*net.model, path, meta);
}

void copy_matching_state(Module& dst, Module& src) {
  auto s = src.state();
  for (auto& [name, slot] : dst.state()) {
    auto it = s.find(name);
    if (it == s.end() || it->second->shape() != slot->shape()) continue;
    const bool rg = slot->requires_grad();
    *slot = it->second->detach().clone().to(slot->device());
    if (rg) slot->set_requires_grad(true);
  }
}

}  // namespace cudistill::train
