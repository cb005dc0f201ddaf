// loss.h: cross-entropy and the knowledge-distillation loss, forward and backward.
//   logits s, m: (B, K); labels: (B) int32 in [0, K); loss: one element (mean over B).
// Backward functions accumulate (ds += ...), scaled by the upstream gradient g = dL/dloss.
// The CUDA twin of kd_loss (kernels/cuda/kd_loss.cu, issue 3) is one fused kernel with these
// signatures; this file is its oracle.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// loss = mean_b  -sum_k q_bk log softmax(s_b)_k,  q = (1 - eps) onehot(y_b) + eps / K
template <typename T>
void cross_entropy_fwd(T* loss, const T* s, const int32_t* labels, int B, int K, T eps);
// ds += g / B * (softmax(s) - q)
template <typename T>
void cross_entropy_bwd(T* ds, const T* s, const int32_t* labels, int B, int K, T eps, T g);

// loss = mean_b [ alpha T^2 KL(p_b || q_b) + (1 - alpha) CE(s_b, y_b) ],
//   p = softmax(m / T) (the master, constant), q = softmax(s / T) (the student).
// labels may be null when alpha == 1.
template <typename T>
void kd_loss_fwd(T* loss, const T* s, const T* m, const int32_t* labels, int B, int K, T temperature,
                 T alpha);
// ds += g / B * [ alpha T (q - p) + (1 - alpha) (softmax(s) - onehot(y)) ]
// (the T^2 in front of the KL and the 1/T of d(s/T)/ds leave one T.)
template <typename T>
void kd_loss_bwd(T* ds, const T* s, const T* m, const int32_t* labels, int B, int K, T temperature,
                 T alpha, T g);

}  // namespace cudistill::cpu
