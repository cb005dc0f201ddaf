// dtype.h: element types and devices a tensor can have.
// float32 is the working type; float64 exists on the CPU so that finite-difference gradient
// checks are exact enough; F16/BF16 are named now so that later mixed precision slots in.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/error.h"

namespace cudistill {

// I32 holds class labels and indices; it has no arithmetic kernels.
enum class DType : uint8_t { F32, F64, F16, BF16, I32 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
    case DType::I32: return 4;
    case DType::F64: return 8;
    case DType::F16:
    case DType::BF16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::I32: return "int32";
  }
  return "?";
}

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }

// Calls f(T{}) with T = float or double matching `t`: the one place ops turn a runtime dtype
// into a C++ type for the templated CPU kernels.
template <typename F>
void dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::F32: f(float{}); return;
    case DType::F64: f(double{}); return;
    default: ENGINE_CHECK(false, "dtype ", dtype_name(t), " has no kernels yet (float32/float64 only)");
  }
}

}  // namespace cudistill
