// ops/loss.cpp: cross_entropy and kd_loss, each one fused kernel call: the forward computes the
// batch-mean loss and, when a gradient will be needed, d loss / d logits in the same pass; the
// backward only scales that saved (B, K) buffer by the upstream gradient.
#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/ops.h"
#include "kernels/loss.h"

namespace cudistill {

namespace {
void check_logits_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  ENGINE_CHECK(logits.ndim() == 2, op, ": logits ", shape_str(logits.shape()), " must be (B, K)");
  ENGINE_CHECK(labels.defined() && labels.dtype() == DType::I32 && labels.shape() == Shape{logits.size(0)},
               op, ": labels must be int32 of shape (", logits.size(0), "), got ",
               labels.defined() ? shape_str(labels.shape()) : "undefined");
  ENGINE_CHECK(labels.device() == logits.device(), op, ": labels and logits on different devices");
  // Checked here, on the host, because a kernel cannot throw: an out-of-range label would
  // otherwise read past the row on the GPU.
  const std::vector<double> y = labels.to_vector();
  const int64_t K = logits.size(1);
  for (size_t b = 0; b < y.size(); ++b)
    ENGINE_CHECK(y[b] >= 0 && y[b] < double(K), op, ": label ", y[b], " of row ", b, " is outside [0, ", K, ")");
}

// The backward of a fused loss: d(logits) += g * dlogits, g = the loss's upstream gradient.
std::function<void(const Tensor&)> scaled_backward(const Tensor& s, const Tensor& dlogits) {
  return [s, dlogits](const Tensor& g) { add_inplace(grad_slot(s), mul(dlogits, g)); };
}
}  // namespace

Tensor cross_entropy(const Tensor& logits_in, const Tensor& labels_in, double eps) {
  check_logits_labels("cross_entropy", logits_in, labels_in);
  ENGINE_CHECK(eps >= 0 && eps < 1, "cross_entropy: label_smoothing must be in [0, 1), got ", eps);
  Tensor s = logits_in.contiguous(), y = labels_in.contiguous();
  const int B = int(s.size(0)), K = int(s.size(1));
  Tensor loss = Tensor::empty({}, s.dtype(), s.device());
  const bool grad = needs_grad({&s});
  Tensor dlogits = grad ? Tensor::empty(s.shape(), s.dtype(), s.device()) : Tensor();
  dispatch(
      "cross_entropy", s,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::cross_entropy_fwd<T>(loss.data<T>(), grad ? dlogits.data<T>() : nullptr, s.data<T>(), y.data<int32_t>(),
                                  B, K, T(eps));
      },
      CUDA_PATH(cuda::cross_entropy_fwd(loss.data<float>(), grad ? dlogits.data<float>() : nullptr, s.data<float>(),
                                        y.data<int32_t>(), B, K, float(eps))));
  if (grad) record(loss, "cross_entropy", {&s}, scaled_backward(s, dlogits));
  return loss;
}

Tensor kd_loss(const Tensor& student_in, const Tensor& master_in, const Tensor& labels_in, double temperature,
               double alpha) {
  common_device("kd_loss", {&student_in, &master_in});
  ENGINE_CHECK(student_in.ndim() == 2 && student_in.shape() == master_in.shape(), "kd_loss: student ",
               shape_str(student_in.shape()), " and master ", shape_str(master_in.shape()),
               " logits must both be (B, K)");
  ENGINE_CHECK(temperature > 0, "kd_loss: temperature must be positive, got ", temperature);
  ENGINE_CHECK(alpha >= 0 && alpha <= 1, "kd_loss: alpha must be in [0, 1], got ", alpha);
  if (alpha < 1) check_logits_labels("kd_loss", student_in, labels_in);
  // The master is a constant target: detach() so no gradient ever reaches it.
  Tensor s = student_in.contiguous(), m = master_in.detach().contiguous();
  Tensor y = labels_in.defined() ? labels_in.contiguous() : labels_in;
  const int B = int(s.size(0)), K = int(s.size(1));
  Tensor loss = Tensor::empty({}, s.dtype(), s.device());
  const bool grad = needs_grad({&s});
  Tensor dlogits = grad ? Tensor::empty(s.shape(), s.dtype(), s.device()) : Tensor();
  const int32_t* labels = y.defined() ? y.data<int32_t>() : nullptr;
  dispatch(
      "kd_loss", s,
      [&](auto tag) {
        using T = decltype(tag);
        cpu::kd_loss_fwd<T>(loss.data<T>(), grad ? dlogits.data<T>() : nullptr, s.data<T>(), m.data<T>(), labels, B,
                            K, T(temperature), T(alpha));
      },
      CUDA_PATH(cuda::kd_loss_fwd(loss.data<float>(), grad ? dlogits.data<float>() : nullptr, s.data<float>(),
                                  m.data<float>(), labels, B, K, float(temperature), float(alpha))));
  if (grad) record(loss, "kd_loss", {&s}, scaled_backward(s, dlogits));
  return loss;
}

}  // namespace cudistill
