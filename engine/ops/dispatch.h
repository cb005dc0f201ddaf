// dispatch.h: the one place where an op chooses CPU or CUDA code for its tensors.
// cpu_fn is called with a float or double tag (the CPU reference is templated on the type);
// cuda_fn (CUDA kernels are float32) is written with the CUDA_PATH(...) macro, which compiles to
// nothing in CPU-only builds, where no tensor can live on a GPU anyway.
// A CUDA tensor reaching an op without a CUDA kernel is an error that names the op: never a
// silent copy to the host (docs/STYLE.md, rule 2). Every dispatch is an NVTX range named after the op.
#pragma once
#include <initializer_list>
#include <type_traits>

#include "engine/nvtx.h"
#include "engine/tensor.h"

#if defined(CUDISTILL_HAVE_CUDA)
#define CUDA_PATH(...) [&] { __VA_ARGS__; }
#else
#define CUDA_PATH(...) [&] {}
#endif

namespace cudistill {

// For ops that share one lambda between both paths (relu, softmax, ...): called with CudaTag it
// must run the CUDA kernel, with float/double the CPU reference.
struct CudaTag {};
template <typename T> inline constexpr bool is_cuda_tag = std::is_same_v<T, CudaTag>;

// All defined tensors in `ts` must share the device and dtype of the first; returns that device.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

template <typename CpuFn, typename CudaFn>
void dispatch(const char* op, const Tensor& like, CpuFn&& cpu_fn, CudaFn&& cuda_fn) {
  NvtxRange range(op);
  if (like.device() == Device::CPU) {
    dispatch_float(like.dtype(), cpu_fn);
    return;
  }
  ENGINE_CHECK(like.dtype() == DType::F32, "op '", op, "': CUDA kernels are float32; got ",
               dtype_name(like.dtype()));
  cuda_fn();
}

// CPU-only ops: a CUDA tensor is an error naming the op.
template <typename CpuFn>
void dispatch(const char* op, const Tensor& like, CpuFn&& cpu_fn) {
  dispatch(op, like, cpu_fn, [op] {
    ENGINE_CHECK(false, "op '", op, "' has no CUDA kernel; move its inputs to the CPU explicitly with "
                 ".to(Device::CPU) if that is what you want");
  });
}

}  // namespace cudistill
