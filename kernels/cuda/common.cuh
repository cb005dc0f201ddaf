// common.cuh: what every CUDA file of cudistill shares: the always-on error macros, ceil_div,
// the typed accessors of the engine's stream and handles, launch helpers and the warp/block
// reductions. Kernels include this and nothing else of the engine.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>

#include "engine/cuda_context.h"
#include "engine/error.h"

// --- always-on checks (docs/STYLE.md rule 10): statement, function, file, line, and a hint -------
#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    cudaError_t err_ = (call);                                                                 \
    if (err_ != cudaSuccess)                                                                   \
      ::cudistill::detail::check_failed(#call, __func__, __FILE__, __LINE__,                   \
                                        ::cudistill::detail::concat(                           \
                                            "CUDA error ", cudaGetErrorName(err_), ": ",       \
                                            cudaGetErrorString(err_),                          \
                                            " (is a GPU present and the driver loaded?)"));    \
  } while (0)

#define CUBLAS_CHECK(call)                                                                     \
  do {                                                                                         \
    cublasStatus_t st_ = (call);                                                               \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                          \
      ::cudistill::detail::check_failed(#call, __func__, __FILE__, __LINE__,                   \
                                        ::cudistill::detail::concat(                           \
                                            "cuBLAS error ", cublasGetStatusName(st_), ": ",   \
                                            cublasGetStatusString(st_)));                      \
  } while (0)

#define CUDNN_CHECK(call)                                                                      \
  do {                                                                                         \
    cudnnStatus_t st_ = (call);                                                                \
    if (st_ != CUDNN_STATUS_SUCCESS) {                                                         \
      char msg_[512];                                                                          \
      cudnnGetLastErrorString(msg_, sizeof msg_);                                              \
      ::cudistill::detail::check_failed(#call, __func__, __FILE__, __LINE__,                   \
                                        ::cudistill::detail::concat(                           \
                                            "cuDNN error ", cudnnGetErrorString(st_), ": ",    \
                                            msg_));                                            \
    }                                                                                          \
  } while (0)

// Every launch is followed by this: launch-configuration errors surface at the launch site.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace cudistill::cuda {

inline constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline cudaStream_t cur_stream() { return static_cast<cudaStream_t>(stream()); }
inline cublasHandle_t cublas_handle() { return static_cast<cublasHandle_t>(cublas()); }
inline cudnnHandle_t cudnn_handle() { return static_cast<cudnnHandle_t>(cudnn()); }

// Blocks for a grid-stride elementwise kernel over n elements: enough to fill the GPU (a few
// waves of 256-thread blocks), never more than the work needs.
inline int grid_for(int64_t n, int threads = 256) {
  const int64_t blocks = ceil_div(n, threads);
  return int(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

#if defined(__CUDACC__)  // device code below; host-only files (tests/cuda/test_macros.cpp) skip it
// --- reductions ------------------------------------------------------------------------------
// Sum / max across the `width` lanes of a (sub-)warp; every lane gets the result.
template <int width = 32>
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = width / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o, width);
  return v;
}
template <int width = 32>
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = width / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o, width));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
// `shared` must hold 32 floats. Contains __syncthreads: call from all threads.
__device__ __forceinline__ float block_sum(float v, float* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int nwarps = (blockDim.x + 31) >> 5;
  v = lane < nwarps ? shared[lane] : 0.f;
  return warp_sum(v);
}
#endif  // __CUDACC__

}  // namespace cudistill::cuda
