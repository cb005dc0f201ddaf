// train/replay.cpp: see replay.h.
#include "apps/train/replay.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/random.h"

namespace cudistill::train {

void correct_teacher(float* logits, int rows, int classes, const int32_t* labels) {
  for (int r = 0; r < rows; ++r) {
    float* z = logits + size_t(r) * size_t(classes);
    const int top = int(std::max_element(z, z + classes) - z);
    const int y = labels[r];
    ENGINE_CHECK(y >= 0 && y < classes, "correct_teacher: label ", y, " outside [0, ", classes, ")");
    // Ties with the true class are left alone: the label is already (one of) the top.
    if (z[top] > z[y]) std::swap(z[top], z[y]);
  }
}

SoftLabels with_whole_view(const SoftLabels& s, const std::vector<float>& whole_logits, int H, int W) {
  ENGINE_CHECK(whole_logits.size() == size_t(s.images) * size_t(s.classes), "with_whole_view: ",
               whole_logits.size(), " logits for ", s.images, " images of ", s.classes, " classes");
  SoftLabels out;
  out.images = s.images;
  out.views = s.views + 1;
  out.classes = s.classes;
  const size_t C = size_t(s.classes);
  for (int i = 0; i < s.images; ++i) {
    for (int v = 0; v < s.views; ++v) {
      out.view_params.push_back(s.view(i, v));
      out.logits.insert(out.logits.end(), s.logit(i, v), s.logit(i, v) + C);
    }
    out.view_params.push_back(data::eval_view(H, W));
    out.logits.insert(out.logits.end(), whole_logits.begin() + long(size_t(i) * C),
                      whole_logits.begin() + long(size_t(i + 1) * C));
  }
  return out;
}

std::vector<float> whole_image_logits(const Context& c, Net& master) {
  const std::string path = c.dir.file("features.safetensors");
  SafetensorsFile f = read_features(c);
  const Tensor x = f.tensors.at("train.x");
  USER_CHECK(x.ndim() == 2 && x.size(0) == c.data.train.n && x.size(1) == feature_dim(*master.model), "train: ",
             path, " holds ", x.size(0), " x ", x.size(1), " training features, but the data set has ",
             c.data.train.n, " images and the master's head takes ", feature_dim(*master.model),
             ": re-run the features and head stages");
  NoGrad no_grad;
  Tensor z = classifier_head(*master.model).forward(x.to(c.device)).to(Device::CPU).contiguous();
  return std::vector<float>(z.data<float>(), z.data<float>() + z.numel());
}

Tensor image_rows(const std::vector<float>& whole, int classes, const std::vector<int>& idx,
                  const int32_t* labels, Device device) {
  Tensor t = Tensor::empty({int64_t(idx.size()), int64_t(classes)});
  float* p = t.data<float>();
  for (size_t r = 0; r < idx.size(); ++r) {
    const size_t i = size_t(idx[r]);
    ENGINE_CHECK((i + 1) * size_t(classes) <= whole.size(), "image_rows: image ", i, " is past the logits");
    std::copy(whole.begin() + long(i * size_t(classes)), whole.begin() + long((i + 1) * size_t(classes)),
              p + r * size_t(classes));
  }
  if (labels) correct_teacher(p, int(idx.size()), classes, labels);
  return t.to(device);
}

cpu::ViewParams replay_view(const SoftLabels& s, int image, int v, bool flip, uint64_t seed, int64_t epoch) {
  cpu::ViewParams p = s.view(image, v);
  if (flip) {
    // A key of its own (the view RNG's with a salted seed), so the coin never repeats a crop draw.
    Rng coin(data::view_seed(seed ^ 0x6d6972726f72ULL, epoch, image));
    if (coin.next_u32() & 1u) p.flip = p.flip ? 0 : 1;
  }
  return p;
}

}  // namespace cudistill::train
