// loaded_model.cpp: checkpoint metadata -> ModelSpec -> model -> weights (see loaded_model.h).
// Metadata values are strings (safetensors allows nothing else), the lists among them JSON text,
// so each is parsed here with its key and the file in every error message.
// Tested in tests/ops/test_apps.cpp: ./build/tests/test_ops -tc="apps*"
#include "apps/common/loaded_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "engine/cuda_memory.h"
#include "engine/data/augment.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "models/registry.h"

namespace cudistill::cli {

namespace {

using Meta = std::map<std::string, std::string>;

const std::string& required(const Meta& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  USER_CHECK(it != meta.end(), path, ": the checkpoint metadata has no '", key,
             "' (expected arch, classes, input_size, mean, std; see apps/convert)");
  return it->second;
}

double number(const std::string& text, const std::string& key, const std::string& path) {
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  USER_CHECK(!text.empty() && *end == '\0' && std::isfinite(x), path, ": metadata '", key,
             "' must be a number, got '", text, "'");
  return x;
}

// mean / std: a JSON array of 3 numbers (one per RGB channel).
void three_floats(const Meta& meta, const std::string& key, const std::string& path, float out[3]) {
  const Json j = Json::parse(required(meta, key, path), path + " metadata '" + key + "'");
  USER_CHECK(j.is_array() && j.size() == 3, path, ": metadata '", key, "' must be a JSON array of 3 numbers, got ",
             j.dump());
  for (size_t c = 0; c < 3; ++c) out[c] = float(j.at(c).as_double());
}

}  // namespace

LoadedModel load_model(const std::string& checkpoint, Device device) {
  const Meta meta = read_checkpoint_metadata(checkpoint);
  LoadedModel m;
  m.arch = required(meta, "arch", checkpoint);

  const Json classes = Json::parse(required(meta, "classes", checkpoint), checkpoint + " metadata 'classes'");
  USER_CHECK(classes.is_array() && classes.size() > 0, checkpoint,
             ": metadata 'classes' must be a non-empty JSON array of names");
  for (const Json& c : classes.as_array()) m.classes.push_back(c.as_string());

  const double size = number(required(meta, "input_size", checkpoint), "input_size", checkpoint);
  USER_CHECK(size >= 1 && size <= 4096 && size == std::floor(size), checkpoint,
             ": metadata 'input_size' must be a whole number of pixels in [1, 4096], got ", size);
  m.input_size = int(size);

  three_floats(meta, "mean", checkpoint, m.mean);
  three_floats(meta, "std", checkpoint, m.std);
  for (float s : m.std) USER_CHECK(s > 0.f, checkpoint, ": metadata 'std' must be positive, got ", s);
  if (auto it = meta.find("source"); it != meta.end()) m.source = it->second;

  ModelSpec spec;
  spec.arch = m.arch;
  spec.num_classes = int(m.classes.size());
  // A student's shape depends on its multipliers; checkpoints without them hold the default (1, 1).
  if (auto it = meta.find("width"); it != meta.end()) spec.width = number(it->second, "width", checkpoint);
  if (auto it = meta.find("depth"); it != meta.end()) spec.depth = number(it->second, "depth", checkpoint);
  m.width = spec.width;
  m.depth = spec.depth;
  m.model = make_model(spec);
  load_checkpoint(*m.model, checkpoint);  // every tensor checked by name and shape (load_state)
  m.model->eval();
  m.model->set_requires_grad(false);
  m.model->to(device);
  return m;
}

Device parse_device(const std::string& name) {
  if (name.empty()) return cuda_available() ? Device::CUDA : Device::CPU;
  if (name == "cpu") return Device::CPU;
  USER_CHECK(name == "cuda", "--device must be cpu or cuda, got '", name, "'");
  USER_CHECK(cuda_available(), "--device cuda: no CUDA device is available (or this cudistill was built without "
             "CUDA); use --device cpu");
  return Device::CUDA;
}

Tensor preprocess_center_crop(const data::Image& img, const LoadedModel& m, Device device) {
  ENGINE_CHECK(img.h > 0 && img.w > 0 && img.pixels.size() == size_t(img.h) * size_t(img.w) * 3,
               "preprocess_center_crop: bad image ", img.h, "x", img.w);
  // A one-image cache at the image's own size, so that the crop and the resize happen in one
  // bilinear pass (make_batch -> cpu::augment or cuda::augment), exactly as training batches do.
  data::ImageCache cache;
  cache.n = 1;
  cache.h = img.h;
  cache.w = img.w;
  cache.pixels = img.pixels;
  cache.labels = {0};
  const float side = float(std::min(img.h, img.w));
  const cpu::ViewParams view{(float(img.w) - side) / 2.f, (float(img.h) - side) / 2.f, side, side, 0};
  return data::make_batch(cache, {0}, {view}, m.input_size, m.input_size, m.mean, m.std, device);
}

}  // namespace cudistill::cli
