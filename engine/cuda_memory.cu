// cuda_memory.cu: the caching device allocator behind Storage (compiled with the CUDA backend).
// cudaMalloc/cudaFree synchronise the device and cost tens of microseconds, so freed blocks are
// kept in a free list keyed by size and handed out again; the driver is asked only on a miss.
// Sizes are rounded (512 B below 1 MiB, 2 MiB above) so that similar requests share blocks.
// All kernels run on one stream, so a block freed while a kernel still reads it is only reused
// by work queued after that kernel: stream order keeps it safe (PyTorch reasons the same way).
// Out of memory: the cache is emptied and the request retried once; then a clear error names the
// requested and free bytes.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <unordered_map>

#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "kernels/cuda/common.cuh"

namespace cudistill {

namespace {
struct Allocator {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;       // size -> block, for best-fit lookup
  std::unordered_map<void*, size_t> block_size;   // every live or cached block
  CudaMemoryStats stats;
};
Allocator& alloc() {
  static Allocator a;
  return a;
}

size_t round_size(size_t bytes) {
  const size_t small = 512, large = size_t(2) << 20;
  if (bytes < (size_t(1) << 20)) return (bytes + small - 1) / small * small;
  return (bytes + large - 1) / large * large;
}

void release_cache(Allocator& a) {  // caller holds a.mu
  for (auto& [size, p] : a.free_blocks) {
    cudaFree(p);
    a.block_size.erase(p);
    a.stats.cached_bytes -= size;
  }
  a.free_blocks.clear();
}
}  // namespace

bool cuda_available() {
  static const bool ok = [] {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
  }();
  return ok;
}

void* cuda_malloc(size_t bytes) {
  USER_CHECK(cuda_available(), "no CUDA device is visible to this process: run on a machine with an "
             "NVIDIA GPU and driver (check nvidia-smi and CUDA_VISIBLE_DEVICES), or keep tensors on the CPU");
  Allocator& a = alloc();
  std::lock_guard<std::mutex> lock(a.mu);
  const size_t size = round_size(bytes);
  // Best fit, but never a block more than twice the request (it would strand memory).
  auto it = a.free_blocks.lower_bound(size);
  if (it != a.free_blocks.end() && it->first <= 2 * size) {
    void* p = it->second;
    a.stats.cached_bytes -= it->first;
    a.stats.allocated_bytes += it->first;
    a.free_blocks.erase(it);
    ++a.stats.cache_hits;
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the error so that later calls still work
    release_cache(a);
    err = cudaMalloc(&p, size);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    USER_CHECK(false, "CUDA out of memory: requested ", bytes, " bytes (", size, " rounded), ", free_b, " of ",
               total_b, " bytes free on the device, ", a.stats.allocated_bytes,
               " held by live tensors; lower the batch size or the input size");
  }
  CUDA_CHECK(err);
  a.block_size[p] = size;
  a.stats.allocated_bytes += size;
  ++a.stats.device_mallocs;
  return p;
}

void cuda_free(void* p) {
  if (!p) return;
  Allocator& a = alloc();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.block_size.find(p);
  ENGINE_CHECK(it != a.block_size.end(), "cuda_free of a pointer this allocator did not hand out");
  a.free_blocks.emplace(it->second, p);
  a.stats.allocated_bytes -= it->second;
  a.stats.cached_bytes += it->second;
}

void cuda_empty_cache() {
  Allocator& a = alloc();
  std::lock_guard<std::mutex> lock(a.mu);
  release_cache(a);
}

CudaMemoryStats cuda_memory_stats() {
  Allocator& a = alloc();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.stats;
}

void cuda_memcpy(void* dst, const void* src, size_t bytes, int kind) {
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  // On the engine's stream (a non-blocking one, which the legacy default stream would not wait
  // for), then wait: the host buffer may be read or freed as soon as this returns.
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kinds[kind], cuda::cur_stream()));
  CUDA_CHECK(cudaStreamSynchronize(cuda::cur_stream()));
}

}  // namespace cudistill
