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

}  // namespace cudistill::cpu
