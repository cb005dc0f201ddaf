// host_memory.h: CPU memory for Storage, with a cache for large blocks.
// glibc serves every allocation above 32 MB with a fresh mmap and returns it with munmap, so a
// training loop that allocates the same 100 MB activation each step pays the kernel to map and
// zero those pages every time (the features stage of apps/train spent most of its time in system
// calls). Blocks of 1 MB and more are therefore kept after their tensor dies and handed out again
// for a request of the same rounded size, up to a cap on what is kept idle; smaller blocks go
// straight to the allocator, which already reuses them well.
// Tested in tests/ops/test_tensor.cpp ("tensor: host blocks are reused").
#pragma once
#include <cstddef>

namespace cudistill {

void* host_malloc(size_t bytes);  // 64-byte aligned; throws on exhaustion
void host_free(void* p, size_t bytes);

struct HostMemoryStats {
  size_t cached_bytes = 0;  // large blocks kept for reuse
  size_t reuses = 0;        // large requests served from the cache
};
HostMemoryStats host_memory_stats();

}  // namespace cudistill
