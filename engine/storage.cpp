// storage.cpp: CPU blocks come from host_memory (64-byte aligned, large ones cached), CUDA blocks
// from cuda_memory (a caching device allocator).
#include "engine/storage.h"

#include <cstring>

#include "engine/cuda_memory.h"
#include "engine/host_memory.h"

namespace cudistill {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  // An empty CUDA tensor still needs a CUDA build with a device: fail here, not at first use.
  if (device == Device::CUDA) USER_CHECK(cuda_available(), "a CUDA tensor was requested, but ",
                                         "this build has no CUDA or no GPU is visible; keep tensors on the CPU");
  if (bytes == 0) return;
  if (device == Device::CPU) {
    data_ = host_malloc(bytes);
  } else {
    data_ = cuda_malloc(bytes);
  }
}

Storage::~Storage() {
  if (!data_) return;
  if (device_ == Device::CPU)
    host_free(data_, bytes_);
  else
    cuda_free(data_);
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
  } else {
    int kind = (src_dev == Device::CPU) ? 0 : (dst_dev == Device::CPU ? 1 : 2);
    cuda_memcpy(dst, src, bytes, kind);
  }
}

}  // namespace cudistill
