// ops/pad.cpp: pad2d, zero padding with four independent amounts. It exists for TensorFlow's
// "SAME" convolutions (EfficientNet-Lite): with stride 2 on an even size the total padding is
// odd and the extra row/column goes at the bottom/right, which conv2d's one symmetric `padding`
// cannot express. Not here: reflect/replicate modes or negative (cropping) amounts.
// Tested in tests/ops/test_pad.cpp (values and float64 finite differences).
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/pad.h"

namespace cudistill {

// x: (N, C, H, W) -> (N, C, top + H + bottom, left + W + right)
Tensor pad2d(const Tensor& x_in, int top, int bottom, int left, int right) {
  ENGINE_CHECK(x_in.ndim() == 4, "pad2d: x ", shape_str(x_in.shape()), " must be (N, C, H, W)");
  ENGINE_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0, "pad2d: padding (top ", top, ", bottom ",
               bottom, ", left ", left, ", right ", right, ") must be >= 0");
  const int N = int(x_in.size(0)), C = int(x_in.size(1)), H = int(x_in.size(2)), W = int(x_in.size(3));
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({N, C, top + H + bottom, left + W + right}, x.dtype(), x.device());
  dispatch(
      "pad2d", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::pad2d_fwd<T>(y.data<T>(), x.data<T>(), N, C, H, W, top, bottom, left, right);
      },
      CUDA_PATH(cuda::pad2d_fwd(y.data<float>(), x.data<float>(), N, C, H, W, top, bottom, left, right)));
  if (needs_grad({&x})) {
    record(y, "pad2d", {&x}, [x, N, C, H, W, top, bottom, left, right](const Tensor& gy) {
      Tensor gc = gy.contiguous();
      dispatch(
          "pad2d_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::pad2d_bwd<T>(grad_slot(x).data<T>(), gc.data<T>(), N, C, H, W, top, bottom, left, right);
          },
          CUDA_PATH(cuda::pad2d_bwd(grad_slot(x).data<float>(), gc.data<float>(), N, C, H, W, top, bottom, left,
                                    right)));
    });
  }
  return y;
}

}  // namespace cudistill
