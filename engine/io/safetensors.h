// safetensors.h: the engine's weights and checkpoint format (docs/DESIGN.md, "Contracts"), readable
// by any tool: an 8-byte little-endian header length N, N bytes of JSON header
//   {"__metadata__": {"arch": "resnet18", ...}, "fc.weight": {"dtype": "F32", "shape": [10, 512],
//    "data_offsets": [0, 20480]}, ...}
// then the raw little-endian tensor bytes, offsets relative to the end of the header.
// Not here: memory mapping or lazy loading (every tensor is read into memory), writing F16/BF16,
// CUDA tensors (callers move tensors to the CPU explicitly, and back), big-endian hosts.
// Every problem with a file is a user error naming the file and, where there is one, the tensor.
// Tested in tests/ops/test_io.cpp (-tc="safetensors*"); interoperability with the Python
// `safetensors` package was checked by hand (both directions).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace cudistill {

struct SafetensorsFile {
  std::vector<std::string> order;                  // tensor names, in data-offset (file) order
  std::map<std::string, Tensor> tensors;           // CPU, contiguous: float32, float64 or int32
  std::map<std::string, std::string> source_dtype; // the dtype as stored: "F32", "F16", "I64", ...
  std::map<std::string, std::string> metadata;     // "__metadata__" (empty when absent)
};

// Reads every tensor. F32, F64 and I32 are kept; F16 and BF16 are widened to float32 (exactly);
// I64 becomes int32, and a value outside int32 is an error. Other dtypes are refused by name.
SafetensorsFile read_safetensors(const std::string& path);

// Writes the tensors in the given order (names unique, not "__metadata__") with `metadata` as
// "__metadata__" (left out when empty). Tensors must be CPU float32, float64 or int32; views are
// written as their contiguous copy. The file is replaced atomically (write_file_atomic).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace cudistill
