// ops/pool.cpp: max_pool2d, avg_pool2d, global_avg_pool.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/pool.h"

namespace cudistill {

namespace {
struct PoolGeom {
  int N, C, H, W, HO, WO;
};
PoolGeom pool_geom(const char* op, const Tensor& x, int k, int stride, int pad) {
  ENGINE_CHECK(x.ndim() == 4, op, ": x ", shape_str(x.shape()), " must be (N, C, H, W)");
  ENGINE_CHECK(k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k, op, ": kernel ", k, ", stride ", stride,
               ", padding ", pad, " invalid (padding may be at most half the kernel)");
  PoolGeom g{int(x.size(0)), int(x.size(1)), int(x.size(2)), int(x.size(3)), 0, 0};
  g.HO = (g.H + 2 * pad - k) / stride + 1;
  g.WO = (g.W + 2 * pad - k) / stride + 1;
  ENGINE_CHECK(g.HO > 0 && g.WO > 0, op, ": a ", k, "x", k, " window does not fit ", shape_str(x.shape()));
  return g;
}
}  // namespace

Tensor max_pool2d(const Tensor& x_in, int k, int stride, int pad) {
  PoolGeom g = pool_geom("max_pool2d", x_in, k, stride, pad);
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({g.N, g.C, g.HO, g.WO}, x.dtype(), x.device());
  Tensor argmax = Tensor::empty(y.shape(), DType::I32, x.device());
  dispatch(
      "max_pool2d", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::maxpool2d_fwd<T>(y.data<T>(), argmax.data<int32_t>(), x.data<T>(), g.N, g.C, g.H, g.W, k, stride, pad,
                              g.HO, g.WO);
      },
      CUDA_PATH(cuda::maxpool2d_fwd(y.data<float>(), argmax.data<int32_t>(), x.data<float>(), g.N, g.C, g.H, g.W, k,
                                    stride, pad, g.HO, g.WO)));
  if (needs_grad({&x})) {
    record(y, "max_pool2d", {&x}, [x, argmax, g](const Tensor& gy) {
      Tensor gc = gy.contiguous();
      dispatch(
          "max_pool2d_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::maxpool2d_bwd<T>(grad_slot(x).data<T>(), gc.data<T>(), argmax.data<int32_t>(), g.N, g.C, g.H, g.W,
                                  g.HO, g.WO);
          },
          CUDA_PATH(cuda::maxpool2d_bwd(grad_slot(x).data<float>(), gc.data<float>(), argmax.data<int32_t>(), g.N,
                                        g.C, g.H, g.W, g.HO, g.WO)));
    });
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x_in, int k, int stride, int pad, bool count_include_pad) {
  PoolGeom g = pool_geom("avg_pool2d", x_in, k, stride, pad);
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({g.N, g.C, g.HO, g.WO}, x.dtype(), x.device());
  dispatch(
      "avg_pool2d", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::avgpool2d_fwd<T>(y.data<T>(), x.data<T>(), g.N, g.C, g.H, g.W, k, stride, pad, g.HO, g.WO,
                              count_include_pad);
      },
      CUDA_PATH(cuda::avgpool2d_fwd(y.data<float>(), x.data<float>(), g.N, g.C, g.H, g.W, k, stride, pad, g.HO, g.WO,
                                    count_include_pad)));
  if (needs_grad({&x})) {
    record(y, "avg_pool2d", {&x}, [x, g, k, stride, pad, count_include_pad](const Tensor& gy) {
      Tensor gc = gy.contiguous();
      dispatch(
          "avg_pool2d_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::avgpool2d_bwd<T>(grad_slot(x).data<T>(), gc.data<T>(), g.N, g.C, g.H, g.W, k, stride, pad, g.HO,
                                  g.WO, count_include_pad);
          },
          CUDA_PATH(cuda::avgpool2d_bwd(grad_slot(x).data<float>(), gc.data<float>(), g.N, g.C, g.H, g.W, k, stride,
                                        pad, g.HO, g.WO, count_include_pad)));
    });
  }
  return y;
}

Tensor global_avg_pool(const Tensor& x_in) {
  ENGINE_CHECK(x_in.ndim() == 4, "global_avg_pool: x ", shape_str(x_in.shape()), " must be (N, C, H, W)");
  Tensor x = x_in.contiguous();
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({N, C}, x.dtype(), x.device());
  dispatch(
      "global_avg_pool", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::global_avgpool_fwd<T>(y.data<T>(), x.data<T>(), N * C, HW);
      },
      CUDA_PATH(cuda::global_avgpool_fwd(y.data<float>(), x.data<float>(), N * C, HW)));
  if (needs_grad({&x})) {
    record(y, "global_avg_pool", {&x}, [x, N, C, HW](const Tensor& gy) {
      Tensor gc = gy.contiguous();
      dispatch(
          "global_avg_pool_backward", gc,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::global_avgpool_bwd<T>(grad_slot(x).data<T>(), gc.data<T>(), N * C, HW);
          },
          CUDA_PATH(cuda::global_avgpool_bwd(grad_slot(x).data<float>(), gc.data<float>(), N * C, HW)));
    });
  }
  return y;
}

}  // namespace cudistill
