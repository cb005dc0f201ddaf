// train/predict.cpp: batched eval-view inference and accuracy, shared by distill and eval.
// Tested through tests/ops/test_train_pipeline.cpp.
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "apps/train/stages.h"

namespace cudistill::train {

std::vector<int> predict_classes(Module& m, const data::ImageCache& cache, int size, const float mean[3],
                                 const float std[3], int batch_size, Device device, std::vector<float>* logits) {
  NoGrad no_grad;
  const bool was_training = m.training();
  m.eval();
  std::vector<int> pred;
  if (logits) logits->clear();
  for (int b0 = 0; b0 < cache.n; b0 += batch_size) {
    std::vector<int> idx;
    for (int i = b0; i < std::min(cache.n, b0 + batch_size); ++i) idx.push_back(i);
    Tensor x = data::make_batch(cache, idx, data::eval_views(cache, idx.size()), size, size, mean, std, device);
    const Tensor y = m.forward(x).to(Device::CPU).contiguous();
    for (int k : argmax_rows(y)) pred.push_back(k);
    if (logits) logits->insert(logits->end(), y.data<float>(), y.data<float>() + y.numel());
  }
  m.train(was_training);
  return pred;
}

std::vector<int> argmax_rows(const Tensor& logits) {
  const Tensor l = logits.contiguous();
  const int64_t N = l.size(0), K = l.size(1);
  const float* p = l.data<float>();
  std::vector<int> out(size_t(N), 0);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = 1; k < K; ++k)
      if (p[r * K + k] > p[r * K + out[size_t(r)]]) out[size_t(r)] = int(k);
  return out;
}

double accuracy(const std::vector<int>& pred, const std::vector<int32_t>& labels) {
  if (pred.empty()) return 0.0;
  size_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == labels[i];
  return double(ok) / double(pred.size());
}

}  // namespace cudistill::train
