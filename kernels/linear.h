// linear.h: the fully connected layer, torchvision layout.
//   x: (B, I), w: (O, I), b: (O) or null, y: (B, O) = x @ w^T + b
// Backward accumulates (+=) into whichever of dx, dw, db is non-null:
//   dx += dy @ w,  dw += dy^T @ x,  db += sum_b dy
#pragma once
#include <cstdint>

namespace cudistill::cpu {

template <typename T> void linear_fwd(T* y, const T* x, const T* w, const T* b, int B, int I, int O);
template <typename T>
void linear_bwd(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int B, int I, int O);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/gemm_cublas.cu): cuBLAS SGEMM, TF32 off unless enabled in the context.
namespace cudistill::cuda {
void linear_fwd(float* y, const float* x, const float* w, const float* b, int B, int I, int O);
void linear_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int B, int I, int O);
}  // namespace cudistill::cuda
