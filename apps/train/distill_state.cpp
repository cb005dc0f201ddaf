// train/distill_state.cpp: see distill_state.h. One safetensors file: "student.*", "best.*",
// "opt.*" and (with --ema) "ema.*" tensors; the progress and the key in its metadata.
#include "apps/train/distill_state.h"

#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

namespace {
// Settings that do not change what the student learns: where and how fast it runs, and what the
// other stages or the eval do.
const std::set<std::string> kNotTraining = {"run_dir", "stages",  "threads",   "device",         "latency_runs",
                                             "cost_steps", "baseline", "reference", "stop_after_epochs", "data",
                                             "master"};

std::vector<std::pair<std::string, Tensor>> prefixed(const std::string& prefix,
                                                     std::vector<std::pair<std::string, Tensor>> v) {
  for (auto& [name, t] : v) name = prefix + name;
  return v;
}

// The tensors of f under `prefix`, the prefix dropped.
std::vector<std::pair<std::string, Tensor>> under(const SafetensorsFile& f, const std::string& prefix) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const std::string& name : f.order)
    if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), f.tensors.at(name));
  return out;
}

std::string exact(double v) {  // %.17g: a double that reads back to the same bits
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

std::string distill_state_key(const Context& c) {
  std::string k = "distill state v1\nfiles " + c.data.files_sha256 + "\n";
  const Json settings = c.o.to_json();  // kept: as_object() refers into it
  for (const auto& [name, value] : settings.as_object())
    if (!kNotTraining.count(name)) k += name + " " + value.dump() + "\n";
  if (!c.o.no_master) k += "master " + sha256_file(c.dir.file("master.safetensors")) + "\n";
  return sha256_hex(k);
}

bool DistillState::read(const std::string& path, const std::string& key, Module& student, Module& best,
                        Module* ema, std::string& why) {
  why.clear();
  if (!std::filesystem::exists(path)) return false;
  try {
    SafetensorsFile f = read_safetensors(path);
    auto meta = [&](const char* k) -> const std::string& {
      USER_CHECK(f.metadata.count(k), path, ": metadata has no '", k, "'");
      return f.metadata.at(k);
    };
    if (meta("key") != key) {
      why = "written with other settings, data or master";
      return false;
    }
    epochs_done = std::stoi(meta("epochs_done"));
    step = std::stoll(meta("step"));
    best_acc = std::stod(meta("best_acc"));
    best_epoch = std::stoi(meta("best_epoch"));
    seconds = std::stod(meta("seconds"));
    epoch_s.clear();
    const Json times = Json::parse(meta("epoch_s"), path);  // kept: as_array() refers into it
    for (const Json& s : times.as_array()) epoch_s.push_back(s.as_double());
    load_state(student, under(f, "student."), path + " (student)");
    load_state(best, under(f, "best."), path + " (best student)");
    if (ema) load_state(*ema, under(f, "ema."), path + " (moving average)");
    opt_.clear();
    for (auto& [name, t] : under(f, "opt.")) opt_[name] = t;
    return true;
  } catch (const std::exception& e) {  // Error, and std::stoi's on a damaged number
    why = e.what();
    return false;
  }
}

void DistillState::restore_optimizer(Optimizer& opt, const std::string& path) const { opt.load_state(opt_, path); }

void DistillState::write(const std::string& path, const std::string& key, Module& student, Module& best,
                         Module* ema, const Optimizer& opt) const {
  std::vector<std::pair<std::string, Tensor>> tensors = prefixed("student.", state_tensors(student));
  for (auto& t : prefixed("best.", state_tensors(best))) tensors.push_back(std::move(t));
  if (ema)
    for (auto& t : prefixed("ema.", state_tensors(*ema))) tensors.push_back(std::move(t));
  for (auto& t : prefixed("opt.", opt.state())) tensors.push_back(std::move(t));
  Json times = Json::array();
  for (double s : epoch_s) times.push_back(s);
  write_safetensors(path, tensors,
                    {{"key", key},
                     {"epochs_done", std::to_string(epochs_done)},
                     {"step", std::to_string(step)},
                     {"best_acc", exact(best_acc)},
                     {"best_epoch", std::to_string(best_epoch)},
                     {"seconds", exact(seconds)},
                     {"epoch_s", times.dump()}});
}

}  // namespace cudistill::train
