// conv.h: 2-d convolution as im2col + GEMM (the CPU reference; the CUDA path uses cuDNN).
//   x: (N, C, H, W), w: (O, C/G, KH, KW), b: (O) or null, y: (N, O, HO, WO)
//   HO = (H + 2*pad - KH) / stride + 1, likewise WO. G = groups; G == C == O is depthwise.
// Backward accumulates (+=) into whichever of dx, dw, db is non-null.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

struct ConvShape {
  int N, C, H, W;      // input
  int O, KH, KW;       // filters
  int stride, pad, groups;
  int HO, WO;          // output
};

// col: (C*KH*KW, HO*WO) for one image: row (c, i, j) holds x[c, oh*s-p+i, ow*s-p+j] (0 in padding)
template <typename T>
void im2col(T* col, const T* x, int C, int H, int W, int KH, int KW, int stride, int pad, int HO, int WO);
// dx += the scatter of col back to the image (the adjoint of im2col)
template <typename T>
void col2im_add(T* dx, const T* col, int C, int H, int W, int KH, int KW, int stride, int pad, int HO,
                int WO);

template <typename T> void conv2d_fwd(T* y, const T* x, const T* w, const T* b, const ConvShape& s);
// The depthwise case (groups == C == O) by direct loops; conv2d_fwd/bwd route to these.
template <typename T> void depthwise_fwd(T* y, const T* x, const T* w, const T* b, const ConvShape& s);
template <typename T>
void depthwise_bwd(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvShape& s);
// The float versions that conv2d_fwd/bwd<float> route to (cpu/conv_depthwise_fast.cpp: every tap
// one long vectorised loop over a rearranged plane), checked against the templates above.
namespace fast {
void depthwise_fwd(float* y, const float* x, const float* w, const float* b, const ConvShape& s);
void depthwise_bwd(float* dx, float* dw, const float* dy, const float* x, const float* w, const ConvShape& s);
}  // namespace fast
template <typename T>
void conv2d_bwd(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const ConvShape& s);

}  // namespace cudistill::cpu

// CUDA twins (kernels/cuda/conv_cudnn.cu): cuDNN 9 graph API, plans cached per shape.
namespace cudistill::cuda {
void conv2d_fwd(float* y, const float* x, const float* w, const float* b, const cpu::ConvShape& s);
void conv2d_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                const cpu::ConvShape& s);
}  // namespace cudistill::cuda
