// ops/softmax.cpp: softmax and log_softmax with temperature over the last dim of (B, K).
// Both save their output, which is all their backward needs.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/softmax.h"

namespace cudistill {

namespace {
template <typename Fwd, typename Bwd>
Tensor softmax_like(const char* name, const Tensor& x_in, double temperature, Fwd fwd, Bwd bwd) {
  ENGINE_CHECK(x_in.ndim() == 2, name, ": x ", shape_str(x_in.shape()), " must be (B, K)");
  ENGINE_CHECK(temperature > 0, name, ": temperature must be positive, got ", temperature);
  Tensor x = x_in.contiguous();
  const int B = int(x.size(0)), K = int(x.size(1));
  const double inv_t = 1.0 / temperature;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(name, x, [&](auto tag) { fwd(tag, y, x, B, K, inv_t); }, [&] { fwd(CudaTag{}, y, x, B, K, inv_t); });
  if (needs_grad({&x})) {
    Tensor ys = y.detach();  // saving y itself would make y own the node that owns y
    record(y, name, {&x}, [name, x, ys, B, K, inv_t, bwd](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch(
          name, gc, [&](auto tag) { bwd(tag, grad_slot(x), gc, ys, B, K, inv_t); },
          [&] { bwd(CudaTag{}, grad_slot(x), gc, ys, B, K, inv_t); });
    });
  }
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x, double temperature) {
  return softmax_like(
      "softmax", x, temperature,
      [](auto tag, Tensor& y, const Tensor& x, int B, int K, double inv_t) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>)
          CUDA_PATH(cuda::softmax_fwd(y.data<float>(), x.data<float>(), B, K, float(inv_t)))();
        else
          cpu::softmax_fwd<T>(y.data<T>(), x.data<T>(), B, K, T(inv_t));
      },
      [](auto tag, Tensor& dx, const Tensor& dy, const Tensor& y, int B, int K, double inv_t) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>)
          CUDA_PATH(cuda::softmax_bwd(dx.data<float>(), dy.data<float>(), y.data<float>(), B, K, float(inv_t)))();
        else
          cpu::softmax_bwd<T>(dx.data<T>(), dy.data<T>(), y.data<T>(), B, K, T(inv_t));
      });
}

Tensor log_softmax(const Tensor& x, double temperature) {
  return softmax_like(
      "log_softmax", x, temperature,
      [](auto tag, Tensor& y, const Tensor& x, int B, int K, double inv_t) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>)
          CUDA_PATH(cuda::log_softmax_fwd(y.data<float>(), x.data<float>(), B, K, float(inv_t)))();
        else
          cpu::log_softmax_fwd<T>(y.data<T>(), x.data<T>(), B, K, T(inv_t));
      },
      [](auto tag, Tensor& dx, const Tensor& dy, const Tensor& y, int B, int K, double inv_t) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>)
          CUDA_PATH(cuda::log_softmax_bwd(dx.data<float>(), dy.data<float>(), y.data<float>(), B, K, float(inv_t)))();
        else
          cpu::log_softmax_bwd<T>(dx.data<T>(), dy.data<T>(), y.data<T>(), B, K, T(inv_t));
      });
}

}  // namespace cudistill
