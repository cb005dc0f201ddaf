// tensor.h: the n-dimensional array of cudistill.
// A Tensor is a cheap handle (shared_ptr) to a TensorImpl: shape, strides (in elements), an
// offset into a shared Storage, dtype and device, plus the autograd fields. Views (reshape,
// permute, transpose, slice) share storage; contiguous() copies only when it must.
// Not here: arithmetic (engine/ops/), the backward pass (engine/autograd.h).
// Tested in tests/ops/test_tensor.cpp.
#pragma once
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/random.h"
#include "engine/storage.h"

namespace cudistill {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- factories (contiguous, row-major) ---
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  // values in row-major order; values.size() must equal the shape's element count
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32);
  static Tensor randn(const Shape& shape, Rng& rng, double stddev = 1.0, DType dtype = DType::F32);
  static Tensor uniform(const Shape& shape, Rng& rng, double lo, double hi,
                        DType dtype = DType::F32);

  // --- metadata ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t size(int dim) const;  // negative dims count from the end
  int ndim() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  bool is_cpu() const { return device() == Device::CPU; }

  // --- raw data: pointer to the first element; checks that T matches the dtype ---
  template <typename T> T* data() const;
  void* raw_data() const;
  const std::shared_ptr<Storage>& storage() const;
  int64_t offset() const;

  // --- host-side reads, for tests and debugging (copies to the CPU as needed) ---
  double item() const;                             // single-element tensors only
  double at(std::initializer_list<int64_t> index) const;
  std::vector<double> to_vector() const;           // row-major
  std::string str(int max_per_dim = 6) const;

  // --- views and copies (autograd-aware; defined in engine/ops/view.cpp) ---
  Tensor reshape(const Shape& shape) const;        // a view when contiguous, else a copy
  Tensor permute(const std::vector<int>& dims) const;
  Tensor transpose(int a, int b) const;
  Tensor slice(int dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor contiguous() const;                       // itself when already contiguous
  Tensor clone() const;                            // always a fresh contiguous copy
  Tensor to(Device device) const;                  // explicit device copy (no-op if same)
  Tensor to(DType dtype) const;                    // explicit dtype conversion

  // --- autograd ---
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);       // leaves only
  Tensor grad() const;                             // undefined until a backward reaches it
  void zero_grad();                                // drops the gradient (next backward starts at 0)
  void retain_grad();                              // keep .grad on a non-leaf after backward
  bool is_leaf() const;
  Tensor detach() const;                           // same storage, no graph
  void backward() const;                           // scalar outputs: seeds with 1
  void backward(const Tensor& grad_output) const;
  const std::shared_ptr<Node>& grad_fn() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;       // in elements
  DType dtype = DType::F32;
  Device device = Device::CPU;
  // autograd
  bool requires_grad = false;
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves and for tensors made under no_grad
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Row-major strides for a shape.
Shape contiguous_strides(const Shape& shape);
// A new TensorImpl viewing `base`'s storage with the given geometry (no autograd fields).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

template <typename T>
T* Tensor::data() const {
  ENGINE_CHECK(defined(), "data() on an undefined tensor");
  ENGINE_CHECK(dtype_of<T>() == impl_->dtype, "data<", dtype_name(dtype_of<T>()),
               ">() on a tensor of dtype ", dtype_name(impl_->dtype));
  return static_cast<T*>(raw_data());
}

}  // namespace cudistill
