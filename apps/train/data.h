// train/data.h: the data set of a run, decoded once: class names, the train/val split (stratified,
// seeded), the test split, each an in-memory uint8 cache at one size, optionally cut to at most
// `limit` images per split (stratified: classes taken in turn), plus a digest of the file lists
// that keys the feature and soft-label caches.
// Not here: augmentation (engine/data/augment.h) or any model. Tested via test_train_pipeline.cpp.
#pragma once
#include <string>
#include <vector>

#include "apps/train/options.h"
#include "engine/data/dataset.h"

namespace cudistill::train {

struct TrainData {
  std::string root;
  std::vector<std::string> classes;
  data::ImageCache train, val, test;
  std::string files_sha256;  // sha256 of every kept (split, path, label), in order
  std::vector<data::SkippedFile> skipped() const;
};

// At most `limit` files, stratified (round-robin over classes, each class in its own order);
// the result keeps the input order. limit <= 0: all.
data::FileList limit_stratified(const data::FileList& files, int num_classes, int limit);

TrainData load_train_data(const TrainOptions& o);

}  // namespace cudistill::train
