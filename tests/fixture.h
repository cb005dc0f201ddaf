// fixture.h: reads the golden fixtures written by weights/fixture_format.py ("CDFX" files:
// magic, version, then named float32 tensors) and regenerates formula weights, so that tests
// can compare against PyTorch without shipping large weight files.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cudistill::test {

inline std::map<std::string, Tensor> read_fixture(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "missing fixture ", path, " (regenerate: python3 weights/make_resnet_fixtures.py)");
  char magic[4];
  uint32_t version = 0, count = 0;
  f.read(magic, 4);
  f.read(reinterpret_cast<char*>(&version), 4);
  f.read(reinterpret_cast<char*>(&count), 4);
  REQUIRE_MESSAGE((std::memcmp(magic, "CDFX", 4) == 0 && version == 1), path, ": not a version-1 CDFX fixture");
  std::map<std::string, Tensor> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0, ndim = 0;
    f.read(reinterpret_cast<char*>(&len), 4);
    std::string name(len, '\0');
    f.read(name.data(), len);
    f.read(reinterpret_cast<char*>(&ndim), 4);
    Shape shape(ndim);
    f.read(reinterpret_cast<char*>(shape.data()), std::streamsize(8 * ndim));
    Tensor t = Tensor::empty(shape);
    f.read(reinterpret_cast<char*>(t.data<float>()), std::streamsize(4 * t.numel()));
    REQUIRE_MESSAGE(f.good(), path, ": truncated at tensor ", name);
    out[name] = t;
  }
  return out;
}

// The same numbers as formula_values() in weights/fixture_format.py: uniform in [0, 1).
inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline std::vector<double> formula_values(const std::string& name, int64_t n) {
  const uint64_t h = fnv1a(name);
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double(splitmix64(h ^ uint64_t(i)) >> 11) / 9007199254740992.0;
  return v;
}

// The per-kind scaling of make_resnet_fixtures.py, applied to a whole state dict.
inline void fill_formula_weights(std::map<std::string, Tensor*>& state) {
  for (auto& [name, t] : state) {
    const Shape& s = t->shape();
    std::vector<double> u = formula_values(name, t->numel());
    auto ends = [&](const char* suffix) {
      const size_t n = std::strlen(suffix);
      return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    if (ends("num_batches_tracked")) continue;
    for (double& x : u) {
      if (ends("running_var")) x = 0.5 + x;
      else if (s.size() == 4 || s.size() == 2) x = (2 * x - 1) * std::sqrt(3.0 / double(t->numel() / s[0]));
      else if (ends("weight")) x = 0.5 + 0.5 * x;
      else x = 0.2 * (x - 0.5);
    }
    *t = Tensor::from_vector(u, s).set_requires_grad(t->requires_grad());
  }
}

}  // namespace cudistill::test
