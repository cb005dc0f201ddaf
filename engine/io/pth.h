// pth.h: reads the tensors of a PyTorch checkpoint (`torch.save(model.state_dict(), f)`) without
// Python or torch, for the converter (docs/DESIGN.md, "Converter").
// Both on-disk formats: the zip archive (torch >= 1.6: `<name>/data.pkl` + `<name>/data/<key>`
// storages, stored uncompressed, zip64 fields honoured) and the legacy stream (torch < 1.6 or
// _use_new_zipfile_serialization=False: magic, protocol and sys-info pickles, the object pickle,
// the list of storage keys, then each storage as an int64 count + raw bytes).
// Safe on untrusted files, unlike pickle.load / torch.load(weights_only=False): the pickle is
// interpreted by a small VM that never executes code. It knows a handful of globals
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the storage
// and dtype names) and refuses any other by name. Every problem with the file (truncated,
// corrupt, compressed, an unsupported object) throws cudistill::Error with user_error() == true
// and the file's path in the message.
// Not here: name mapping or layout changes (apps/convert), safetensors, writing checkpoints,
// TorchScript archives, whole pickled nn.Modules, big-endian files.
// Tested in tests/ops/test_pth.cpp (-tc="pth*") with fixtures from weights/make_pth_fixtures.py.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cudistill {

struct PthTensor {
  std::string name;          // the state-dict key, e.g. "layer1.0.conv1.weight"
  Tensor tensor;             // CPU, contiguous: float32, float64 or int32 (see read_pth)
  std::string source_dtype;  // the dtype in the file, as torch names it: "float16", "int64", ...
};

struct PthCheckpoint {
  std::vector<PthTensor> tensors;  // in file order (the state dict's insertion order)
  std::string format;              // "zip" or "legacy"
  // Where the tensors came from: "" when the file's top-level object is the state dict itself;
  // "state_dict" or "model" when it is a training checkpoint holding the state dict there.
  std::string root;
};

// Reads every tensor of the checkpoint at `path`. Dtypes: float32 and float64 are kept;
// float16 and bfloat16 are widened to float32 (exactly); int64/int32/int16/int8/uint8/bool
// become int32 (int64 values outside int32 are an error). Views are materialised: storage
// offsets and strides are honoured, and tensors sharing one storage each get their own copy.
PthCheckpoint read_pth(const std::string& path);

}  // namespace cudistill
