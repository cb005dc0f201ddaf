// common.cuh: what every CUDA file of cudistill shares: the always-on error macros and
// ceil_div. Warp/block reductions join here with the hand-written kernels (issue 3).
#pragma once
#include <cuda_runtime.h>

#include "engine/error.h"

namespace cudistill::cuda {

inline constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace cudistill::cuda

// CUDA_CHECK(call): throws cudistill::Error with the call, its error string, file and line.
// Never compiled out (STYLE.md rule 10); after a kernel launch use CUDA_CHECK(cudaGetLastError()).
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
