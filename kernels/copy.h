// copy.h: gather a strided tensor into a contiguous buffer, converting the element type.
// This is what contiguous(), to(DType) and every view's backward rest on.
//   dst: contiguous, shape `shape` (ndim dims); src: same shape, element strides `src_strides`.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

template <typename TD, typename TS>
void copy_strided(TD* dst, const TS* src, int ndim, const int64_t* shape, const int64_t* src_strides);

// dst (strided view) += src (contiguous): the backward of slice/permute scatters this way.
template <typename T>
void add_into_strided(T* dst, const T* src, int ndim, const int64_t* shape, const int64_t* dst_strides);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/copy.cu), float32 and int32 copies; at most 8 dims.
namespace cudistill::cuda {
void copy_strided(float* dst, const float* src, int ndim, const int64_t* shape, const int64_t* src_strides);
void copy_strided(int32_t* dst, const int32_t* src, int ndim, const int64_t* shape, const int64_t* src_strides);
// dst may alias itself through 0-strides (a broadcast input's gradient): uses atomicAdd.
void add_into_strided(float* dst, const float* src, int ndim, const int64_t* shape, const int64_t* dst_strides);
}  // namespace cudistill::cuda
