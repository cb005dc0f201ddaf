// ops/elementwise.cpp: add, sub, mul (broadcasting), scale, relu, relu6.
// Broadcasting follows NumPy: shapes align at the right, and a dim of 1 (or a missing one)
// stretches. The backward of a broadcast input sums the gradient over the stretched dims, which
// add_into_strided does for free by reading through the input's 0-strides.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/copy.h"
#include "kernels/elementwise.h"

namespace cudistill {

namespace {
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    ENGINE_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                 " do not broadcast");
    out[i] = std::max(da, db);
  }
  return out;
}

// Strides that read `t` (contiguous) as if it had shape `out`: 0 along broadcast dims.
Shape broadcast_strides(const Tensor& t, const Shape& out) {
  Shape st(out.size(), 0);
  const size_t off = out.size() - size_t(t.ndim());
  for (size_t i = 0; i < size_t(t.ndim()); ++i)
    st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

// g reduced to t's shape (summing broadcast dims), added into t's gradient buffer.
void accumulate_broadcast(const Tensor& t, const Tensor& g, double sign) {
  Tensor& gt = grad_slot(t);
  Shape st = broadcast_strides(gt, g.shape());
  Tensor src = (sign == 1.0 ? g : scale(g, sign)).contiguous();
  dispatch(
      "add_backward", g,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::add_into_strided<T>(gt.data<T>(), src.data<T>(), g.ndim(), g.shape().data(), st.data());
      },
      CUDA_PATH(cuda::add_into_strided(gt.data<float>(), src.data<float>(), g.ndim(), g.shape().data(), st.data())));
}

Tensor binary(cpu::BinaryOp op, const char* name, const Tensor& a_in, const Tensor& b_in) {
  common_device(name, {&a_in, &b_in});
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Shape shape = broadcast_shape(a.shape(), b.shape(), name);
  Shape as = broadcast_strides(a, shape), bs = broadcast_strides(b, shape);
  Tensor y = Tensor::empty(shape, a.dtype(), a.device());
  dispatch(
      name, a,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::binary_fwd<T>(op, y.data<T>(), a.data<T>(), as.data(), b.data<T>(), bs.data(), int(shape.size()),
                           shape.data());
      },
      CUDA_PATH(cuda::binary_fwd(op, y.data<float>(), a.data<float>(), as.data(), b.data<float>(), bs.data(),
                                 int(shape.size()), shape.data())));
  if (needs_grad({&a, &b})) {
    record(y, name, {&a, &b}, [op, a, b](const Tensor& g) {
      if (op == cpu::BinaryOp::Mul) {  // d(a*b) = g*b da + g*a db
        if (a.requires_grad()) accumulate_broadcast(a, mul(g, b), 1.0);
        if (b.requires_grad()) accumulate_broadcast(b, mul(g, a), 1.0);
      } else {
        if (a.requires_grad()) accumulate_broadcast(a, g, 1.0);
        if (b.requires_grad()) accumulate_broadcast(b, g, op == cpu::BinaryOp::Sub ? -1.0 : 1.0);
      }
    });
  }
  return y;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::Add, "add", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::Sub, "sub", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(cpu::BinaryOp::Mul, "mul", a, b); }

void add_inplace(Tensor& dst, const Tensor& src) {
  common_device("add_inplace", {&dst, &src});
  ENGINE_CHECK(dst.shape() == src.shape(), "add_inplace: shapes ", shape_str(dst.shape()), " and ",
               shape_str(src.shape()), " differ");
  ENGINE_CHECK(dst.is_contiguous(), "add_inplace: the destination must be contiguous");
  Tensor s = src.contiguous();
  dispatch(
      "add_inplace", dst,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::axpy<T>(dst.data<T>(), T(1), s.data<T>(), dst.numel());
      },
      CUDA_PATH(cuda::axpy(dst.data<float>(), 1.f, s.data<float>(), dst.numel())));
}

Tensor scale(const Tensor& x_in, double s) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      "scale", x,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::scale_fwd<T>(y.data<T>(), x.data<T>(), T(s), x.numel());
      },
      CUDA_PATH(cuda::scale_fwd(y.data<float>(), x.data<float>(), float(s), x.numel())));
  if (needs_grad({&x})) {
    record(y, "scale", {&x}, [x, s](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch(
          "scale_backward", g,
          [&](auto tag) {
            using T = decltype(tag);
            cpu::axpy<T>(grad_slot(x).data<T>(), T(s), gc.data<T>(), gc.numel());
          },
          CUDA_PATH(cuda::axpy(grad_slot(x).data<float>(), float(s), gc.data<float>(), gc.numel())));
    });
  }
  return y;
}

namespace {
// relu and relu6 share everything but their kernels. fwd/bwd take a float or double tag; the
// CUDA kernels are float only, so they are called with a float tag.
template <typename Fwd, typename Bwd>
Tensor activation(const char* name, const Tensor& x_in, Fwd fwd, Bwd bwd) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(name, x, [&](auto tag) { fwd(tag, y, x); }, [&] { fwd(CudaTag{}, y, x); });
  if (needs_grad({&x})) {
    record(y, name, {&x}, [name, x, bwd](const Tensor& g) {
      Tensor gc = g.contiguous();
      dispatch(name, g, [&](auto tag) { bwd(tag, grad_slot(x), gc, x); }, [&] { bwd(CudaTag{}, grad_slot(x), gc, x); });
    });
  }
  return y;
}
}  // namespace

Tensor relu(const Tensor& x) {
  return activation(
      "relu", x,
      [](auto tag, Tensor& y, const Tensor& x) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>) CUDA_PATH(cuda::relu_fwd(y.data<float>(), x.data<float>(), x.numel()))();
        else cpu::relu_fwd<T>(y.data<T>(), x.data<T>(), x.numel());
      },
      [](auto tag, Tensor& dx, const Tensor& dy, const Tensor& x) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>) CUDA_PATH(cuda::relu_bwd(dx.data<float>(), dy.data<float>(), x.data<float>(), x.numel()))();
        else cpu::relu_bwd<T>(dx.data<T>(), dy.data<T>(), x.data<T>(), x.numel());
      });
}

Tensor relu6(const Tensor& x) {
  return activation(
      "relu6", x,
      [](auto tag, Tensor& y, const Tensor& x) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>) CUDA_PATH(cuda::relu6_fwd(y.data<float>(), x.data<float>(), x.numel()))();
        else cpu::relu6_fwd<T>(y.data<T>(), x.data<T>(), x.numel());
      },
      [](auto tag, Tensor& dx, const Tensor& dy, const Tensor& x) {
        using T = decltype(tag);
        if constexpr (is_cuda_tag<T>) CUDA_PATH(cuda::relu6_bwd(dx.data<float>(), dy.data<float>(), x.data<float>(), x.numel()))();
        else cpu::relu6_bwd<T>(dx.data<T>(), dy.data<T>(), x.data<T>(), x.numel());
      });
}

}  // namespace cudistill
