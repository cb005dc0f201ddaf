// elementwise.h: pointwise ops. Backward functions ACCUMULATE (dx += ...), so that a tensor
// used twice (a residual branch) sums its gradients.
// Broadcasting: y is contiguous with `shape` (ndim dims); a and b are read through strides that
// are 0 along the dims they are broadcast over.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

enum class BinaryOp { Add, Sub, Mul };

// y: (shape) = a op b
template <typename T>
void binary_fwd(BinaryOp op, T* y, const T* a, const int64_t* a_strides, const T* b,
                const int64_t* b_strides, int ndim, const int64_t* shape);

template <typename T> void scale_fwd(T* y, const T* x, T s, int64_t n);      // y = s * x
template <typename T> void axpy(T* y, T a, const T* x, int64_t n);           // y += a * x
template <typename T> void add_scalar(T* y, T v, int64_t n);                 // y += v
template <typename T> void relu_fwd(T* y, const T* x, int64_t n);
template <typename T> void relu_bwd(T* dx, const T* dy, const T* x, int64_t n);   // dx += dy * (x > 0)
template <typename T> void relu6_fwd(T* y, const T* x, int64_t n);
template <typename T> void relu6_bwd(T* dx, const T* dy, const T* x, int64_t n);  // dx += dy * (0 < x < 6)

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/elementwise.cu): float32, same arguments; they run on the engine's
// stream (engine/cuda/context.h). Shapes and strides are host arrays of at most 8 dims.
namespace cudistill::cuda {
void binary_fwd(cpu::BinaryOp op, float* y, const float* a, const int64_t* a_strides, const float* b,
                const int64_t* b_strides, int ndim, const int64_t* shape);
void scale_fwd(float* y, const float* x, float s, int64_t n);
void axpy(float* y, float a, const float* x, int64_t n);
void add_scalar(float* y, float v, int64_t n);
void relu_fwd(float* y, const float* x, int64_t n);
void relu_bwd(float* dx, const float* dy, const float* x, int64_t n);
void relu6_fwd(float* y, const float* x, int64_t n);
void relu6_bwd(float* dx, const float* dy, const float* x, int64_t n);
}  // namespace cudistill::cuda
