// ops/linear.cpp: linear (x @ w^T + b) and matmul, both on the GEMM.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
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
  dispatch("linear", x, [&](auto tag) {
    using T = decltype(tag);
    cpu::linear_fwd<T>(y.data<T>(), x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, B, I, O);
  });
  if (needs_grad({&x, &w, &b})) {
    record(y, "linear", {&x, &w, &b}, [x, w, b, B, I, O](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch("linear_backward", gc, [&](auto tag) {
        using T = decltype(tag);
        cpu::linear_bwd<T>(x.requires_grad() ? grad_slot(x).data<T>() : nullptr,
                           w.requires_grad() ? grad_slot(w).data<T>() : nullptr,
                           b.requires_grad() ? grad_slot(b).data<T>() : nullptr, gc.data<T>(),
                           x.data<T>(), w.data<T>(), B, I, O);
      });
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
  dispatch("matmul", a, [&](auto tag) {
    using T = decltype(tag);
    cpu::gemm<T>(false, false, M, N, K, T(1), a.data<T>(), K, b.data<T>(), N, T(0), y.data<T>(), N);
  });
  if (needs_grad({&a, &b})) {
    record(y, "matmul", {&a, &b}, [a, b, M, K, N](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch("matmul_backward", gc, [&](auto tag) {
        using T = decltype(tag);
        if (a.requires_grad())  // da += g @ b^T
          cpu::gemm<T>(false, true, M, K, N, T(1), gc.data<T>(), N, b.data<T>(), N, T(1),
                       grad_slot(a).data<T>(), K);
        if (b.requires_grad())  // db += a^T @ g
          cpu::gemm<T>(true, false, K, N, M, T(1), a.data<T>(), K, gc.data<T>(), N, T(1),
                       grad_slot(b).data<T>(), N);
      });
    });
  }
  return y;
}

}  // namespace cudistill
