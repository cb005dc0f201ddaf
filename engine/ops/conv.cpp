// ops/conv.cpp: conv2d; shape checks here, im2col + GEMM in kernels/cpu/conv.cpp.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/macs.h"
#include "engine/ops/ops.h"
#include "kernels/conv.h"

namespace cudistill {

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, int stride, int padding,
              int groups) {
  common_device("conv2d", {&x_in, &w_in, &b_in});
  ENGINE_CHECK(x_in.ndim() == 4 && w_in.ndim() == 4, "conv2d: x ", shape_str(x_in.shape()), " and w ",
               shape_str(w_in.shape()), " must be (N, C, H, W) and (O, C/groups, KH, KW)");
  ENGINE_CHECK(stride >= 1 && padding >= 0 && groups >= 1, "conv2d: stride ", stride, ", padding ",
               padding, ", groups ", groups, " out of range");
  cpu::ConvShape s{};
  s.N = int(x_in.size(0)); s.C = int(x_in.size(1)); s.H = int(x_in.size(2)); s.W = int(x_in.size(3));
  s.O = int(w_in.size(0)); s.KH = int(w_in.size(2)); s.KW = int(w_in.size(3));
  s.stride = stride; s.pad = padding; s.groups = groups;
  ENGINE_CHECK(s.C % groups == 0 && s.O % groups == 0 && w_in.size(1) == s.C / groups, "conv2d: x ",
               shape_str(x_in.shape()), ", w ", shape_str(w_in.shape()), " and groups=", groups,
               " disagree: need C and O divisible by groups and w.size(1) == C/groups");
  ENGINE_CHECK(!b_in.defined() || b_in.shape() == Shape{s.O}, "conv2d: bias ", shape_str(b_in.shape()),
               " must be (", s.O, ")");
  s.HO = (s.H + 2 * padding - s.KH) / stride + 1;
  s.WO = (s.W + 2 * padding - s.KW) / stride + 1;
  ENGINE_CHECK(s.HO > 0 && s.WO > 0, "conv2d: a ", s.KH, "x", s.KW, " kernel does not fit a ", s.H, "x",
               s.W, " input with padding ", padding);

  Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = b_in.defined() ? b_in.contiguous() : b_in;
  Tensor y = Tensor::empty({s.N, s.O, s.HO, s.WO}, x.dtype(), x.device());
  count_macs(int64_t(s.N) * s.O * s.HO * s.WO * (s.C / groups) * s.KH * s.KW);
  dispatch(
      "conv2d", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_fwd<T>(y.data<T>(), x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, s);
      },
      CUDA_PATH(cuda::conv2d_fwd(y.data<float>(), x.data<float>(), w.data<float>(),
                                 b.defined() ? b.data<float>() : nullptr, s)));
  if (needs_grad({&x, &w, &b})) {
    record(y, "conv2d", {&x, &w, &b}, [x, w, b, s](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch(
          "conv2d_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::conv2d_bwd<T>(grad_ptr<T>(x), grad_ptr<T>(w), grad_ptr<T>(b), gc.data<T>(), x.data<T>(), w.data<T>(), s);
          },
          CUDA_PATH(cuda::conv2d_bwd(grad_ptr<float>(x), grad_ptr<float>(w), grad_ptr<float>(b), gc.data<float>(), x.data<float>(),
                                     w.data<float>(), s)));
    });
  }
  return y;
}

}  // namespace cudistill
