// registry.cpp: name -> constructor for every network in models/.
#include "models/registry.h"

#include <functional>
#include <map>

namespace cudistill {

namespace {
using Factory = std::function<ModulePtr(const ModelSpec&)>;
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {};
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
