// tensor.cpp: factories, metadata, host reads and printing. Views live in ops/view.cpp and the
// backward pass in autograd.cpp.
#include "engine/tensor.h"

#include <algorithm>

#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine/autograd.h"
#include "kernels/copy.h"

namespace cudistill {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = base.dtype();
  impl->device = base.device();
  return Tensor(impl);
}

// ---------------------------------------------------------------- factories
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) ENGINE_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::CPU);
  if (dtype == DType::I32) {
    int32_t* p = host.data<int32_t>();
    for (int64_t i = 0, n = host.numel(); i < n; ++i) p[i] = int32_t(value);
    return host.to(device);
  }
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = host.data<T>();
    std::fill(p, p + host.numel(), T(value));  // memset for zeros (the gradients' first state)
  });
  return host.to(device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  ENGINE_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
               " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype);
  if (dtype == DType::I32) {
    int32_t* p = t.data<int32_t>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = int32_t(values[i]);
    return t;
  }
  dispatch_float(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = T(values[i]);
  });
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, double stddev, DType dtype) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = stddev * rng.normal();
  return from_vector(v, shape, dtype);
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, double lo, double hi, DType dtype) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = rng.uniform(lo, hi);
  return from_vector(v, shape, dtype);
}

// ---------------------------------------------------------------- metadata
// A default-constructed Tensor has no impl: every accessor says so instead of crashing.
static TensorImpl* checked(const std::shared_ptr<TensorImpl>& impl) {
  ENGINE_CHECK(impl != nullptr, "use of an undefined Tensor (default-constructed, or an optional input left empty)");
  return impl.get();
}
const Shape& Tensor::shape() const { ENGINE_CHECK(defined(), "shape() of an undefined tensor"); return impl_->shape; }
const Shape& Tensor::strides() const { return checked(impl_)->strides; }
int Tensor::ndim() const { return int(shape().size()); }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return checked(impl_)->dtype; }
Device Tensor::device() const { return checked(impl_)->device; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_)->storage; }
int64_t Tensor::offset() const { return checked(impl_)->offset; }

int64_t Tensor::size(int dim) const {
  int nd = ndim();
  int d = dim < 0 ? dim + nd : dim;
  ENGINE_CHECK(d >= 0 && d < nd, "dim ", dim, " out of range for a tensor of shape ", shape_str(shape()));
  return impl_->shape[d];
}

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (impl_->shape[i] == 1) continue;  // a size-1 dim's stride never matters
    if (impl_->strides[i] != expect) return false;
    expect *= impl_->shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  ENGINE_CHECK(defined(), "raw_data() on an undefined tensor");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * int64_t(dtype_size(impl_->dtype));
}

// ---------------------------------------------------------------- host reads
std::vector<double> Tensor::to_vector() const {
  Tensor h = detach().to(Device::CPU);
  std::vector<double> out(static_cast<size_t>(h.numel()));
  if (h.dtype() == DType::I32) {
    cpu::copy_strided<double, int32_t>(out.data(), h.data<int32_t>(), h.ndim(), h.shape().data(),
                                       h.strides().data());
    return out;
  }
  dispatch_float(h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::copy_strided<double, T>(out.data(), h.data<T>(), h.ndim(), h.shape().data(), h.strides().data());
  });
  return out;
}

double Tensor::item() const {
  ENGINE_CHECK(numel() == 1, "item() needs a single-element tensor, got shape ", shape_str(shape()));
  return to_vector()[0];
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  ENGINE_CHECK(int(index.size()) == ndim(), "at(): ", index.size(), " indices for a ", ndim(), "-d tensor");
  int64_t off = 0;
  int d = 0;
  for (int64_t i : index) {
    ENGINE_CHECK(i >= 0 && i < impl_->shape[d], "at(): index ", i, " out of range in dim ", d);
    off += i * impl_->strides[d++];
  }
  return make_view(*this, {}, {}, impl_->offset + off).item();
}

std::string Tensor::str(int max_per_dim) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << shape_str(shape()) << ", " << dtype_name(dtype()) << ", "
     << device_name(device()) << (requires_grad() ? ", requires_grad" : "") << ")\n";
  std::vector<double> v = to_vector();
  const Shape& s = shape();
  // Prints nested brackets; each dim shows at most max_per_dim entries, then "...".
  std::function<void(int, int64_t)> rec = [&](int d, int64_t base) {
    if (d == int(s.size())) { os << std::setprecision(5) << v[size_t(base)]; return; }
    int64_t stride = 1;
    for (size_t k = size_t(d) + 1; k < s.size(); ++k) stride *= s[k];
    os << "[";
    for (int64_t i = 0; i < s[d]; ++i) {
      if (i == max_per_dim && s[d] > max_per_dim + 1) { os << ", ..."; i = s[d] - 1; }
      if (i) os << (d + 1 == int(s.size()) ? ", " : ",\n ");
      rec(d + 1, base + i * stride);
    }
    os << "]";
  };
  if (v.empty()) os << "[]";
  else rec(0, 0);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---------------------------------------------------------------- autograd fields
bool Tensor::requires_grad() const { return defined() && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  ENGINE_CHECK(is_leaf(), "set_requires_grad on a non-leaf tensor: detach() it first");
  ENGINE_CHECK(!on || dtype() == DType::F32 || dtype() == DType::F64,
               "only floating tensors can require gradients");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return checked(impl_)->grad; }
void Tensor::zero_grad() { impl_->grad = Tensor(); }
void Tensor::retain_grad() { impl_->retains_grad = true; }
bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

void Tensor::backward() const {
  ENGINE_CHECK(numel() == 1, "backward() without a gradient needs a scalar output, got shape ",
               shape_str(shape()), ": pass grad_output");
  backward(Tensor::ones(shape(), dtype(), device()));
}

void Tensor::backward(const Tensor& grad_output) const { run_backward(*this, grad_output); }

}  // namespace cudistill
