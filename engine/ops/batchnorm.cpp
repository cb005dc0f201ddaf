// ops/batchnorm.cpp: batch_norm2d in training and eval mode, optionally with the ReLU after it
// fused in (relu = true: y = max(0, bn(x))).
// In eval mode the normalisation constants come from the running statistics, so backward
// treats mean and invstd as constants (kernels/batchnorm.h, `training` flag).
// Why the fusion: batch norm and ReLU are both one pass over memory, and in the student every
// batch norm is followed by a ReLU. Fused, the forward makes one tensor instead of two, and the
// backward needs no gradient buffer for the batch norm's output and no separate ReLU pass: the
// mask (y > 0) is applied to dy inside the batch norm's own sums (float CPU, the fast kernel).
// The double reference and CUDA run the two existing kernels one after the other, which defines
// what the fast kernel must match (tests/ops/test_cpu_fast.cpp, test_nn.cpp's gradient checks).
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/batchnorm.h"
#include "kernels/elementwise.h"

namespace cudistill {

namespace {
// Forward into y (N, C, HW) with the batch statistics (training) or the running ones.
void forward(Tensor& y, Tensor& mean, Tensor& invstd, const Tensor& x, const Tensor& gamma, const Tensor& beta,
             Tensor& running_mean, Tensor& running_var, int N, int C, int64_t HW, bool training, double momentum,
             double eps, bool relu) {
  const int64_t n = y.numel();
  dispatch(
      "batch_norm2d", x,
      [&](auto tag) {
        using T = decltype(tag);
        // float training: the vectorised kernel (ReLU fused in); double (gradient checks) and
        // eval: the reference, then the ReLU in place.
        if constexpr (std::is_same_v<T, float>)
          if (training) {
            cpu::fast::batchnorm_fwd_train(y.data<T>(), mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
                                           running_var.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), N, C,
                                           HW, T(momentum), T(eps), relu);
            return;
          }
        if (training)
          cpu::batchnorm_fwd_train<T>(y.data<T>(), mean.data<T>(), invstd.data<T>(), running_mean.data<T>(),
                                      running_var.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), N, C, HW,
                                      T(momentum), T(eps));
        else
          cpu::batchnorm_fwd_eval<T>(y.data<T>(), x.data<T>(), gamma.data<T>(), beta.data<T>(), running_mean.data<T>(),
                                     running_var.data<T>(), N, C, HW, T(eps));
        if (relu) cpu::relu_fwd<T>(y.data<T>(), y.data<T>(), n);
      },
      CUDA_PATH({
        if (training)
          cuda::batchnorm_fwd_train(y.data<float>(), mean.data<float>(), invstd.data<float>(),
                                    running_mean.data<float>(), running_var.data<float>(), x.data<float>(),
                                    gamma.data<float>(), beta.data<float>(), N, C, HW, float(momentum), float(eps));
        else
          cuda::batchnorm_fwd_eval(y.data<float>(), x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                   running_mean.data<float>(), running_var.data<float>(), N, C, HW, float(eps));
        if (relu) cuda::relu_fwd(y.data<float>(), y.data<float>(), n);
      }));
}
}  // namespace

Tensor batch_norm2d(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum, double eps, bool relu) {
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
  forward(y, mean, invstd, x, gamma, beta, running_mean, running_var, N, C, HW, training, momentum, eps, relu);
  if (!needs_grad({&x, &gamma, &beta})) return y;
  if (!training) {
    // The constants backward needs, from the running statistics: C values, computed on the host.
    std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector(), is(rv.size());
    for (size_t c = 0; c < rv.size(); ++c) is[c] = 1.0 / std::sqrt(rv[c] + eps);
    mean = Tensor::from_vector(rm, {C}, x.dtype()).to(x.device());
    invstd = Tensor::from_vector(is, {C}, x.dtype()).to(x.device());
  }
  // The ReLU's mask is y > 0; a detached view of y shares its memory without holding y's own
  // autograd node (which holds this closure: holding y itself would be a cycle).
  const Tensor out = relu ? y.detach() : Tensor();
  record(y, "batch_norm2d", {&x, &gamma, &beta}, [x, gamma, beta, mean, invstd, out, N, C, HW, training](const Tensor& g) {
    Tensor gc = g.contiguous();
    const int64_t n = gc.numel();
    dispatch(
        "batch_norm2d_backward", gc,
        [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, float>) {
            cpu::fast::batchnorm_bwd(grad_ptr<T>(x), grad_ptr<T>(gamma), grad_ptr<T>(beta), gc.data<T>(), x.data<T>(),
                                     gamma.data<T>(), mean.data<T>(), invstd.data<T>(), N, C, HW, training,
                                     out.defined() ? out.data<T>() : nullptr);
          } else {
            Tensor dy = gc;
            if (out.defined()) {  // dy * (y > 0), by the ReLU's own backward
              dy = Tensor::zeros(gc.shape(), gc.dtype());
              cpu::relu_bwd<T>(dy.data<T>(), gc.data<T>(), out.data<T>(), n);
            }
            cpu::batchnorm_bwd<T>(grad_ptr<T>(x), grad_ptr<T>(gamma), grad_ptr<T>(beta), dy.data<T>(), x.data<T>(),
                                  gamma.data<T>(), mean.data<T>(), invstd.data<T>(), N, C, HW, training);
          }
        },
        CUDA_PATH({
          Tensor dy = gc;
          if (out.defined()) {
            dy = Tensor::zeros(gc.shape(), gc.dtype(), gc.device());
            cuda::relu_bwd(dy.data<float>(), gc.data<float>(), out.data<float>(), n);
          }
          cuda::batchnorm_bwd(grad_ptr<float>(x), grad_ptr<float>(gamma), grad_ptr<float>(beta), dy.data<float>(),
                              x.data<float>(), gamma.data<float>(), mean.data<float>(), invstd.data<float>(), N, C, HW,
                              training);
        }));
  });
  return y;
}

}  // namespace cudistill
