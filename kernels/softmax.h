// softmax.h: softmax and log-softmax with temperature, over the last dim of (B, K) rows.
//   y = softmax(x / T),  log_y = log_softmax(x / T);  inv_t = 1 / T.
// Backward functions accumulate (dx += ...).
// The CUDA twins (kernels/cuda/softmax_temperature.cu, issue 3) share these signatures.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// y: (B, K), x: (B, K)
template <typename T> void softmax_fwd(T* y, const T* x, int B, int K, T inv_t);
// dx += y * (dy - sum_k dy*y) / T;  y is the forward output
template <typename T> void softmax_bwd(T* dx, const T* dy, const T* y, int B, int K, T inv_t);
template <typename T> void log_softmax_fwd(T* y, const T* x, int B, int K, T inv_t);
// dx += (dy - exp(y) * sum_k dy) / T;  y is the forward output (log-probabilities)
template <typename T> void log_softmax_bwd(T* dx, const T* dy, const T* y, int B, int K, T inv_t);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/softmax_temperature.cu, docs/kernels/softmax_temperature.md).
namespace cudistill::cuda {
void softmax_fwd(float* y, const float* x, int B, int K, float inv_t);
void softmax_bwd(float* dx, const float* dy, const float* y, int B, int K, float inv_t);
void log_softmax_fwd(float* y, const float* x, int B, int K, float inv_t);
void log_softmax_bwd(float* dx, const float* dy, const float* y, int B, int K, float inv_t);
}  // namespace cudistill::cuda
