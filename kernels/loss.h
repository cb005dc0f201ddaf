// loss.h: cross-entropy and the knowledge-distillation loss, forward and backward.
//   logits s, m: (B, K); labels: (B) int32 in [0, K); loss: one element (mean over B).
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// Each loss kernel is fused: one call computes the batch-mean loss AND its gradient with respect
// to the logits (dlogits, written, not accumulated; may be null when no gradient is needed).
// The op's backward then only scales: ds += g * dlogits. This is the single pass that the CUDA
// kernel makes over the logits, and the CPU reference keeps the same contract.

// loss = mean_b  -sum_k q_bk log softmax(s_b)_k,  q = (1 - eps) onehot(y_b) + eps / K
// dlogits = (softmax(s) - q) / B
template <typename T>
void cross_entropy_fwd(T* loss, T* dlogits, const T* s, const int32_t* labels, int B, int K, T eps);

// loss = mean_b [ alpha T^2 KL(p_b || q_b) + (1 - alpha) CE(s_b, y_b) ],
//   p = softmax(m / T) (the master, constant), q = softmax(s / T) (the student).
// dlogits = [ alpha T (q - p) + (1 - alpha) (softmax(s) - onehot(y)) ] / B
// (the T^2 in front of the KL and the 1/T of d(s/T)/ds leave one T.)
// labels may be null when alpha == 1.
template <typename T>
void kd_loss_fwd(T* loss, T* dlogits, const T* s, const T* m, const int32_t* labels, int B, int K,
                 T temperature, T alpha);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/kd_loss.cu, kernels/cuda/cross_entropy.cu; docs/kernels/kd_loss.md).
namespace cudistill::cuda {
void cross_entropy_fwd(float* loss, float* dlogits, const float* s, const int32_t* labels, int B, int K, float eps);
void kd_loss_fwd(float* loss, float* dlogits, const float* s, const float* m, const int32_t* labels, int B, int K,
                 float temperature, float alpha);
}  // namespace cudistill::cuda
