// optim.h: the parameter updates of SGD and AdamW, over one flat parameter tensor (n values).
// Formulas follow PyTorch's torch.optim.SGD and torch.optim.AdamW, so recipes carry over.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// g = grad + wd*p;  buf = first ? g : momentum*buf + g;  d = nesterov ? g + momentum*buf : buf
// (d = g when momentum == 0, and buf may then be null);  p -= lr * d
template <typename T>
void sgd_step(T* p, T* buf, const T* grad, int64_t n, T lr, T momentum, bool nesterov, T weight_decay,
              bool first);

// p -= lr*wd*p (decoupled decay); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)      t = step number, from 1
template <typename T>
void adamw_step(T* p, T* m, T* v, const T* grad, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                int64_t t);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/optim.cu): one thread per parameter element.
namespace cudistill::cuda {
void sgd_step(float* p, float* buf, const float* grad, int64_t n, float lr, float momentum, bool nesterov,
              float weight_decay, bool first);
void adamw_step(float* p, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t t);
}  // namespace cudistill::cuda
