// checkpoint.cpp: name/shape checking between a tensor set and a module, and safetensors I/O.
#include "engine/io/checkpoint.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/io/json.h"
#include "engine/io/safetensors.h"

namespace cudistill {

namespace {
// "a, b, c and 12 more": long lists stay readable in one error line.
std::string list(const std::vector<std::string>& names, size_t max = 12) {
  std::ostringstream os;
  for (size_t i = 0; i < names.size() && i < max; ++i) os << (i ? ", " : "") << names[i];
  if (names.size() > max) os << " and " << names.size() - max << " more";
  return os.str();
}

std::string strip_prefix(const std::string& name) {
  const std::string p = "module.";
  return name.rfind(p, 0) == 0 ? name.substr(p.size()) : name;
}
}  // namespace

void load_state(Module& model, const std::vector<std::pair<std::string, Tensor>>& tensors, const std::string& source,
                const std::vector<std::string>& ignore) {
  std::map<std::string, Tensor*> state = model.state();
  const std::set<std::string> skip(ignore.begin(), ignore.end());
  std::map<std::string, Tensor> given;
  for (const auto& [name, t] : tensors) given[strip_prefix(name)] = t;

  std::vector<std::string> missing, leftover, mismatched;
  for (const auto& [name, slot] : state) {
    if (skip.count(name)) continue;
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
    } else if (it->second.shape() != slot->shape()) {
      mismatched.push_back(name + " " + shape_str(it->second.shape()) + " vs the model's " + shape_str(slot->shape()));
    }
  }
  for (const auto& [name, t] : given)
    if (!state.count(name) && !skip.count(name)) leftover.push_back(name);

  std::ostringstream err;
  if (!mismatched.empty()) err << "\n  shape mismatch: " << list(mismatched);
  if (!missing.empty()) err << "\n  missing from the file: " << list(missing);
  if (!leftover.empty()) err << "\n  in the file but not in the model: " << list(leftover);
  USER_CHECK(err.str().empty(), source, " does not fit the model:", err.str(),
             "\n  (wrong --arch or number of classes? a checkpoint of another model?)");

  for (const auto& [name, slot] : state) {
    if (skip.count(name)) continue;
    const Tensor& src = given.at(name);
    // The engine keeps every state tensor in float32, counters included.
    Tensor value = src.dtype() == DType::I32 ? Tensor::from_vector(src.to_vector(), src.shape()) : src.to(DType::F32);
    const bool rg = slot->requires_grad();
    Tensor moved = value.contiguous().clone().to(slot->device());
    if (rg) moved.set_requires_grad(true);
    *slot = moved;
  }
}

std::vector<std::pair<std::string, Tensor>> state_tensors(Module& model) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : model.state()) tensors.emplace_back(name, t->detach().to(Device::CPU));
  return tensors;
}

void save_checkpoint(Module& model, const std::string& path, const std::map<std::string, std::string>& metadata) {
  write_safetensors(path, state_tensors(model), metadata);
}

std::map<std::string, std::string> load_checkpoint(Module& model, const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : f.order) tensors.emplace_back(name, f.tensors.at(name));
  load_state(model, tensors, path);
  return f.metadata;
}

std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  USER_CHECK(in.good(), "cannot open checkpoint ", path);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  USER_CHECK(in.good() && n > 1 && n < (uint64_t(100) << 20), path, " is not a safetensors file (bad header length)");
  std::string header(n, '\0');
  in.read(header.data(), std::streamsize(n));
  USER_CHECK(in.good(), path, " is truncated inside its header");
  Json j = Json::parse(header, path);
  std::map<std::string, std::string> meta;
  if (const Json* m = j.find("__metadata__"))
    for (const auto& [k, v] : m->as_object()) meta[k] = v.as_string();
  return meta;
}

}  // namespace cudistill
