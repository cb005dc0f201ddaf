// ops/linear.cpp: linear (x @ w^T + b) and matmul, both on the GEMM.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/macs.h"
#include "engine/ops/ops.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"

namespace cudistill {

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  common_device("linear", {&x_in, &w_in, &b_in});
  ENGINE_CHECK(x_in.ndim() == 2 && w_in.ndim() == 2 && x_in.size(1) == w_in.size(1),
               "linear: x ", shape_str(x_in.shape()), " and w ", shape_str(w_in.shape()),
               " must be (B, I) and (O, I)");
  const int B = int(x_in.size(0)), I = int(x_in.size(1)), O = int(w_in.size(0));
  ENGINE_CHECK(!b_in.defined() || b_in.shape() == Shape{O}, "linear: bias ", shape_str(b_in.shape()),
               " must be (", O, ")");
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = b_in.defined() ? b_in.contiguous() : b_in;
  Tensor y = Tensor::empty({B, O}, x.dtype(), x.device());
  count_macs(int64_t(B) * O * I);
  dispatch(
      "linear", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::linear_fwd<T>(y.data<T>(), x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, B, I, O);
      },
      CUDA_PATH(cuda::linear_fwd(y.data<float>(), x.data<float>(), w.data<float>(),
                                 b.defined() ? b.data<float>() : nullptr, B, I, O)));
  if (needs_grad({&x, &w, &b})) {
    record(y, "linear", {&x, &w, &b}, [x, w, b, B, I, O](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch(
          "linear_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::linear_bwd<T>(grad_ptr<T>(x), grad_ptr<T>(w), grad_ptr<T>(b), gc.data<T>(), x.data<T>(), w.data<T>(), B, I, O);
          },
          CUDA_PATH(cuda::linear_bwd(grad_ptr<float>(x), grad_ptr<float>(w), grad_ptr<float>(b), gc.data<float>(), x.data<float>(),
                                     w.data<float>(), B, I, O)));
    });
  }
  return y;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  common_device("matmul", {&a_in, &b_in});
  ENGINE_CHECK(a_in.ndim() == 2 && b_in.ndim() == 2 && a_in.size(1) == b_in.size(0), "matmul: ",
               shape_str(a_in.shape()), " @ ", shape_str(b_in.shape()), " needs (M, K) @ (K, N)");
  const int M = int(a_in.size(0)), K = int(a_in.size(1)), N = int(b_in.size(1));
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor y = Tensor::empty({M, N}, a.dtype(), a.device());
  count_macs(int64_t(M) * N * K);
  dispatch(
      "matmul", a,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::gemm<T>(false, false, M, N, K, T(1), a.data<T>(), K, b.data<T>(), N, T(0), y.data<T>(), N);
      },
      CUDA_PATH(cuda::gemm(false, false, M, N, K, 1.f, a.data<float>(), K, b.data<float>(), N, 0.f, y.data<float>(),
                           N)));
  if (needs_grad({&a, &b})) {
    record(y, "matmul", {&a, &b}, [a, b, M, K, N](const Tensor& g) {
      Tensor gc = g.contiguous();
      // da += g @ b^T,  db += a^T @ g
      dispatch(
          "matmul_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            if (a.requires_grad())
              cpu::gemm<T>(false, true, M, K, N, T(1), gc.data<T>(), N, b.data<T>(), N, T(1), grad_slot(a).data<T>(), K);
            if (b.requires_grad())
              cpu::gemm<T>(true, false, K, N, M, T(1), a.data<T>(), K, gc.data<T>(), N, T(1), grad_slot(b).data<T>(), N);
          },
          CUDA_PATH(if (a.requires_grad()) cuda::gemm(false, true, M, K, N, 1.f, gc.data<float>(), N, b.data<float>(),
                                                      N, 1.f, grad_slot(a).data<float>(), K);
                    if (b.requires_grad()) cuda::gemm(true, false, K, N, M, 1.f, a.data<float>(), K, gc.data<float>(),
                                                      N, 1.f, grad_slot(b).data<float>(), N)));
    });
  }
  return y;
}

}  // namespace cudistill
