// train/evaluate.cpp: see evaluate.h.
#include "apps/train/evaluate.h"

#include <algorithm>

#include "engine/percentile.h"
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/ops/macs.h"
#include "models/registry.h"

namespace cudistill::train {

namespace {
// Batch-1 forward time on the first test image (eval view, preprocessed: decoding and resizing
// are not part of the figure), after two warm-up runs.
Latency time_batch1(Context& c, Module& m, const Net& net, Device device, int runs) {
  NoGrad no_grad;
  const int size = net.input_size;
  Tensor x = c.data.test.n > 0 ? data::make_batch(c.data.test, {0}, data::eval_views(c.data.test, 1), size, size,
                                                  net.mean, net.std, device)
                               : Tensor::zeros({1, 3, size, size}).to(device);
  for (int i = 0; i < 2; ++i) m.forward(x).to(Device::CPU);  // warm-up (allocator, cuDNN plans)
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const double t = now_seconds();
    m.forward(x).to(Device::CPU);  // the copy back waits for the device
    ms.push_back((now_seconds() - t) * 1e3);
  }
  return {percentile(ms, 50), percentile(ms, 95)};
}


// Multiply-accumulates of one batch-1 forward at size x size.
int64_t count_macs(Module& m, int size, Device device) {
  NoGrad no_grad;
  MacCounter counter;
  m.forward(Tensor::zeros({1, 3, size, size}).to(device));
  return counter.total();
}
}  // namespace

ModelEval evaluate(Context& c, const std::string& name, const std::string& path) {
  const int K = int(c.data.classes.size());
  Net net = load_net(path, c.device);
  ModelEval r;
  r.name = name;
  r.arch = net.arch;
  r.source = net.source;
  r.input_size = net.input_size;
  r.params = net.model->num_parameters();
  r.size_bytes = net.model->state_bytes();
  r.pred = predict_classes(*net.model, c.data.test, net.input_size, net.mean, net.std, c.o.batch_size, c.device);
  r.accuracy = accuracy(r.pred, c.data.test.labels);
  r.confusion.assign(size_t(K), std::vector<int>(size_t(K), 0));
  for (size_t i = 0; i < r.pred.size(); ++i) r.confusion[size_t(c.data.test.labels[i])][size_t(r.pred[i])]++;
  for (int k = 0; k < K; ++k) {
    int n = 0;
    for (int v : r.confusion[size_t(k)]) n += v;
    r.per_class.push_back(n ? double(r.confusion[size_t(k)][size_t(k)]) / n : 0.0);
  }
  r.macs = count_macs(*net.model, net.input_size, c.device);
  if (c.device == Device::CUDA) r.gpu = time_batch1(c, *net.model, net, Device::CUDA, c.o.latency_runs);
  Net cpu_net = c.device == Device::CPU ? net : load_net(path, Device::CPU);
  r.cpu = time_batch1(c, *cpu_net.model, cpu_net, Device::CPU, c.o.latency_runs);
  return r;
}

ModelEval evaluate_architecture(Context& c, const std::string& name, const std::string& arch) {
  ModelSpec spec;
  spec.arch = arch;
  spec.num_classes = int(c.data.classes.size());
  Net net;
  net.model = make_model(spec);
  net.model->eval();
  net.arch = arch;
  net.input_size = c.o.cache_size;
  ModelEval r;
  r.name = name;
  r.arch = arch;
  r.source = "architecture only (initialised weights): accuracy not measured";
  r.input_size = net.input_size;
  r.params = net.model->num_parameters();
  r.size_bytes = net.model->state_bytes();
  r.macs = count_macs(*net.model, net.input_size, Device::CPU);
  r.cpu = time_batch1(c, *net.model, net, Device::CPU, c.o.latency_runs);
  if (c.device == Device::CUDA) {
    net.model->to(Device::CUDA);
    r.gpu = time_batch1(c, *net.model, net, Device::CUDA, c.o.latency_runs);
  }
  return r;
}

}  // namespace cudistill::train
