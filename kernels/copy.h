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
