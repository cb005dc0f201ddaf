// dispatch.cpp: device and dtype agreement between an op's inputs.
#include "engine/ops/dispatch.h"

namespace cudistill {

Device common_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t || !t->defined()) continue;
    if (!first) { first = t; continue; }
    ENGINE_CHECK(t->device() == first->device(), op, ": inputs on different devices (",
                 device_name(first->device()), " and ", device_name(t->device()),
                 "); move them with .to() first");
    ENGINE_CHECK(t->dtype() == first->dtype(), op, ": inputs of different dtypes (",
                 dtype_name(first->dtype()), " and ", dtype_name(t->dtype()), ")");
  }
  ENGINE_CHECK(first != nullptr, op, ": no defined input");
  return first->device();
}

}  // namespace cudistill
