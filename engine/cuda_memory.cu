// cuda_memory.cu: device memory for Storage, compiled when the CUDA backend is on.
// For now one cudaMalloc per block; the caching allocator of issue 3 replaces the body of
// cuda_malloc/cuda_free without changing this interface.
#include <cuda_runtime.h>

#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "kernels/cuda/common.cuh"

namespace cudistill {

bool cuda_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void* cuda_malloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error so later calls still work
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    USER_CHECK(false, "CUDA out of memory: requested ", bytes, " bytes, ", free_b, " of ", total_b,
               " bytes free; lower the batch size or the input size");
  }
  CUDA_CHECK(err);
  return p;
}

void cuda_free(void* p) { cudaFree(p); }

void cuda_memcpy(void* dst, const void* src, size_t bytes, int kind) {
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                         cudaMemcpyDeviceToDevice};
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, kinds[kind]));
}

}  // namespace cudistill
