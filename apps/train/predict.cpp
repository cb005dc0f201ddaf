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
    Tensor y = m.forward(x).to(Device::CPU);
    const int K = int(y.size(1));
    std::vector<double> l = y.to_vector();
    for (size_t r = 0; r < idx.size(); ++r) {
      int best = 0;
      for (int k = 1; k < K; ++k)
        if (l[r * size_t(K) + size_t(k)] > l[r * size_t(K) + size_t(best)]) best = k;
      pred.push_back(best);
    }
    if (logits)
      for (double v : l) logits->push_back(float(v));
  }
  m.train(was_training);
  return pred;
}

double accuracy(const std::vector<int>& pred, const std::vector<int32_t>& labels) {
  if (pred.empty()) return 0.0;
  size_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == labels[i];
  return double(ok) / double(pred.size());
}

}  // namespace cudistill::train
