// ops/view.cpp: views (reshape, permute, transpose, slice) and copies (contiguous, clone, to).
// A view shares storage and only changes shape/strides/offset; its backward routes the gradient
// back through the inverse geometry. Copies between devices or dtypes are always explicit.
#include <numeric>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/copy.h"

namespace cudistill {

namespace {
// The gradient `g` of a view, added into the gradient buffer of its base, through the view's
// own geometry (shape, strides, offset relative to the base's storage).
void add_through_view(const Tensor& base, const Tensor& view, const Tensor& g) {
  Tensor& gb = grad_slot(base);  // contiguous, base's shape
  // The view's strides index base's storage. The base is contiguous (slice views only contiguous
  // tensors), so the same geometry indexes the dense gradient buffer too.
  Tensor gc = g.contiguous();
  const int64_t off = view.offset() - base.offset();
  dispatch(
      "slice_backward", gc,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::add_into_strided<T>(gb.data<T>() + off, gc.data<T>(), view.ndim(), view.shape().data(),
                                 view.strides().data());
      },
      CUDA_PATH(cuda::add_into_strided(gb.data<float>() + off, gc.data<float>(), view.ndim(), view.shape().data(),
                                       view.strides().data())));
}

int wrap_dim(int d, int nd, const char* op) {
  int r = d < 0 ? d + nd : d;
  ENGINE_CHECK(r >= 0 && r < nd, op, ": dim ", d, " out of range for ", nd, " dims");
  return r;
}
}  // namespace

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), device());
  if (dtype() == DType::I32) {
    if (is_cpu())
      cpu::copy_strided<int32_t, int32_t>(out.data<int32_t>(), data<int32_t>(), ndim(), shape().data(),
                                          strides().data());
    else
      CUDA_PATH(cuda::copy_strided(out.data<int32_t>(), data<int32_t>(), ndim(), shape().data(), strides().data()))();
    return out;
  }
  dispatch(
      "contiguous", *this,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::copy_strided<T, T>(out.data<T>(), data<T>(), ndim(), shape().data(), strides().data());
      },
      CUDA_PATH(cuda::copy_strided(out.data<float>(), data<float>(), ndim(), shape().data(), strides().data())));
  if (needs_grad({this})) {
    Tensor self = *this;  // the strided input: its grad is scattered back through its strides
    record(out, "contiguous", {this}, [self](const Tensor& g) {
      // Gradient buffers are dense in the logical shape, whatever the input's strides.
      add_inplace(grad_slot(self), g);
    });
  }
  return out;
}

Tensor Tensor::clone() const {
  if (!is_contiguous()) return contiguous();
  Tensor out = Tensor::empty(shape(), dtype(), device());
  copy_bytes(out.raw_data(), device(), raw_data(), device(), size_t(numel()) * dtype_size(dtype()));
  if (needs_grad({this})) {
    Tensor self = *this;
    record(out, "clone", {this}, [self](const Tensor& g) { add_inplace(grad_slot(self), g); });
  }
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  ENGINE_CHECK(!requires_grad() || !grad_enabled(),
               "to(device) on a tensor that requires grad: move leaves before building the graph");
  Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), dtype(), d);
  copy_bytes(out.raw_data(), d, src.raw_data(), src.device(), size_t(numel()) * dtype_size(dtype()));
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  ENGINE_CHECK(is_cpu(), "dtype conversion of a CUDA tensor is not supported yet");
  ENGINE_CHECK(!requires_grad() || !grad_enabled(), "to(dtype) on a tensor that requires grad");
  Tensor out = Tensor::empty(shape(), t, device());
  auto convert = [&](auto dst_tag, auto src_tag) {
    using TD = decltype(dst_tag);
    using TS = decltype(src_tag);
    cpu::copy_strided<TD, TS>(out.data<TD>(), data<TS>(), ndim(), shape().data(), strides().data());
  };
  if (t == DType::F32 && dtype() == DType::F64) convert(float{}, double{});
  else if (t == DType::F64 && dtype() == DType::F32) convert(double{}, float{});
  else ENGINE_CHECK(false, "no conversion from ", dtype_name(dtype()), " to ", dtype_name(t));
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape_in) const {
  Shape ns = new_shape_in;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < ns.size(); ++i) {
    if (ns[i] == -1) {
      ENGINE_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(new_shape_in));
      infer = int(i);
    } else {
      known *= ns[i];
    }
  }
  if (infer >= 0) {
    ENGINE_CHECK(known > 0 && numel() % known == 0, "reshape: cannot infer -1 in ", shape_str(new_shape_in),
                 " for ", numel(), " elements");
    ns[size_t(infer)] = numel() / known;
  }
  ENGINE_CHECK(shape_numel(ns) == numel(), "reshape: ", shape_str(shape()), " (", numel(),
               " elements) cannot become ", shape_str(ns));
  Tensor src = contiguous();  // a copy (with its own backward) only when strided
  Tensor out = make_view(src, ns, contiguous_strides(ns), src.offset());
  if (needs_grad({&src})) {
    Shape old = src.shape();
    record(out, "reshape", {&src}, [src, old](const Tensor& g) {
      add_inplace(grad_slot(src), g.reshape(old));
    });
  }
  return out;
}

Tensor Tensor::permute(const std::vector<int>& dims) const {
  const int nd = ndim();
  ENGINE_CHECK(int(dims.size()) == nd, "permute: ", dims.size(), " dims for a ", nd, "-d tensor");
  std::vector<int> seen(static_cast<size_t>(nd), 0), inverse(static_cast<size_t>(nd));
  Shape ns(static_cast<size_t>(nd)), st(static_cast<size_t>(nd));
  for (int i = 0; i < nd; ++i) {
    int d = wrap_dim(dims[size_t(i)], nd, "permute");
    ENGINE_CHECK(!seen[size_t(d)]++, "permute: dim ", d, " repeated");
    ns[size_t(i)] = shape()[size_t(d)];
    st[size_t(i)] = strides()[size_t(d)];
    inverse[size_t(d)] = i;
  }
  Tensor out = make_view(*this, ns, st, offset());
  if (needs_grad({this})) {
    Tensor self = *this;
    record(out, "permute", {this}, [self, inverse](const Tensor& g) {
      add_inplace(grad_slot(self), g.permute(inverse));
    });
  }
  return out;
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> dims(static_cast<size_t>(ndim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[size_t(wrap_dim(a, ndim(), "transpose"))], dims[size_t(wrap_dim(b, ndim(), "transpose"))]);
  return permute(dims);
}

Tensor Tensor::slice(int dim, int64_t start, int64_t end, int64_t step) const {
  const int d = wrap_dim(dim, ndim(), "slice");
  const int64_t n = shape()[size_t(d)];
  ENGINE_CHECK(step > 0, "slice: step must be positive, got ", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::min(std::max<int64_t>(start, 0), n);
  end = std::min(std::max<int64_t>(end, start), n);
  Shape ns = shape(), st = strides();
  ns[size_t(d)] = (end - start + step - 1) / step;
  st[size_t(d)] *= step;
  Tensor src = contiguous();  // so the gradient can be laid onto a dense buffer of src's shape
  Tensor out = make_view(src, ns, st, src.offset() + start * src.strides()[size_t(d)]);
  if (needs_grad({&src})) {
    Tensor view = out.detach();
    record(out, "slice", {&src}, [src, view](const Tensor& g) { add_through_view(src, view, g); });
  }
  return out;
}

Tensor flatten(const Tensor& x, int start_dim) {
  const int d = wrap_dim(start_dim, x.ndim(), "flatten");
  Shape ns(x.shape().begin(), x.shape().begin() + d);
  int64_t rest = 1;
  for (int i = d; i < x.ndim(); ++i) rest *= x.shape()[size_t(i)];
  ns.push_back(rest);
  return x.reshape(ns);
}

}  // namespace cudistill
