// ops.h: every differentiable operation of the engine, in one list.
// Each op allocates its output, checks shapes with a message naming them, dispatches on the
// tensor's device (dispatch.h: the one place that does), and records an autograd node when an
// input requires grad. The arithmetic itself lives in kernels/ (cpu:: reference, cuda:: twin).
// Layout convention: images are (N, C, H, W), logits (B, K), weights follow torchvision.
// Tested in tests/ops/ (hand values + float64 finite differences for every op).
#pragma once
#include "engine/tensor.h"

namespace cudistill {

// ---- elementwise (elementwise.cpp); add/mul broadcast like NumPy
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double s);     // s * x
Tensor relu(const Tensor& x);
Tensor relu6(const Tensor& x);               // min(max(x, 0), 6), MobileNet/EfficientNet-Lite
// dst += src (same shape; src may be strided). No autograd: for gradient buffers and optimizers.
void add_inplace(Tensor& dst, const Tensor& src);

// ---- reductions (reduce.cpp), over all elements, giving a 0-d tensor
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

// ---- views with gradients (view.cpp); Tensor::reshape etc. call these
Tensor flatten(const Tensor& x, int start_dim = 1);   // (N, C, H, W) -> (N, C*H*W)

// ---- dense layers (linear.cpp)
// x: (B, I), w: (O, I), b: (O) or undefined  ->  (B, O)
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
// a: (M, K), b: (K, N) -> (M, N)
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- convolution (conv.cpp)
// x: (N, C, H, W), w: (O, C/groups, KH, KW), b: (O) or undefined -> (N, O, HO, WO)
// groups == C == O is a depthwise convolution.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride = 1, int padding = 0,
              int groups = 1);

// ---- batch normalisation (batchnorm.cpp)
// x: (N, C, H, W); gamma, beta, running_mean, running_var: (C).
// training: normalise with the batch statistics and update the running ones in place
// (running = (1 - momentum) * running + momentum * batch, unbiased variance, as PyTorch does);
// eval: normalise with the running statistics. relu: y = max(0, batch_norm(x)), the ReLU fused in
// (one tensor instead of two; the same values and gradients as relu(batch_norm2d(...))).
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                    bool relu = false);

// ---- pooling (pool.cpp); x: (N, C, H, W)
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);
// count_include_pad = true divides by kernel*kernel everywhere (PyTorch's default)
Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding = 0,
                  bool count_include_pad = true);
Tensor global_avg_pool(const Tensor& x);     // -> (N, C)
Tensor pad2d(const Tensor& x, int top, int bottom, int left, int right);  // zero padding, x: (N, C, H, W)

// ---- softmax family (softmax.cpp); over the last dim of x: (B, K)
Tensor softmax(const Tensor& x, double temperature = 1.0);      // softmax(x / T)
Tensor log_softmax(const Tensor& x, double temperature = 1.0);  // log softmax(x / T)

// ---- losses (loss.cpp); logits: (B, K), labels: (B) int32 in [0, K). Both mean over B.
// CE with label smoothing eps: target = (1 - eps) * onehot + eps / K.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0);
// Knowledge distillation, Hinton et al. 2015, with the master's logits held constant:
//   alpha * T^2 * KL(softmax(m/T) || softmax(s/T)) + (1 - alpha) * CE(s, labels)
// master: (B, K) gets no gradient; labels may be undefined when alpha == 1.
Tensor kd_loss(const Tensor& student, const Tensor& master, const Tensor& labels, double temperature,
               double alpha);

}  // namespace cudistill
