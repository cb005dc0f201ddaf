// train/data.cpp: see data.h.
#include "apps/train/data.h"

#include <algorithm>

#include "engine/data/folder.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

data::FileList limit_stratified(const data::FileList& files, int num_classes, int limit) {
  if (limit <= 0 || int(files.size()) <= limit) return files;
  std::vector<std::vector<size_t>> by_class{size_t(num_classes)};
  for (size_t i = 0; i < files.size(); ++i) by_class[size_t(files.labels[i])].push_back(i);
  std::vector<size_t> keep;
  for (size_t round = 0; int(keep.size()) < limit; ++round)
    for (auto& idx : by_class)
      if (round < idx.size() && int(keep.size()) < limit) keep.push_back(idx[round]);
  std::sort(keep.begin(), keep.end());
  data::FileList out;
  for (size_t i : keep) {
    out.paths.push_back(files.paths[i]);
    out.labels.push_back(files.labels[i]);
  }
  return out;
}

std::vector<data::SkippedFile> TrainData::skipped() const {
  std::vector<data::SkippedFile> all;
  for (const auto* c : {&train, &val, &test}) all.insert(all.end(), c->skipped.begin(), c->skipped.end());
  return all;
}

TrainData load_train_data(const TrainOptions& o) {
  data::FolderDataset ds = data::scan_image_folder(o.data);
  const int K = int(ds.classes.size());
  data::Split split = data::split_train_val(ds.train, K, o.val_fraction, uint64_t(o.seed));
  TrainData d;
  d.root = ds.root;
  d.classes = ds.classes;
  const int s = o.cache_size, t = o.threads;
  d.train = data::load_image_cache(limit_stratified(split.train, K, o.limit), s, s, t);
  d.val = data::load_image_cache(limit_stratified(split.val, K, o.limit), s, s, t);
  d.test = data::load_image_cache(limit_stratified(ds.test, K, o.limit), s, s, t);
  Sha256 h;
  const char* names[3] = {"train", "val", "test"};
  const data::ImageCache* caches[3] = {&d.train, &d.val, &d.test};
  for (int k = 0; k < 3; ++k) {
    h.update(std::string(names[k]) + "\n");
    for (int i = 0; i < caches[k]->n; ++i)
      h.update(caches[k]->paths[size_t(i)] + "\t" + std::to_string(caches[k]->labels[size_t(i)]) + "\n");
  }
  h.update("size " + std::to_string(s) + "\n");
  d.files_sha256 = h.final_hex();
  return d;
}

}  // namespace cudistill::train
