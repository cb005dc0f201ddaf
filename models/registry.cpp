// registry.cpp: name -> constructor for every network in models/. Only construction: weights
// are loaded elsewhere (apps/convert, engine/io). Tested in tests/ops/test_models.cpp.
#include "models/registry.h"

#include <functional>
#include <map>

#include "models/efficientnet_lite.h"
#include "models/resnet.h"
#include "models/student.h"

namespace cudistill {

namespace {
using Factory = std::function<ModulePtr(const ModelSpec&)>;
const std::map<std::string, Factory>& factories() {
  auto resnet = [](int depth) {
    return [depth](const ModelSpec& s) -> ModulePtr { return std::make_shared<ResNet>(depth, s.num_classes, s.seed); };
  };
  auto lite = [](int variant) {
    return [variant](const ModelSpec& s) -> ModulePtr {
      return std::make_shared<EfficientNetLite>(variant, s.num_classes, s.seed);
    };
  };
  static const std::map<std::string, Factory> f = {
      {"resnet18", resnet(18)},
      {"resnet34", resnet(34)},
      {"resnet50", resnet(50)},
      {"resnet101", resnet(101)},
      {"resnet152", resnet(152)},
      {"student",
       [](const ModelSpec& s) -> ModulePtr {
         return std::make_shared<Student>(StudentConfig{s.width, s.depth}, s.num_classes, s.seed);
       }},
      {"efficientnet_lite0", lite(0)},
      {"efficientnet_lite1", lite(1)},
      {"efficientnet_lite2", lite(2)},
  };
  return f;
}
}  // namespace

ModulePtr make_model(const ModelSpec& spec) {
  auto it = factories().find(spec.arch);
  if (it == factories().end()) {
    std::string known;
    for (auto& [name, fn] : factories()) known += (known.empty() ? "" : ", ") + name;
    USER_CHECK(false, "unknown model '", spec.arch, "'; known: ", known);
  }
  return it->second(spec);
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (auto& [name, fn] : factories()) out.push_back(name);
  return out;
}

}  // namespace cudistill
