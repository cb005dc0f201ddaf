// host_memory.cpp: see host_memory.h.
#include "engine/host_memory.h"

#include <map>
#include <mutex>
#include <new>

#include "engine/error.h"

namespace cudistill {

namespace {
constexpr size_t kLarge = size_t(1) << 20;         // cache blocks from 1 MB up
constexpr size_t kMaxIdle = size_t(4) << 30;       // never keep more than 4 GB idle
constexpr std::align_val_t kAlign{64};             // a cache line; what AVX-512 loads like

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> idle;  // rounded size -> block
  HostMemoryStats stats;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may die during static destruction
  return *c;
}
size_t rounded(size_t bytes) { return (bytes + kLarge - 1) / kLarge * kLarge; }
}  // namespace

void* host_malloc(size_t bytes) {
  if (bytes >= kLarge) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.idle.find(rounded(bytes));
    if (it != c.idle.end()) {
      void* p = it->second;
      c.stats.cached_bytes -= it->first;
      ++c.stats.reuses;
      c.idle.erase(it);
      return p;
    }
  }
  void* p = ::operator new(bytes >= kLarge ? rounded(bytes) : bytes, kAlign, std::nothrow);
  ENGINE_CHECK(p != nullptr, "out of host memory allocating ", bytes, " bytes");
  return p;
}

void host_free(void* p, size_t bytes) {
  if (bytes >= kLarge) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    const size_t size = rounded(bytes);
    if (c.stats.cached_bytes + size <= kMaxIdle) {
      c.idle.emplace(size, p);
      c.stats.cached_bytes += size;
      return;
    }
  }
  ::operator delete(p, kAlign);
}

HostMemoryStats host_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

}  // namespace cudistill
