// cuda_memory_stub.cpp: compiled only when the CUDA backend is off. Every call explains how to
// get a CUDA build instead of failing obscurely (docs/STYLE.md: never a silent fallback).
#include "engine/cuda_memory.h"
#include "engine/error.h"

namespace cudistill {

static const char* kNoCuda =
    "this cudistill was built without CUDA: reconfigure with nvcc on PATH (or -DCUDISTILL_CUDA=ON), "
    "or keep tensors on the CPU";

bool cuda_available() { return false; }
void* cuda_malloc(size_t) { USER_CHECK(false, kNoCuda); return nullptr; }
void cuda_free(void*) {}
void cuda_memcpy(void*, const void*, size_t, int) { USER_CHECK(false, kNoCuda); }
CudaMemoryStats cuda_memory_stats() { return {}; }
void cuda_empty_cache() {}

}  // namespace cudistill
