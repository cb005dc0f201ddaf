// dispatch.h: the one place where an op chooses CPU or CUDA code for its tensors.
// cpu_fn is called with a float or double tag (the CPU reference is templated on the type).
// A CUDA tensor reaching an op without a CUDA kernel is an error that names the op: never a
// silent copy to the host (STYLE.md, rule 2).
#pragma once
#include <initializer_list>

#include "engine/tensor.h"

namespace cudistill {

// All defined tensors in `ts` must share the device and dtype of the first; returns that device.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

template <typename CpuFn>
void dispatch(const char* op, const Tensor& like, CpuFn&& cpu_fn) {
  if (like.device() == Device::CPU) {
    dispatch_float(like.dtype(), cpu_fn);
    return;
  }
  ENGINE_CHECK(false, "op '", op, "' has no CUDA kernel in this build; move its inputs to the CPU "
               "explicitly with .to(Device::CPU) if that is what you want");
}

}  // namespace cudistill
