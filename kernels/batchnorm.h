// batchnorm.h: 2-d batch normalisation over (N, C, HW), per channel c:
//   y = gamma_c * (x - mean_c) * invstd_c + beta_c,   invstd_c = 1 / sqrt(var_c + eps)
// Training uses the batch's mean and biased variance, saves mean/invstd for backward, and
// updates the running statistics (running_var with the unbiased variance, as PyTorch does).
// Eval uses the running statistics. Backward functions accumulate (+=); any of dx, dgamma,
// dbeta may be null when not needed.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

template <typename T>
void batchnorm_fwd_train(T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                         const T* x, const T* gamma, const T* beta, int N, int C, int64_t HW,
                         T momentum, T eps);
template <typename T>
void batchnorm_fwd_eval(T* y, const T* x, const T* gamma, const T* beta, const T* running_mean,
                        const T* running_var, int N, int C, int64_t HW, T eps);
// mean/invstd: the saved batch statistics (training) or those made from the running ones (eval);
// `training` says whether mean and invstd depended on x (then dx gets the two extra terms).
template <typename T>
void batchnorm_bwd(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* gamma,
                   const T* mean, const T* invstd, int N, int C, int64_t HW, bool training);

// The float versions that training runs (cpu/batchnorm_fast.cpp): vectorised sums, checked
// against the templates above (the reference, in double) in tests/kernels/test_cpu_fast.cpp.
namespace fast {
// relu: y = max(0, bn(x)) (forward); relu_out: that y, whose mask y > 0 backward applies to dy
// first (null: no ReLU), so the pair is relu(batch_norm) in one pass each way.
void batchnorm_fwd_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                         const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                         float momentum, float eps, bool relu = false);
void batchnorm_bwd(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                   const float* mean, const float* invstd, int N, int C, int64_t HW, bool training,
                   const float* relu_out = nullptr);
}  // namespace fast

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/batchnorm.cu): one block per channel, block reductions.
namespace cudistill::cuda {
void batchnorm_fwd_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                         const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                         float momentum, float eps);
void batchnorm_fwd_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                        const float* running_var, int N, int C, int64_t HW, float eps);
void batchnorm_bwd(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                   const float* mean, const float* invstd, int N, int C, int64_t HW, bool training);
}  // namespace cudistill::cuda
