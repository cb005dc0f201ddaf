// cuda_memory.h: the engine's only door to device memory (a caching allocator, cuda_memory.cu). Built from cuda_memory.cu when the
// CUDA backend is on, and from cuda_memory_stub.cpp (which throws a clear error) when it is off,
// so that CPU-only builds never reference the CUDA runtime.
#pragma once
#include <cstddef>

namespace cudistill {

bool cuda_available();                      // built with CUDA and at least one device is present
void* cuda_malloc(size_t bytes);            // throws cudistill::Error naming requested/free bytes
void cuda_free(void* p);
// kind: 0 host->device, 1 device->host, 2 device->device; synchronous with the engine's stream
void cuda_memcpy(void* dst, const void* src, size_t bytes, int kind);

struct CudaMemoryStats {
  size_t allocated_bytes = 0;  // held by live storages
  size_t cached_bytes = 0;     // freed, kept for reuse
  size_t device_mallocs = 0;   // cudaMalloc calls (misses)
  size_t cache_hits = 0;       // requests served from the cache
};
CudaMemoryStats cuda_memory_stats();
void cuda_empty_cache();       // returns cached blocks to the driver

}  // namespace cudistill
