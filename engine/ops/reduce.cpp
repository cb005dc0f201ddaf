// ops/reduce.cpp: sum and mean over all elements (0-d results, for losses and tests).
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace cudistill {

namespace {
Tensor reduce_all(const char* name, const Tensor& x_in, double factor) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({}, x.dtype(), x.device());
  dispatch(
      name, x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::sum_fwd<T>(y.data<T>(), x.data<T>(), x.numel());
        y.data<T>()[0] *= T(factor);
      },
      CUDA_PATH(cuda::sum_fwd(y.data<float>(), x.data<float>(), x.numel());
                cuda::scale_fwd(y.data<float>(), y.data<float>(), float(factor), 1)));
  if (needs_grad({&x})) {
    record(y, name, {&x}, [name, x, factor](const Tensor& g) {
      const double gv = g.item() * factor;  // every input element gets the same gradient
      dispatch(
          name, x,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::add_scalar<T>(grad_slot(x).data<T>(), T(gv), x.numel());
          },
          CUDA_PATH(cuda::add_scalar(grad_slot(x).data<float>(), float(gv), x.numel())));
    });
  }
  return y;
}
}  // namespace

Tensor sum(const Tensor& x) { return reduce_all("sum", x, 1.0); }
Tensor mean(const Tensor& x) {
  ENGINE_CHECK(x.numel() > 0, "mean of an empty tensor");
  return reduce_all("mean", x, 1.0 / double(x.numel()));
}

}  // namespace cudistill
