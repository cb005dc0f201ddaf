// ops/batchnorm.cpp: batch_norm2d in training and eval mode.
// In eval mode the normalisation constants come from the running statistics, so backward
// treats mean and invstd as constants (kernels/batchnorm.h, `training` flag).
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/batchnorm.h"

namespace cudistill {

Tensor batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps) {
  common_device("batch_norm2d", {&x_in, &gamma, &beta, &running_mean, &running_var});
  ENGINE_CHECK(x_in.ndim() == 4, "batch_norm2d: x ", shape_str(x_in.shape()), " must be (N, C, H, W)");
  const int N = int(x_in.size(0)), C = int(x_in.size(1));
  const int64_t HW = x_in.size(2) * x_in.size(3);
  for (const Tensor* p : std::initializer_list<const Tensor*>{&gamma, &beta, &running_mean, &running_var})
    ENGINE_CHECK(p->defined() && p->shape() == Shape{C} && p->is_contiguous(),
                 "batch_norm2d: gamma, beta and running statistics must be contiguous (", C, ") for x ",
                 shape_str(x_in.shape()));
  ENGINE_CHECK(!training || N * HW > 1, "batch_norm2d: training needs more than one value per channel, got x ",
               shape_str(x_in.shape()));

  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device()), invstd = Tensor::empty({C}, x.dtype(), x.device());
  if (training) {
    dispatch(
        "batch_norm2d", x,
        [&](auto tag) {
          using T = decltype(tag);
          // float: the vectorised kernel; double (gradient checks): the reference it is tested against
          if constexpr (std::is_same_v<T, float>)
            cpu::fast::batchnorm_fwd_train(y.data<T>(), mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
                                           running_var.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), N, C,
                                           HW, T(momentum), T(eps));
          else
            cpu::batchnorm_fwd_train<T>(y.data<T>(), mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
                                        running_var.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), N, C, HW,
                                        T(momentum), T(eps));
        },
        CUDA_PATH(cuda::batchnorm_fwd_train(y.data<float>(), mean.data<float>(), invstd.data<float>(),
                                            running_mean.data<float>(), running_var.data<float>(), x.data<float>(),
                                            gamma.data<float>(), beta.data<float>(), N, C, HW, float(momentum),
                                            float(eps))));
  } else {
    dispatch(
        "batch_norm2d", x,
        [&](auto tag) {
          using T = decltype(tag);
          cpu::batchnorm_fwd_eval<T>(y.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), running_mean.data<T>(),
                                     running_var.data<T>(), N, C, HW, T(eps));
        },
        CUDA_PATH(cuda::batchnorm_fwd_eval(y.data<float>(), x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                           running_mean.data<float>(), running_var.data<float>(), N, C, HW,
                                           float(eps))));
    if (needs_grad({&x, &gamma, &beta})) {
      // The constants backward needs, from the running statistics: C values, computed on the host.
      std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector(), is(rv.size());
      for (size_t c = 0; c < rv.size(); ++c) is[c] = 1.0 / std::sqrt(rv[c] + eps);
      mean = Tensor::from_vector(rm, {C}, x.dtype()).to(x.device());
      invstd = Tensor::from_vector(is, {C}, x.dtype()).to(x.device());
    }
  }
  if (needs_grad({&x, &gamma, &beta})) {
    record(y, "batch_norm2d", {&x, &gamma, &beta},
           [x, gamma, beta, mean, invstd, N, C, HW, training](const Tensor& g) {
             Tensor gc = g.contiguous();
             dispatch(
                 "batch_norm2d_backward", gc,
                 [&](auto tag) {
                   using T = decltype(tag);
                   if constexpr (std::is_same_v<T, float>)
                     cpu::fast::batchnorm_bwd(grad_ptr<T>(x), grad_ptr<T>(gamma), grad_ptr<T>(beta), gc.data<T>(),
                                              x.data<T>(), gamma.data<T>(), mean.data<T>(), invstd.data<T>(), N, C, HW,
                                              training);
                   else
                     cpu::batchnorm_bwd<T>(grad_ptr<T>(x), grad_ptr<T>(gamma), grad_ptr<T>(beta), gc.data<T>(),
                                           x.data<T>(), gamma.data<T>(), mean.data<T>(), invstd.data<T>(), N, C, HW,
                                           training);
                 },
                 CUDA_PATH(cuda::batchnorm_bwd(grad_ptr<float>(x), grad_ptr<float>(gamma), grad_ptr<float>(beta), gc.data<float>(),
                                               x.data<float>(), gamma.data<float>(), mean.data<float>(),
                                               invstd.data<float>(), N, C, HW, training)));
           });
  }
  return y;
}

}  // namespace cudistill
