// storage.h: a reference-counted block of memory on one device.
// Tensors share a Storage through std::shared_ptr, so views (reshape, slice, permute) are free
// and the memory goes away with its last view. Not an allocator policy: CPU blocks come from
// aligned new; CUDA blocks come from engine/cuda_memory.h (a caching allocator, issue 3).
#pragma once
#include <cstddef>
#include <memory>

#include "engine/dtype.h"

namespace cudistill {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// Copies `bytes` between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);

}  // namespace cudistill
