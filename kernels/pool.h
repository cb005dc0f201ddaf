// pool.h: max, average and global average pooling over (N, C, H, W), square windows.
//   y: (N, C, HO, WO) with HO = (H + 2*pad - k) / stride + 1.
// Backward functions accumulate (dx += ...).
#pragma once
#include <cstdint>

namespace cudistill::cpu {

// argmax: (N, C, HO, WO), the flat h*W+w index of each window's maximum, kept for backward.
template <typename T>
void maxpool2d_fwd(T* y, int32_t* argmax, const T* x, int N, int C, int H, int W, int k, int stride,
                   int pad, int HO, int WO);
template <typename T>
void maxpool2d_bwd(T* dx, const T* dy, const int32_t* argmax, int N, int C, int H, int W, int HO,
                   int WO);
template <typename T>
void avgpool2d_fwd(T* y, const T* x, int N, int C, int H, int W, int k, int stride, int pad, int HO,
                   int WO, bool count_include_pad);
template <typename T>
void avgpool2d_bwd(T* dx, const T* dy, int N, int C, int H, int W, int k, int stride, int pad,
                   int HO, int WO, bool count_include_pad);
// y: (N*C) means over H*W;  x: (N*C, HW)
template <typename T> void global_avgpool_fwd(T* y, const T* x, int64_t NC, int64_t HW);
template <typename T> void global_avgpool_bwd(T* dx, const T* dy, int64_t NC, int64_t HW);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/pool.cu): one thread per output element (forward) or per input
// element (average-pool backward, which gathers instead of scattering, so no atomics).
namespace cudistill::cuda {
void maxpool2d_fwd(float* y, int32_t* argmax, const float* x, int N, int C, int H, int W, int k, int stride,
                   int pad, int HO, int WO);
void maxpool2d_bwd(float* dx, const float* dy, const int32_t* argmax, int N, int C, int H, int W, int HO, int WO);
void avgpool2d_fwd(float* y, const float* x, int N, int C, int H, int W, int k, int stride, int pad, int HO, int WO,
                   bool count_include_pad);
void avgpool2d_bwd(float* dx, const float* dy, int N, int C, int H, int W, int k, int stride, int pad, int HO,
                   int WO, bool count_include_pad);
void global_avgpool_fwd(float* y, const float* x, int64_t NC, int64_t HW);
void global_avgpool_bwd(float* dx, const float* dy, int64_t NC, int64_t HW);
}  // namespace cudistill::cuda
