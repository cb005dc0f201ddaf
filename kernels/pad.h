// pad.h: constant-zero padding of the two spatial dims of (N, C, H, W), possibly asymmetric
// (TensorFlow's "SAME" padding puts the odd extra row/column at the bottom/right).
//   x: (N, C, H, W)  ->  y: (N, C, HO, WO), HO = top + H + bottom, WO = left + W + right.
// Not cropping: all four amounts are >= 0 (engine/ops/pad.cpp checks).
// Backward functions accumulate (dx += the interior of dy).
// Tested in tests/ops/test_pad.cpp (CPU) and against the CPU by the CUDA suite.
#pragma once
#include <cstdint>

namespace cudistill::cpu {
template <typename T>
void pad2d_fwd(T* y, const T* x, int N, int C, int H, int W, int top, int bottom, int left, int right);
template <typename T>
void pad2d_bwd(T* dx, const T* dy, int N, int C, int H, int W, int top, int bottom, int left, int right);
}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/pad.cu): one thread per output element (forward, which also writes the
// zeros) or per input element (backward, a gather with a single writer each: no atomics).
namespace cudistill::cuda {
void pad2d_fwd(float* y, const float* x, int N, int C, int H, int W, int top, int bottom, int left, int right);
void pad2d_bwd(float* dx, const float* dy, int N, int C, int H, int W, int top, int bottom, int left, int right);
}  // namespace cudistill::cuda
