// convert: PyTorch .pth/.pt (zip or legacy) or safetensors weights -> a cudistill checkpoint.
// It builds the named architecture, checks every tensor's name and shape against it (each
// problem reported by name: missing, left over, wrong shape), records where the weights came
// from (file name and full SHA-256), and writes a safetensors file with the engine's metadata.
//   ./build/apps/convert --arch resnet152 --in resnet152-394f9c45.pth --out resnet152.safetensors
// Exit codes: 0 done, 2 bad flag or file (one clear line), 1 anything else.
#include <cstdio>

#include "apps/common/cli.h"
#include "engine/threads.h"
#include "engine/io/checkpoint.h"
#include "engine/io/json.h"
#include "engine/io/pth.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"
#include "models/registry.h"

using namespace cudistill;

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The input size each architecture was trained at (its checkpoint's `input_size`).
int native_input_size(const std::string& arch) {
  if (arch == "efficientnet_lite1") return 240;
  if (arch == "efficientnet_lite2") return 260;
  if (arch == "student") return 150;
  return 224;
}

std::vector<std::pair<std::string, Tensor>> read_weights(const std::string& path) {
  std::vector<std::pair<std::string, Tensor>> out;
  if (ends_with(path, ".safetensors")) {
    SafetensorsFile f = read_safetensors(path);
    for (const std::string& n : f.order) out.emplace_back(n, f.tensors.at(n));
  } else {
    for (PthTensor& t : read_pth(path).tensors) out.emplace_back(t.name, t.tensor);
  }
  return out;
}

// The number of classes is the first dim of the classifier's weight, whatever its name.
int infer_classes(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  for (const auto& [name, t] : tensors)
    if ((name == "fc.weight" || name == "_fc.weight" || name == "module.fc.weight") && t.ndim() == 2)
      return int(t.size(0));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  return cli::run_main("convert", [&] {
    cli::Flags flags("convert", "Converts PyTorch (.pth/.pt) or safetensors weights into a cudistill checkpoint.");
    flags.add("arch", "", "architecture: resnet18..resnet152, efficientnet_lite0..2, student")
        .add("in", "", "input weights: a torch.save state dict (.pth/.pt, zip or legacy) or .safetensors")
        .add("out", "", "output checkpoint (.safetensors), written atomically")
        .add("classes", "", "comma-separated class names (default: 0..N-1, N from the classifier)")
        .add("input-size", "0", "input size recorded in the metadata (0: the architecture's own)");
    if (!flags.parse(argc, argv)) return 0;
    for (const char* f : {"arch", "in", "out"})
      USER_CHECK(!flags.str(f).empty(), "convert: --", f, " is required (see --help)");

    const std::string in = flags.str("in"), arch = flags.str("arch");
    std::vector<std::pair<std::string, Tensor>> tensors = read_weights(in);
    ModelSpec spec;
    spec.arch = arch;
    spec.num_classes = infer_classes(tensors);
    USER_CHECK(spec.num_classes > 0, in, ": no classifier weight (fc.weight or _fc.weight) to size the model from");
    ModulePtr model = make_model(spec);
    // num_batches_tracked is bookkeeping of PyTorch's BN; some files lack it.
    std::vector<std::string> optional;
    for (const auto& [name, t] : model->state())
      if (name.size() > 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) {
        bool present = false;
        for (const auto& [n, x] : tensors) present |= (n == name || n == "module." + name);
        if (!present) optional.push_back(name);
      }
    load_state(*model, tensors, in, optional);

    Json classes = Json::array();
    if (flags.str("classes").empty()) {
      for (int i = 0; i < spec.num_classes; ++i) classes.push_back(Json(std::to_string(i)));
    } else {
      std::string list = flags.str("classes") + ",";
      for (size_t a = 0, b; (b = list.find(',', a)) != std::string::npos; a = b + 1) classes.push_back(Json(list.substr(a, b - a)));
      USER_CHECK(int(classes.size()) == spec.num_classes, "convert: --classes names ", classes.size(),
                 " classes but the classifier has ", spec.num_classes);
    }
    const std::string sha = sha256_file(in);
    const int size = flags.integer("input-size") > 0 ? flags.integer("input-size") : native_input_size(arch);
    std::map<std::string, std::string> meta = {
        {"arch", arch},
        {"classes", classes.dump()},
        {"input_size", std::to_string(size)},
        {"mean", "[0.485, 0.456, 0.406]"},
        {"std", "[0.229, 0.224, 0.225]"},
        {"source", in.substr(in.find_last_of('/') + 1) + " sha256:" + sha},
    };
    save_checkpoint(*model, flags.str("out"), meta);
    std::printf("converted %s (%zu tensors, %lld parameters, sha256 %s) -> %s\n", in.c_str(), tensors.size(),
                (long long)model->num_parameters(), sha.c_str(), flags.str("out").c_str());
    return 0;
  });
}
