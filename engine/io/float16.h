// float16.h: widening IEEE half and bfloat16 values to float32, for readers of weight files that
// store them (engine/io/pth.cpp, engine/io/safetensors.cpp). Exact: every half and bfloat16
// value is representable in float32. Tested through both readers (tests/ops/test_io.cpp).
#pragma once
#include <cstdint>
#include <cstring>

namespace cudistill {

inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias the exponent: 112 = 127 - 15
  } else if (man == 0) {
    bits = sign;  // +-0
  } else {  // subnormal: value = man * 2^-24, exact in float32
    const float f = float(man) * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float bf16_to_float(uint16_t b) {  // bfloat16 is the top half of a float32
  const uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace cudistill
