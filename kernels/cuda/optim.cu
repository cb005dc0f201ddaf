// cuda/optim.cu: the CUDA twins of kernels/optim.h: one SGD (momentum, Nesterov, weight decay)
// or AdamW step over one flat parameter tensor, one thread per element.
// Not a multi-tensor ("foreach") kernel: each parameter tensor is its own launch, so a network
// with many small tensors pays many launches; fusing them is a later optimisation.
// Tested against kernels/cpu/optim.cpp by the CUDA suite (tests/cuda, run with -ts=cuda).
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/optim.h"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;

// p, buf, grad: (n). The formula of optim.h, in the order the CPU evaluates it.
// `momentum`, `nesterov`, `first` are uniform across the grid, so the branches do not diverge.
__global__ void sgd_kernel(float* p, float* buf, const float* grad, int64_t n, float lr, float momentum,
                           bool nesterov, float weight_decay, bool first) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    float g = grad[i] + weight_decay * p[i];
    if (momentum != 0.f) {
      const float b = first ? g : momentum * buf[i] + g;
      buf[i] = b;
      g = nesterov ? g + momentum * b : b;
    }
    p[i] -= lr * g;
  }
}

// p, m, v, grad: (n). c1 = 1 - beta1^t and c2 = 1 - beta2^t come from the host (computed in
// double there, once per step, rather than a pow per thread).
__global__ void adamw_kernel(float* p, float* m, float* v, const float* grad, int64_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, float c1, float c2) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float g = grad[i];
    float pi = p[i];
    pi -= lr * weight_decay * pi;  // decoupled weight decay, before the Adam update (as PyTorch)
    const float mi = beta1 * m[i] + (1.f - beta1) * g;
    const float vi = beta2 * v[i] + (1.f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / c1, vhat = vi / c2;
    p[i] = pi - lr * mhat / (sqrtf(vhat) + eps);
  }
}

}  // namespace

void sgd_step(float* p, float* buf, const float* grad, int64_t n, float lr, float momentum, bool nesterov,
              float weight_decay, bool first) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(p, buf, grad, n, lr, momentum, nesterov,
                                                                    weight_decay, first);
  CUDA_CHECK_LAUNCH();
}

void adamw_step(float* p, float* m, float* v, const float* grad, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t t) {
  if (n == 0) return;
  const double c1 = 1.0 - std::pow(double(beta1), double(t));
  const double c2 = 1.0 - std::pow(double(beta2), double(t));
  adamw_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(
      p, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, float(c1), float(c2));
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
