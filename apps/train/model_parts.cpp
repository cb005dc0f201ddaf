// train/model_parts.cpp: see model_parts.h.
#include "apps/train/model_parts.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "apps/common/loaded_model.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "models/efficientnet_lite.h"
#include "models/resnet.h"
#include "models/student.h"

namespace cudistill::train {

Tensor backbone_features(Module& m, const Tensor& x) {
  if (auto* s = dynamic_cast<Student*>(&m)) return s->features(x);
  if (auto* r = dynamic_cast<ResNet*>(&m)) return r->features(x);
  if (auto* e = dynamic_cast<EfficientNetLite*>(&m)) return e->features(x);
  ENGINE_CHECK(false, "backbone_features: not a ResNet, Student or EfficientNetLite");
}

Tensor backbone_feature_map(Module& m, const Tensor& x) {
  if (auto* s = dynamic_cast<Student*>(&m)) return s->feature_map(x);
  if (auto* r = dynamic_cast<ResNet*>(&m)) return r->feature_map(x);
  if (auto* e = dynamic_cast<EfficientNetLite*>(&m)) return e->feature_map(x);
  ENGINE_CHECK(false, "backbone_feature_map: not a ResNet, Student or EfficientNetLite");
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
std::string triplet(const float v[3]) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "[%.9g, %.9g, %.9g]", v[0], v[1], v[2]);
  return buf;
}
}  // namespace

Net load_net(const std::string& path, Device device) {
  // The apps' one checkpoint reader (metadata checks, model, tensors), kept in Net's shape.
  cli::LoadedModel m = cli::load_model(path, device);
  Net net;
  net.model = m.model;
  net.arch = m.arch;
  net.classes = m.classes;
  net.input_size = m.input_size;
  std::copy(m.mean, m.mean + 3, net.mean);
  std::copy(m.std, m.std + 3, net.std);
  net.width = m.width;
  net.depth = m.depth;
  net.source = m.source;
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
